package store

// The values of tickets' service fields (migration 0110_web).

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sportello/sportello/internal/desk"
)

func (t *q) SetTicketFields(ctx context.Context, ticketID int64, fs []desk.FieldValue) error {
	if len(fs) == 0 {
		_, err := t.exec(ctx, "DELETE FROM ticket_fields WHERE ticket_id = $1", ticketID)
		return err
	}
	b, err := json.Marshal(fs)
	if err != nil {
		return fmt.Errorf("encode ticket fields: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO ticket_fields (ticket_id, data) VALUES ($1, $2)
		ON CONFLICT (ticket_id) DO UPDATE SET data = excluded.data`, ticketID, string(b))
	return err
}

func (t *q) TicketFields(ctx context.Context, ticketID int64) ([]desk.FieldValue, error) {
	var data string
	err := t.row(ctx, "SELECT data FROM ticket_fields WHERE ticket_id = $1", ticketID).Scan(&data)
	if err != nil {
		if desk.IsNotFound(notFound(err, "ticket fields")) {
			return []desk.FieldValue{}, nil
		}
		return nil, err
	}
	out := []desk.FieldValue{}
	if err := json.Unmarshal([]byte(data), &out); err != nil {
		return nil, fmt.Errorf("decode ticket fields: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"strings"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/search"
)

// BulkTicket is a ticket with its messages for BulkInsert.
type BulkTicket struct {
	Ticket   desk.Ticket
	Messages []desk.Message
}

// BulkInsert writes many tickets in one transaction, registering each as
// the domain does (InsertNewTicket: number, history, counters, search) and
// adding its messages. It exists for the benchmark data generator: production
// writes go through desk.Desk.
func (db *DB) BulkInsert(ctx context.Context, items []BulkTicket) error {
	return db.Update(ctx, func(dtx desk.Tx) error {
		tx := dtx.(*q)
		for i := range items {
			t := &items[i].Ticket
			if err := tx.InsertNewTicket(ctx, t, desk.Event{At: t.Created, Field: "created", New: string(t.Channel)}); err != nil {
				return err
			}
			if len(items[i].Messages) == 0 {
				continue
			}
			var body strings.Builder
			body.WriteString(t.Description)
			for j := range items[i].Messages {
				m := &items[i].Messages[j]
				m.TicketID = t.ID
				if err := tx.InsertMessage(ctx, m); err != nil {
					return err
				}
				body.WriteString("\n")
				body.WriteString(m.Body)
			}
			if err := tx.index(ctx, t.ID, t.Subject, body.String(), false); err != nil {
				return err
			}
		}
		return nil
	})
}

// index writes a ticket's search document (see Reindex); fresh skips
// removing the previous one.
func (t *q) index(ctx context.Context, id int64, subject, body string, fresh bool) error {
	body = clip(body)
	if t.db.dialect == Postgres {
		_, err := t.exec(ctx, "UPDATE tickets SET search = "+tsvectorSQL("$2", "$3")+" WHERE id = $1",
			id, strings.Join(search.Words(subject), " "), strings.Join(search.Words(body), " "))
		return err
	}
	if fresh && t.batch != nil {
		t.deferSearchDoc(id, subject, body)
		return nil
	}
	if !fresh {
		t.dropSearchDoc(id)
		if _, err := t.exec(ctx, "DELETE FROM ticket_fts WHERE rowid = $1", id); err != nil {
			return err
		}
	}
	_, err := t.exec(ctx, "INSERT INTO ticket_fts (rowid, subject, body) VALUES ($1, $2, $3)", id, subject, body)
	return err
}

package store

import (
	"context"
	"database/sql"
)

// TicketMailHTML returns the received e-mails of a ticket that had an
// HTML body: the id of each received message (mail_in) by the desk
// message it became (0: the request that opened the ticket). The web UI
// links them from the timeline (internal/web, mailview.go).
func (t *q) TicketMailHTML(ctx context.Context, ticketID int64) (map[int64]int64, error) {
	rows, err := t.query(ctx, "SELECT id, COALESCE(message_ref, 0) FROM mail_in WHERE ticket_id = $1 AND html <> '' ORDER BY id", ticketID)
	out := map[int64]int64{}
	_, err = scanAll(rows, err, func(r *sql.Rows) (struct{}, error) {
		var id, ref int64
		err := r.Scan(&id, &ref)
		if _, seen := out[ref]; !seen {
			out[ref] = id
		}
		return struct{}{}, err
	})
	return out, err
}

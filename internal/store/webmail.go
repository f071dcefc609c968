package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sportello/sportello/internal/desk"
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

// PendingGates returns the tickets of the organisations given (nil: all)
// whose current phase is an approval gate not yet approved, oldest first,
// for the approvers' "waiting for my approval" list. The partial index
// ticket_phases_gates (0110_web) holds only active gates, so the cost does
// not grow with the number of tickets.
func (t *q) PendingGates(ctx context.Context, orgIDs []int64, limit int) ([]desk.Ticket, error) {
	if limit <= 0 {
		limit = 50
	}
	query := ticketSelect + ` FROM ticket_phases p JOIN tickets t ON t.id = p.ticket_id` + ticketJoins + `
		WHERE p.state = 'active' AND p.requires_approval
		AND t.status NOT IN ('resolved', 'closed', 'cancelled', 'redirected')
		AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.ticket_id = p.ticket_id AND a.phase_code = p.code AND a.decision = 'approve'
			AND NOT EXISTS (SELECT 1 FROM approvals b WHERE b.ticket_id = a.ticket_id AND b.phase_code = a.phase_code AND b.id > a.id))`
	if orgIDs != nil {
		query += " AND t.org_id IN (" + idList(orgIDs) + ")"
	}
	query += fmt.Sprintf(" ORDER BY p.started_at, t.id LIMIT %d", limit)
	rows, err := t.query(ctx, query)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Ticket, error) { return scanTicket(r) })
}

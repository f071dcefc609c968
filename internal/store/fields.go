package store

// The values of tickets' service fields (migration 0110_web).

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

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
	return t.execLater(ctx, `INSERT INTO ticket_fields (ticket_id, data) VALUES ($1, $2)
		ON CONFLICT (ticket_id) DO UPDATE SET data = excluded.data`, ticketID, string(b))
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

// CountView sums the view counters matching f (shards included). The
// primary key and the indexes of 0110_web make each filter of the
// workspace a range of at most a few thousand counter rows.
func (t *q) CountView(ctx context.Context, orgIDs []int64, f desk.ViewFilter) (int64, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if orgIDs != nil {
		where = append(where, "org_id IN ("+idList(orgIDs)+")")
	}
	if len(f.Statuses) > 0 {
		ph := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			ph[i] = arg(string(s))
		}
		where = append(where, "status IN ("+strings.Join(ph, ", ")+")")
	}
	if f.QueueID != 0 {
		where = append(where, "queue_id = "+arg(f.QueueID))
	}
	if f.ServiceID != 0 {
		where = append(where, "service_id = "+arg(f.ServiceID))
	}
	switch {
	case f.AssigneeID != 0:
		where = append(where, "assignee_id = "+arg(f.AssigneeID))
	case f.Unassigned:
		where = append(where, "assignee_id = 0")
	}
	query := "SELECT COALESCE(SUM(n), 0) FROM ticket_view_counts"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	var n int64
	err := t.row(ctx, query, args...).Scan(&n)
	return n, err
}

// ---- saved views of the workspace list (migration 0110_web)

func (t *q) InsertSavedView(ctx context.Context, v *desk.SavedView) error {
	id, err := t.insert(ctx, `INSERT INTO saved_views (org_id, owner_id, name, query, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		v.OrgID, nullID(v.OwnerID), v.Name, v.Query, nullID(v.CreatedBy), us(v.Created))
	v.ID = id
	return err
}

const savedViewCols = "id, org_id, COALESCE(owner_id, 0), name, query, COALESCE(created_by, 0), created_at"

func scanSavedView(r interface{ Scan(...any) error }) (desk.SavedView, error) {
	var v desk.SavedView
	var c int64
	err := r.Scan(&v.ID, &v.OrgID, &v.OwnerID, &v.Name, &v.Query, &v.CreatedBy, &c)
	v.Created = fromUS(c)
	return v, err
}

func (t *q) SavedViews(ctx context.Context, orgID, ownerID int64) ([]desk.SavedView, error) {
	rows, err := t.query(ctx, "SELECT "+savedViewCols+` FROM saved_views
		WHERE org_id = $1 AND (owner_id IS NULL OR owner_id = $2) ORDER BY owner_id IS NOT NULL, name, id`, orgID, ownerID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.SavedView, error) { return scanSavedView(r) })
}

func (t *q) SavedViewByID(ctx context.Context, id int64) (desk.SavedView, error) {
	v, err := scanSavedView(t.row(ctx, "SELECT "+savedViewCols+" FROM saved_views WHERE id = $1", id))
	return v, notFound(err, "view")
}

func (t *q) DeleteSavedView(ctx context.Context, id int64) error {
	_, err := t.exec(ctx, "DELETE FROM saved_views WHERE id = $1", id)
	return err
}

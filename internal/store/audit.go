package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sportello/sportello/internal/desk"
)

const auditCols = "id, at, org_id, actor_id, actor, action, target, detail, remote"

func (t *q) InsertAudit(ctx context.Context, e *desk.AuditEntry) error {
	id, err := t.insert(ctx, "INSERT INTO audit_log (at, org_id, actor_id, actor, action, target, detail, remote) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		us(e.At), e.OrgID, e.ActorID, e.Actor, e.Action, e.Target, e.Detail, e.Remote)
	e.ID = id
	return err
}

func (t *q) AuditEntries(ctx context.Context, f desk.AuditFilter) ([]desk.AuditEntry, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.OrgID != 0 {
		add("org_id = ?", f.OrgID)
	}
	if f.ActorID != 0 {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		add(`action LIKE ? ESCAPE '\'`, likeEscape(f.Action)+"%")
	}
	if f.Target != "" {
		add("target = ?", f.Target)
	}
	if !f.Since.IsZero() {
		add("at >= ?", us(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", us(f.Until))
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	query := "SELECT " + auditCols + " FROM audit_log"
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	rows, err := t.x.QueryContext(ctx, t.db.rebind(query), args...)
	return scanAll(rows, err, func(r *sql.Rows) (desk.AuditEntry, error) {
		var e desk.AuditEntry
		var at int64
		err := r.Scan(&e.ID, &at, &e.OrgID, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Remote)
		e.At = fromUS(at)
		return e, err
	})
}

// likeEscape escapes the LIKE wildcards of s (used with ESCAPE '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

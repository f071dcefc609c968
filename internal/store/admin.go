package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sportello/sportello/internal/desk"
)

// The administration pages' storage (desk.AdminTx).

var _ desk.AdminTx = (*q)(nil)
var _ desk.StatsTx = (*q)(nil)

func (t *q) UsersPage(ctx context.Context, orgIDs []int64, text string, role desk.Role, before int64, limit int) ([]desk.User, error) {
	query := "SELECT " + userCols + " FROM users WHERE redacted = FALSE"
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if orgIDs != nil {
		query += " AND org_id IN (" + idList(orgIDs) + ")"
	}
	if text != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(text)) + "%"
		p := arg(like)
		query += ` AND (email LIKE ` + p + ` ESCAPE '\' OR LOWER(name) LIKE ` + p + ` ESCAPE '\')`
	}
	if role != "" {
		query += " AND role = " + arg(string(role))
	}
	if before > 0 {
		query += " AND id < " + arg(before)
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	rows, err := t.query(ctx, query, args...)
	return scanAll(rows, err, func(r *sql.Rows) (desk.User, error) { return scanUser(r) })
}

func (t *q) UpdateQueue(ctx context.Context, x *desk.Queue) error {
	_, err := t.exec(ctx, "UPDATE queues SET name = $2 WHERE id = $1", x.ID, x.Name)
	return err
}

const cannedCols = "id, org_id, code, title, body, updated_at"

func scanCanned(r interface{ Scan(...any) error }) (desk.CannedAnswer, error) {
	var c desk.CannedAnswer
	var at int64
	err := r.Scan(&c.ID, &c.OrgID, &c.Code, &c.Title, &c.Body, &at)
	c.Updated = fromUS(at)
	return c, err
}

func (t *q) CannedAnswers(ctx context.Context, orgID int64) ([]desk.CannedAnswer, error) {
	rows, err := t.query(ctx, "SELECT "+cannedCols+" FROM canned_answers WHERE org_id = $1 ORDER BY title", orgID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.CannedAnswer, error) { return scanCanned(r) })
}

func (t *q) CannedByID(ctx context.Context, id int64) (desk.CannedAnswer, error) {
	c, err := scanCanned(t.row(ctx, "SELECT "+cannedCols+" FROM canned_answers WHERE id = $1", id))
	return c, notFound(err, "canned answer")
}

func (t *q) PutCanned(ctx context.Context, c *desk.CannedAnswer) error {
	return t.row(ctx, `INSERT INTO canned_answers (org_id, code, title, body, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org_id, code) DO UPDATE SET title = excluded.title, body = excluded.body, updated_at = excluded.updated_at
		RETURNING id`, c.OrgID, c.Code, c.Title, c.Body, us(c.Updated)).Scan(&c.ID)
}

func (t *q) DeleteCanned(ctx context.Context, id int64) error {
	_, err := t.exec(ctx, "DELETE FROM canned_answers WHERE id = $1", id)
	return err
}

package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/sportello/sportello/internal/desk"
)

// OrgSubtree walks parent_id downwards (indexed by orgs_parent) with a
// recursive query, the same on both engines.
func (t *q) OrgSubtree(ctx context.Context, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.x.QueryContext(ctx, `WITH RECURSIVE sub(id) AS (
			SELECT id FROM orgs WHERE id IN (`+idList(ids)+`)
			UNION
			SELECT o.id FROM orgs o JOIN sub ON o.parent_id = sub.id)
		SELECT id FROM sub ORDER BY id`)
	return scanAll(rows, err, func(r *sql.Rows) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	})
}

func (t *q) Memberships(ctx context.Context, userID int64) ([]desk.Membership, error) {
	rows, err := t.query(ctx, `SELECT m.id, m.user_id, m.org_id, COALESCE(m.queue_id, 0), COALESCE(m.service_id, 0), m.subtree, m.created_at,
			o.code, COALESCE(qu.code, ''), COALESCE(s.code, '')
		FROM memberships m JOIN orgs o ON o.id = m.org_id
		LEFT JOIN queues qu ON qu.id = m.queue_id
		LEFT JOIN services s ON s.id = m.service_id
		WHERE m.user_id = $1 ORDER BY m.id`, userID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Membership, error) {
		var m desk.Membership
		var c int64
		err := r.Scan(&m.ID, &m.UserID, &m.OrgID, &m.QueueID, &m.ServiceID, &m.Subtree, &c, &m.OrgCode, &m.QueueCode, &m.ServiceCode)
		m.Created = fromUS(c)
		return m, err
	})
}

func (t *q) InsertMembership(ctx context.Context, m *desk.Membership) error {
	id, err := t.insert(ctx, `INSERT INTO memberships (user_id, org_id, queue_id, service_id, subtree, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		m.UserID, m.OrgID, nullID(m.QueueID), nullID(m.ServiceID), m.Subtree, us(m.Created))
	if errors.Is(err, sql.ErrNoRows) {
		return desk.Errorf(desk.EConflict, "the user already has this membership")
	}
	if err != nil {
		return conflict(err, "the user already has this membership")
	}
	m.ID = id
	return nil
}

func (t *q) DeleteMembership(ctx context.Context, id int64) error {
	res, err := t.exec(ctx, "DELETE FROM memberships WHERE id = $1", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return desk.Errorf(desk.ENotFound, "membership %d not found", id)
	}
	return nil
}

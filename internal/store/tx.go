package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// querier is what both *sql.Tx and *sql.DB offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q implements desk.Tx over one transaction.
type q struct {
	db    *DB
	x     querier
	after []func()
	// write is set inside Update: ticket reads then lock the row on
	// PostgreSQL, so that read-check-write sequences cannot interleave.
	write bool
	// tx is the transaction behind x; stmts, when not nil, caches its
	// prepared statements (shared by the calls of one SQLite batch).
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	// conn is the reader connection behind x in SQLite views; its
	// statements stay prepared for the connection's life.
	conn *sql.Conn
	// counts holds counter changes until flushCounts.
	counts map[countKey]int
	// sd holds dashboard aggregate changes until flushCounts (stats.go).
	sd *statsDelta
	// batch is the SQLite group-commit batch this call belongs to.
	batch *batchState
	// fts holds search documents of new tickets until the batch writes
	// them (ftsdefer.go).
	fts []searchDoc
	// catalogChanged is set when this write transaction wrote
	// organisations, queues or services (catcache.go).
	catalogChanged bool
}

var _ desk.Tx = (*q)(nil)

// AfterCommit registers fn to run once the transaction has committed.
func (t *q) AfterCommit(fn func()) { t.after = append(t.after, fn) }

func (t *q) runAfter() {
	if t.catalogChanged {
		t.db.cat.invalidate()
	}
	for _, fn := range t.after {
		fn()
	}
}

func (t *q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.write {
		t.noteWrite(query)
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.x.ExecContext(ctx, t.db.rebind(query), args...)
}

func (t *q) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t.write {
		t.noteWrite(query)
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.x.QueryContext(ctx, t.db.rebind(query), args...)
}

// row is one row of a query's result, or the error that kept the query
// from running.
type row interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (t *q) row(ctx context.Context, query string, args ...any) row {
	if t.write {
		t.noteWrite(query)
	}
	if p, ok := t.x.(*pgPipe); ok {
		if err := p.sync(ctx); err != nil {
			return errRow{err}
		}
	}
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.x.QueryRowContext(ctx, t.db.rebind(query), args...)
}

// stmt returns a prepared statement from the cache, on SQLite where
// preparing is a large part of a small statement's cost: the writer and
// each reader prepare a statement once per connection (see writerStmt;
// pgx caches prepared statements on PostgreSQL by itself). Queries built
// dynamically (ticket lists, people lookup) bypass it.
func (t *q) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	if st, ok := t.stmts[query]; ok {
		return st
	}
	var st *sql.Stmt
	var err error
	if t.tx != nil {
		st, err = t.db.writerStmt(ctx, t.tx, t.stmts, query)
	} else if t.conn != nil {
		st, err = t.conn.PrepareContext(ctx, t.db.rebind(query))
	}
	if err != nil || st == nil {
		return nil // let the plain path report the error
	}
	if t.tx == nil {
		t.stmts[query] = st
	}
	return st
}

// insertRowid runs an INSERT into a table whose id is its INTEGER PRIMARY
// KEY. On SQLite it reads the new id from the connection instead of a
// RETURNING clause, which costs SQLite a temporary result and database/sql
// a result set: measurable on the single writer, which inserts two such
// rows per new ticket. Elsewhere it is insert.
func (t *q) insertRowid(ctx context.Context, query string, args ...any) (int64, error) {
	if t.db.dialect != SQLite {
		return t.insert(ctx, query, args...)
	}
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// insert runs an INSERT … RETURNING id.
func (t *q) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := t.row(ctx, query+" RETURNING id", args...).Scan(&id)
	return id, err
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return desk.Errorf(desk.ENotFound, "%s not found", what)
	}
	return err
}

func conflict(err error, format string, args ...any) error {
	if err != nil && isUniqueViolation(err) {
		return &desk.Error{Code: desk.EConflict, Message: fmt.Sprintf(format, args...), Err: err}
	}
	return err
}

// Times are stored as Unix microseconds; zero stays zero.
func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// nullID maps 0 to NULL for optional foreign keys.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func scanAll[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// ---- organisations

const orgCols = "id, code, name, COALESCE(parent_id, 0), province, created_at"

func scanOrg(r interface{ Scan(...any) error }) (desk.Organisation, error) {
	var o desk.Organisation
	var created int64
	err := r.Scan(&o.ID, &o.Code, &o.Name, &o.ParentID, &o.Province, &created)
	o.Created = fromUS(created)
	return o, err
}

func (t *q) CreateOrg(ctx context.Context, o *desk.Organisation) error {
	id, err := t.insert(ctx, "INSERT INTO orgs (code, name, parent_id, province, created_at) VALUES ($1, $2, $3, $4, $5)",
		o.Code, o.Name, nullID(o.ParentID), o.Province, us(o.Created))
	if err != nil {
		return conflict(err, "organisation %s already exists", o.Code)
	}
	o.ID = id
	return nil
}

func (t *q) OrgByID(ctx context.Context, id int64) (desk.Organisation, error) {
	return cached(t, catKey{kind: catOrgID, id: id}, func() (desk.Organisation, error) {
		o, err := scanOrg(t.row(ctx, "SELECT "+orgCols+" FROM orgs WHERE id = $1", id))
		return o, notFound(err, "organisation")
	})
}

func (t *q) OrgByCode(ctx context.Context, code string) (desk.Organisation, error) {
	return cached(t, catKey{kind: catOrgCode, code: code}, func() (desk.Organisation, error) {
		o, err := scanOrg(t.row(ctx, "SELECT "+orgCols+" FROM orgs WHERE code = $1", code))
		return o, notFound(err, "organisation "+code)
	})
}

func (t *q) Orgs(ctx context.Context) ([]desk.Organisation, error) {
	rows, err := t.query(ctx, "SELECT "+orgCols+" FROM orgs ORDER BY name")
	return scanAll(rows, err, func(r *sql.Rows) (desk.Organisation, error) { return scanOrg(r) })
}

// ---- users and tokens

const userCols = "id, org_id, email, name, phone, role, password_hash, installation_admin, active, redacted, created_at"

func scanUser(r interface{ Scan(...any) error }) (desk.User, error) {
	var u desk.User
	var created int64
	err := r.Scan(&u.ID, &u.OrgID, &u.Email, &u.Name, &u.Phone, &u.Role, &u.PasswordHash, &u.InstallationAdmin, &u.Active, &u.Redacted, &created)
	u.Created = fromUS(created)
	return u, err
}

// NormPhone keeps the digits of a phone number (and a leading +) so that
// "0831-565353" and "0831 565353" find the same caller.
func NormPhone(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= '0' && r <= '9' || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	out := b.String()
	out = strings.TrimPrefix(out, "+39")
	out = strings.TrimPrefix(out, "0039")
	return out
}

func (t *q) CreateUser(ctx context.Context, u *desk.User) error {
	if p, ok := t.x.(*pgPipe); ok {
		return t.createUserPiped(ctx, p, u)
	}
	// ON CONFLICT DO NOTHING: a concurrent creator of the same person must
	// not abort this transaction on PostgreSQL; the caller gets EConflict
	// and can read the row the other one wrote.
	id, err := t.insert(ctx, `INSERT INTO users (org_id, email, name, phone, phone_norm, role, password_hash, installation_admin, active, redacted, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (email) DO NOTHING`,
		u.OrgID, u.Email, u.Name, u.Phone, NormPhone(u.Phone), string(u.Role), u.PasswordHash, u.InstallationAdmin, u.Active, u.Redacted, us(u.Created))
	if errors.Is(err, sql.ErrNoRows) {
		return &desk.Error{Code: desk.EConflict, Field: "email", Message: "a user with e-mail " + u.Email + " already exists"}
	}
	if err != nil {
		return conflict(err, "a user with e-mail %s already exists", u.Email)
	}
	u.ID = id
	return nil
}

// createUserPiped queues the insert of a user in a pipelined group, with an
// id reserved beforehand. A person already queued by an earlier call of the
// group is a conflict, as a registered one would be: the caller then reads
// the row, which the read's sync has sent. A person registered meanwhile by
// another transaction makes the queued insert fail on the unique e-mail,
// and the group then runs each call alone, down the path above.
func (t *q) createUserPiped(ctx context.Context, p *pgPipe, u *desk.User) error {
	if _, ok := p.users[u.Email]; ok {
		return &desk.Error{Code: desk.EConflict, Field: "email", Message: "a user with e-mail " + u.Email + " already exists"}
	}
	seq, err := t.db.serialSequence(ctx, "users")
	if err != nil {
		return err
	}
	id, err := p.reserveID(ctx, seq)
	if err != nil {
		return err
	}
	if err := t.execLater(ctx, `INSERT INTO users (id, org_id, email, name, phone, phone_norm, role, password_hash, installation_admin, active, redacted, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		id, u.OrgID, u.Email, u.Name, u.Phone, NormPhone(u.Phone), string(u.Role), u.PasswordHash, u.InstallationAdmin, u.Active, u.Redacted, us(u.Created)); err != nil {
		return err
	}
	if p.users == nil {
		p.users = map[string]bool{}
	}
	p.users[u.Email] = true
	u.ID = id
	return nil
}

func (t *q) UpdateUser(ctx context.Context, u *desk.User) error {
	_, err := t.exec(ctx, `UPDATE users SET org_id=$2, email=$3, name=$4, phone=$5, phone_norm=$6, role=$7, password_hash=$8,
		installation_admin=$9, active=$10, redacted=$11 WHERE id=$1`,
		u.ID, u.OrgID, u.Email, u.Name, u.Phone, NormPhone(u.Phone), string(u.Role), u.PasswordHash, u.InstallationAdmin, u.Active, u.Redacted)
	return conflict(err, "a user with e-mail %s already exists", u.Email)
}

func (t *q) UserByID(ctx context.Context, id int64) (desk.User, error) {
	u, err := scanUser(t.row(ctx, "SELECT "+userCols+" FROM users WHERE id = $1", id))
	return u, notFound(err, "user")
}

func (t *q) UserByEmail(ctx context.Context, email string) (desk.User, error) {
	if t.db.lookups != nil && t.x == querier(t.db.read) {
		return t.db.sharedUserByEmail(ctx, email) // a PostgreSQL view
	}
	u, err := scanUser(t.row(ctx, "SELECT "+userCols+" FROM users WHERE email = $1", email))
	return u, notFound(err, "user "+email)
}

// FindUsers finds people by e-mail, name or phone prefix, for caller lookup.
func (t *q) FindUsers(ctx context.Context, orgIDs []int64, text string, limit int) ([]desk.User, error) {
	text = strings.TrimSpace(text)
	if text == "" || limit <= 0 {
		return nil, nil
	}
	args := []any{}
	var cond string
	if p := NormPhone(text); len(p) >= 3 && len(p)*2 >= len(strings.ReplaceAll(text, " ", "")) {
		args = append(args, "%"+p+"%") // anywhere in the number: callers say the last digits
		cond = "phone_norm LIKE $1"
	} else {
		like := "%" + likeEscape(strings.ToLower(text)) + "%"
		args = append(args, like)
		cond = `(email LIKE $1 ESCAPE '\' OR LOWER(name) LIKE $1 ESCAPE '\')`
	}
	query := "SELECT " + userCols + " FROM users WHERE redacted = FALSE AND active = TRUE AND " + cond
	if orgIDs != nil {
		query += " AND org_id IN (" + idList(orgIDs) + ")"
	}
	query += fmt.Sprintf(" ORDER BY name LIMIT %d", limit)
	rows, err := t.x.QueryContext(ctx, t.db.rebind(query), args...)
	return scanAll(rows, err, func(r *sql.Rows) (desk.User, error) { return scanUser(r) })
}

func idList(ids []int64) string {
	if len(ids) == 0 {
		return "0"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ",")
}

const tokenCols = "id, user_id, name, hash, created_at, expires_at, revoked_at, scopes"

func scanToken(r interface{ Scan(...any) error }) (desk.Token, error) {
	var k desk.Token
	var c, e, rv int64
	var scopes string
	err := r.Scan(&k.ID, &k.UserID, &k.Name, &k.Hash, &c, &e, &rv, &scopes)
	k.Created, k.Expires, k.Revoked = fromUS(c), fromUS(e), fromUS(rv)
	if err == nil {
		// A stored value that no longer parses grants nothing.
		k.Scopes, _ = desk.ParseScopes(scopes)
	}
	return k, err
}

func (t *q) CreateToken(ctx context.Context, k *desk.Token) error {
	scopes := k.Scopes
	if scopes == 0 {
		scopes = desk.AllScopes
	}
	id, err := t.insert(ctx, "INSERT INTO api_tokens (user_id, name, hash, created_at, expires_at, revoked_at, scopes) VALUES ($1, $2, $3, $4, $5, 0, $6)",
		k.UserID, k.Name, k.Hash, us(k.Created), us(k.Expires), scopes.String())
	k.ID = id
	return err
}

func (t *q) TokenByHash(ctx context.Context, hash string) (desk.Token, error) {
	k, err := scanToken(t.row(ctx, "SELECT "+tokenCols+" FROM api_tokens WHERE hash = $1", hash))
	return k, notFound(err, "token")
}

func (t *q) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0", id, us(at))
	return err
}

func (t *q) Tokens(ctx context.Context, userID int64) ([]desk.Token, error) {
	rows, err := t.query(ctx, "SELECT "+tokenCols+" FROM api_tokens WHERE user_id = $1 ORDER BY id", userID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Token, error) { return scanToken(r) })
}

// ---- queues and services

func scanQueue(r interface{ Scan(...any) error }) (desk.Queue, error) {
	var x desk.Queue
	err := r.Scan(&x.ID, &x.OrgID, &x.Code, &x.Name)
	return x, err
}

func (t *q) CreateQueue(ctx context.Context, x *desk.Queue) error {
	id, err := t.insert(ctx, "INSERT INTO queues (org_id, code, name) VALUES ($1, $2, $3)", x.OrgID, x.Code, x.Name)
	if err != nil {
		return conflict(err, "queue %s already exists", x.Code)
	}
	x.ID = id
	return nil
}

func (t *q) QueueByID(ctx context.Context, id int64) (desk.Queue, error) {
	return cached(t, catKey{kind: catQueueID, id: id}, func() (desk.Queue, error) {
		x, err := scanQueue(t.row(ctx, "SELECT id, org_id, code, name FROM queues WHERE id = $1", id))
		return x, notFound(err, "queue")
	})
}

func (t *q) QueueByCode(ctx context.Context, orgID int64, code string) (desk.Queue, error) {
	return cached(t, catKey{kind: catQueueCode, org: orgID, code: code}, func() (desk.Queue, error) {
		x, err := scanQueue(t.row(ctx, "SELECT id, org_id, code, name FROM queues WHERE org_id = $1 AND code = $2", orgID, code))
		return x, notFound(err, "queue "+code)
	})
}

func (t *q) Queues(ctx context.Context, orgID int64) ([]desk.Queue, error) {
	rows, err := t.query(ctx, "SELECT id, org_id, code, name FROM queues WHERE org_id = $1 ORDER BY name", orgID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Queue, error) { return scanQueue(r) })
}

const serviceCols = "id, org_id, code, name, COALESCE(queue_id, 0), active"

func scanService(r interface{ Scan(...any) error }) (desk.Service, error) {
	var s desk.Service
	err := r.Scan(&s.ID, &s.OrgID, &s.Code, &s.Name, &s.QueueID, &s.Active)
	return s, err
}

func (t *q) CreateService(ctx context.Context, s *desk.Service) error {
	id, err := t.insert(ctx, "INSERT INTO services (org_id, code, name, queue_id, active) VALUES ($1, $2, $3, $4, $5)",
		s.OrgID, s.Code, s.Name, nullID(s.QueueID), s.Active)
	if err != nil {
		return conflict(err, "service %s already exists", s.Code)
	}
	s.ID = id
	return nil
}

func (t *q) UpdateService(ctx context.Context, s *desk.Service) error {
	_, err := t.exec(ctx, "UPDATE services SET code=$2, name=$3, queue_id=$4, active=$5 WHERE id=$1",
		s.ID, s.Code, s.Name, nullID(s.QueueID), s.Active)
	return conflict(err, "service %s already exists", s.Code)
}

func (t *q) ServiceByID(ctx context.Context, id int64) (desk.Service, error) {
	return cached(t, catKey{kind: catServiceID, id: id}, func() (desk.Service, error) {
		s, err := scanService(t.row(ctx, "SELECT "+serviceCols+" FROM services WHERE id = $1", id))
		return s, notFound(err, "service")
	})
}

func (t *q) ServiceByCode(ctx context.Context, orgID int64, code string) (desk.Service, error) {
	return cached(t, catKey{kind: catServiceCode, org: orgID, code: code}, func() (desk.Service, error) {
		s, err := scanService(t.row(ctx, "SELECT "+serviceCols+" FROM services WHERE org_id = $1 AND code = $2", orgID, code))
		return s, notFound(err, "service "+code)
	})
}

func (t *q) Services(ctx context.Context, orgID int64) ([]desk.Service, error) {
	rows, err := t.query(ctx, "SELECT "+serviceCols+" FROM services WHERE org_id = $1 ORDER BY name", orgID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Service, error) { return scanService(r) })
}

// ---- settings

func (t *q) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := t.row(ctx, "SELECT value FROM settings WHERE key = $1", key).Scan(&v)
	return v, notFound(err, "setting "+key)
}

func (t *q) SetSetting(ctx context.Context, key, value string) error {
	_, err := t.exec(ctx, "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}

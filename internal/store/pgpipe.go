package store

// Pipelined group commit on PostgreSQL (pgbatch.go runs the group).
//
// On this project's 2-core machine a round trip to PostgreSQL costs more
// than the statement it carries: each one is a write and a read in this
// process and in the server, and system calls are expensive in a virtual
// machine. A group of new tickets used to cost BEGIN, one INSERT per
// ticket, four counter statements and COMMIT, each a round trip. Now the
// statements whose results nobody reads (execLater: the ticket's insert,
// its request fields, the counters) are queued and sent in one pgx batch
// with BEGIN before them and COMMIT after them: a whole group is one round
// trip, plus one to reserve the group's ticket ids and numbers.
//
// A statement whose result is read (a query, an insert returning an id,
// anything through exec) first sends BEGIN and whatever is queued, then
// runs as usual inside the transaction, so a call's statements always run
// in the order it made them.
//
// Errors of queued statements surface when the batch is sent, at the next
// synchronous statement or at the commit: the group is then rolled back and
// pgbatch.go runs each call again on its own, where nothing is queued and
// every error reaches its caller at the statement that caused it.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgPipe is the querier of a pipelined PostgreSQL group: one connection,
// one transaction begun lazily, and the queue of statements not yet sent.
type pgPipe struct {
	conn   *sql.Conn
	begun  bool // BEGIN has been sent (the transaction may be open)
	done   bool // COMMIT succeeded
	queued []pipeStmt
	err    error // the first failure: the group cannot commit
	// left is the number of the group's calls not yet run (the current
	// one included): reservations are made for all of them at once.
	left int
	ids  map[int][]ticketIDs // year → reserved ticket ids and numbers
	seqs map[string][]int64  // sequence → reserved values (reserveID)
	// users holds the e-mail addresses of the users queued for insertion.
	users map[string]bool
}

type pipeStmt struct {
	sql  string
	args []any
}

// ticketIDs is a ticket id and a yearly number, reserved before the insert
// so that the insert needs no RETURNING and can be queued.
type ticketIDs struct{ id, seq int64 }

var _ querier = (*pgPipe)(nil)

func (db *DB) newPipe(ctx context.Context) (*pgPipe, error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &pgPipe{conn: conn}, nil
}

// queue adds a statement to be sent with the next batch.
func (p *pgPipe) queue(query string, args []any) {
	p.queued = append(p.queued, pipeStmt{sql: query, args: args})
}

// sync sends BEGIN (the first time) and the queued statements, so that a
// synchronous statement runs after them in the group's transaction.
func (p *pgPipe) sync(ctx context.Context) error {
	if p.err != nil {
		return p.err
	}
	if p.begun && len(p.queued) == 0 {
		return nil
	}
	stmts := p.take(false)
	if err := p.send(ctx, stmts); err != nil {
		p.err = err
		return err
	}
	return nil
}

// take empties the queue into a batch, with BEGIN first if it has not been
// sent and COMMIT last if commit is set.
func (p *pgPipe) take(commit bool) []pipeStmt {
	stmts := make([]pipeStmt, 0, len(p.queued)+2)
	if !p.begun {
		stmts = append(stmts, pipeStmt{sql: "BEGIN"})
		p.begun = true
	}
	stmts = append(stmts, p.queued...)
	if commit {
		stmts = append(stmts, pipeStmt{sql: "COMMIT"})
	}
	p.queued = nil
	return stmts
}

// commit sends what is queued and COMMIT in one batch. An error that is a
// server's answer means nothing was kept; any other may have come after
// the commit (see pgbatch.go).
func (p *pgPipe) commit(ctx context.Context) error {
	if p.err != nil {
		return p.err
	}
	if err := p.send(ctx, p.take(true)); err != nil {
		p.err = err
		return err
	}
	p.done = true
	return nil
}

// send runs stmts as one pgx batch: one write, one round trip.
func (p *pgPipe) send(ctx context.Context, stmts []pipeStmt) error {
	return p.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("postgres connection is a %T, not pgx", dc)
		}
		b := &pgx.Batch{}
		for _, s := range stmts {
			b.Queue(s.sql, s.args...)
		}
		br := c.Conn().SendBatch(ctx, b)
		for _, s := range stmts {
			if _, err := br.Exec(); err != nil {
				_ = br.Close()
				return fmt.Errorf("%s: %w", firstLine(s.sql), err)
			}
		}
		return br.Close()
	})
}

// release ends the group: a transaction left open by a failure is rolled
// back, and the connection goes back to the pool (or is dropped, if even
// the rollback failed).
func (p *pgPipe) release() {
	if p.begun && !p.done {
		if _, err := p.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			_ = p.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	_ = p.conn.Close()
}

// reserve hands out a reserved ticket id and number for year, reserving
// one for each call left in the group when none is left. nextval is not
// transactional: the reservation needs no transaction, and numbers
// reserved by a group that fails are gaps, which ticket numbers allow.
func (p *pgPipe) reserve(ctx context.Context, year int, idSeq, yearSeq string) (ticketIDs, error) {
	if r := p.ids[year]; len(r) > 0 {
		p.ids[year] = r[1:]
		return r[0], nil
	}
	rows, err := p.nextvals(ctx, idSeq, yearSeq)
	if err != nil {
		return ticketIDs{}, err
	}
	got := make([]ticketIDs, len(rows))
	for i, r := range rows {
		got[i] = ticketIDs{id: r[0], seq: r[1]}
	}
	if p.ids == nil {
		p.ids = map[int][]ticketIDs{}
	}
	p.ids[year] = got[1:]
	return got[0], nil
}

// reserveID hands out a value of the sequence seq, reserving one for each
// call left in the group when none is left (see reserve).
func (p *pgPipe) reserveID(ctx context.Context, seq string) (int64, error) {
	if r := p.seqs[seq]; len(r) > 0 {
		p.seqs[seq] = r[1:]
		return r[0], nil
	}
	rows, err := p.nextvals(ctx, seq)
	if err != nil {
		return 0, err
	}
	got := make([]int64, len(rows))
	for i, r := range rows {
		got[i] = r[0]
	}
	if p.seqs == nil {
		p.seqs = map[string][]int64{}
	}
	p.seqs[seq] = got[1:]
	return got[0], nil
}

// nextvals takes the next values of the sequences seqs, as many rows as
// calls are left in the group (at least one), in one query.
func (p *pgPipe) nextvals(ctx context.Context, seqs ...string) ([][]int64, error) {
	cols := make([]string, len(seqs))
	args := make([]any, 0, len(seqs)+1)
	for i, seq := range seqs {
		cols[i] = fmt.Sprintf("nextval($%d::regclass)", i+1)
		args = append(args, seq)
	}
	args = append(args, max(1, p.left))
	rows, err := p.conn.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM generate_series(1, $%d)", strings.Join(cols, ", "), len(seqs)+1), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]int64
	for rows.Next() {
		r := make([]int64, len(seqs))
		dest := make([]any, len(seqs))
		for i := range r {
			dest[i] = &r[i]
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no sequence value reserved")
	}
	return out, nil
}

// The querier methods run a statement now, after what is queued.

func (p *pgPipe) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := p.sync(ctx); err != nil {
		return nil, err
	}
	return p.conn.ExecContext(ctx, query, args...)
}

func (p *pgPipe) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := p.sync(ctx); err != nil {
		return nil, err
	}
	return p.conn.QueryContext(ctx, query, args...)
}

func (p *pgPipe) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := p.sync(ctx); err != nil {
		// q.row syncs first and reports the error itself: a *sql.Row
		// cannot be made with one. Anything else calling here gets a
		// query that is never sent (its context is done), and the
		// group fails on p.err.
		done, cancel := context.WithCancel(ctx)
		cancel()
		return p.conn.QueryRowContext(done, query, args...)
	}
	return p.conn.QueryRowContext(ctx, query, args...)
}

// execLater runs a statement whose result is not read: queued in a
// pipelined group, run now anywhere else.
func (t *q) execLater(ctx context.Context, query string, args ...any) error {
	if p, ok := t.x.(*pgPipe); ok {
		if t.write {
			t.noteWrite(query)
		}
		p.queue(query, args)
		return nil
	}
	_, err := t.exec(ctx, query, args...)
	return err
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' || i >= 60 {
			return s[:i]
		}
	}
	return s
}

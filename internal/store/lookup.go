package store

// Shared look-ups of people by e-mail on PostgreSQL.
//
// Every new ticket from a contact looks its requester up by e-mail before
// writing (desk.CreateTicket). Under load these look-ups arrive together,
// and each was a round trip of its own: on a small machine the round trip,
// not the indexed read, is the cost. Look-ups made in views are handed to
// a few workers, each of which takes whatever is waiting and answers it
// with one query. A look-up waits for no one: a worker that is free runs
// it at once, alone; look-ups only share a query when they would have
// waited for a connection anyway.
//
// Views on PostgreSQL run in autocommit, each statement seeing the latest
// commit; a shared query is such a statement too. Reads inside a write
// transaction must see that transaction's own writes, so they never come
// here.

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// userLookup is one caller's look-up.
type userLookup struct {
	email string
	u     desk.User
	err   error
	done  chan struct{}
}

const (
	lookupWorkers = 2
	lookupMax     = 128 // e-mail addresses per query
)

func (db *DB) startLookups() {
	db.lookups = make(chan *userLookup, 256)
	for range lookupWorkers {
		db.wg.Add(1)
		go db.lookupWorker()
	}
}

// sharedUserByEmail looks a user up through the workers.
func (db *DB) sharedUserByEmail(ctx context.Context, email string) (desk.User, error) {
	l := &userLookup{email: email, done: make(chan struct{})}
	select {
	case db.lookups <- l:
	case <-db.closing:
		return desk.User{}, errors.New("store is closed")
	case <-ctx.Done():
		return desk.User{}, ctx.Err()
	}
	select {
	case <-l.done:
		return l.u, l.err
	case <-db.closing:
		return desk.User{}, errors.New("store is closed")
	case <-ctx.Done():
		return desk.User{}, ctx.Err()
	}
}

func (db *DB) lookupWorker() {
	defer db.wg.Done()
	for {
		var first *userLookup
		select {
		case first = <-db.lookups:
		case <-db.closing:
			return
		}
		batch := []*userLookup{first}
	drain:
		for len(batch) < lookupMax {
			select {
			case l := <-db.lookups:
				batch = append(batch, l)
			default:
				break drain
			}
		}
		db.runLookups(batch)
	}
}

func (db *DB) runLookups(batch []*userLookup) {
	defer func() {
		for _, l := range batch {
			close(l.done)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if len(batch) == 1 {
		l := batch[0]
		l.u, l.err = scanUser(db.read.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE email = $1", l.email))
		l.err = notFound(l.err, "user")
		return
	}
	emails := make([]string, 0, len(batch))
	seen := make(map[string]bool, len(batch))
	for _, l := range batch {
		if !seen[l.email] {
			seen[l.email] = true
			emails = append(emails, l.email)
		}
	}
	found := make(map[string]desk.User, len(emails))
	rows, err := db.read.QueryContext(ctx, "SELECT "+userCols+" FROM users WHERE email = ANY($1)", emails)
	if err == nil {
		for rows.Next() {
			u, e := scanUser(rows)
			if e != nil {
				err = e
				break
			}
			found[u.Email] = u
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	for _, l := range batch {
		switch u, ok := found[l.email]; {
		case err != nil:
			l.err = err
		case ok:
			l.u = u
		default:
			l.err = notFound(sql.ErrNoRows, "user")
		}
	}
}

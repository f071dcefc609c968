package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// Web sessions live in the web_sessions table so that any replica can serve
// any request. The caller (package web) chooses the key, a keyed hash of
// the cookie's token: the table never holds a usable token. Expired rows
// are ignored by SessionFind and removed by PurgeSessions.

// SessionFind returns the data of an unexpired session. A missing or
// expired session is (nil, false, nil); err is for system errors only.
func (db *DB) SessionFind(ctx context.Context, key string, now time.Time) ([]byte, bool, error) {
	var data []byte
	err := db.read.QueryRowContext(ctx, db.rebind("SELECT data FROM web_sessions WHERE key = $1 AND expires_at > $2"),
		key, now.UnixMicro()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("find session: %w", err)
	}
	return data, true, nil
}

// SessionCommit stores a session, replacing its data and expiry if it exists.
func (db *DB) SessionCommit(ctx context.Context, key string, data []byte, expires time.Time) error {
	return db.sessionWrite(ctx, `INSERT INTO web_sessions (key, data, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`,
		key, data, expires.UnixMicro())
}

// SessionDelete removes a session; deleting a missing session is not an error.
func (db *DB) SessionDelete(ctx context.Context, key string) error {
	return db.sessionWrite(ctx, "DELETE FROM web_sessions WHERE key = $1", key)
}

// PurgeSessions removes the sessions that expired before now.
func (db *DB) PurgeSessions(ctx context.Context, now time.Time) error {
	return db.sessionWrite(ctx, "DELETE FROM web_sessions WHERE expires_at <= $1", now.UnixMicro())
}

// sessionWrite runs one statement through Update, so that on SQLite it
// joins the group commit instead of competing for the writer connection.
func (db *DB) sessionWrite(ctx context.Context, query string, args ...any) error {
	err := db.Update(ctx, func(tx desk.Tx) error {
		t, ok := tx.(*q)
		if !ok {
			return fmt.Errorf("unexpected transaction type %T", tx)
		}
		_, err := t.exec(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("write session: %w", err)
	}
	return nil
}

package store

import (
	"errors"
	"regexp"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Queries are written with PostgreSQL's $N placeholders; SQLite gets ?N,
// which it binds by number too.
var placeholder = regexp.MustCompile(`\$(\d+)`)

var rebound sync.Map

func (db *DB) rebind(query string) string {
	if db.dialect == Postgres {
		return query
	}
	if v, ok := rebound.Load(query); ok {
		return v.(string)
	}
	out := placeholder.ReplaceAllString(query, "?$1")
	rebound.Store(query, out)
	return out
}

// isUniqueViolation reports a unique-constraint failure on either engine.
// isDuplicateTable reports a PostgreSQL "relation already exists" error.
func isDuplicateTable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "42P07"
}

func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// retryable reports PostgreSQL errors worth retrying the whole transaction for.
func retryable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40001" || pg.Code == "40P01"
	}
	return false
}

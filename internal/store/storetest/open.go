// Package storetest opens real databases for tests and holds the contract
// suite that SQLite and PostgreSQL must both pass.
//
// PostgreSQL tests use SPORTELLO_TEST_DATABASE_URL. When it is unset they
// are skipped on a laptop but fail in CI (CI=true), so a missing server can
// never pass silently.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/auth"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
)

// EnvPostgres names the variable holding the PostgreSQL test URL.
const EnvPostgres = "SPORTELLO_TEST_DATABASE_URL"

// OpenSQLite opens a migrated SQLite store in a temporary directory.
func OpenSQLite(tb testing.TB) *store.DB {
	tb.Helper()
	return open(tb, store.Config{DataDir: tb.TempDir()})
}

// PostgresURL returns a URL to a fresh, empty schema of the test server,
// dropped when the test ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is not set: CI must run the store suite on PostgreSQL (see .ci/run)", EnvPostgres)
		}
		tb.Skipf("%s not set: skipping PostgreSQL", EnvPostgres)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open %s: %v", EnvPostgres, err)
	}
	tb.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		tb.Fatalf("PostgreSQL at %s does not answer: %v", base, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	qs := u.Query()
	qs.Set("search_path", schema)
	u.RawQuery = qs.Encode()
	return u.String()
}

// OpenPostgres opens a migrated store on a fresh schema of the test server.
func OpenPostgres(tb testing.TB) *store.DB {
	tb.Helper()
	return open(tb, store.Config{URL: PostgresURL(tb)})
}

func open(tb testing.TB, cfg store.Config) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Engines lists the engines a test should run on, by name.
var Engines = map[string]func(testing.TB) *store.DB{
	"sqlite":   OpenSQLite,
	"postgres": OpenPostgres,
}

// hasher is shared: argon2id is deliberately slow.
var hasher = auth.NewHasher(2)

// NewDesk returns a bootstrapped desk on db with a fixed clock option.
func NewDesk(tb testing.TB, db *store.DB, now func() time.Time) *desk.Desk {
	tb.Helper()
	d := desk.New(desk.Opts{Store: db, Now: now, Hasher: hasher, MaxAttachment: 1 << 20})
	if err := d.Bootstrap(context.Background()); err != nil {
		tb.Fatalf("bootstrap: %v", err)
	}
	return d
}

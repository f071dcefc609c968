package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestUpgradeFromEachSchema creates a database at every earlier schema
// version, puts a ticket in it when the schema allows, and upgrades it to
// the latest: data written under an old schema must survive every later
// migration.
func TestUpgradeFromEachSchema(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]func(t *testing.T) store.Config{
		"sqlite":   func(t *testing.T) store.Config { return store.Config{DataDir: t.TempDir(), NoMigrate: true} },
		"postgres": func(t *testing.T) store.Config { return store.Config{URL: storetest.PostgresURL(t), NoMigrate: true} },
	} {
		t.Run(name, func(t *testing.T) {
			probe, err := store.Open(ctx, cfg(t))
			if err != nil {
				t.Fatal(err)
			}
			ms, err := store.Migrations(probe.Dialect())
			probe.Close()
			if err != nil || len(ms) == 0 {
				t.Fatalf("migrations: %v", err)
			}
			for _, from := range ms {
				t.Run(from.Name, func(t *testing.T) {
					db, err := store.Open(ctx, cfg(t))
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					v := from.Version
					if _, err := db.Migrate(ctx, &v); err != nil {
						t.Fatalf("migrate to %d: %v", v, err)
					}
					// Every schema has the core tables of 0001; the ticket is
					// written with 0001's columns, as the code of that time
					// wrote it (today's code writes columns added since).
					d := storetest.NewDesk(t, db, nil)
					k := desk.Ticket{Number: "2026-900001", Subject: "Creato con lo schema " + from.Name}
					q := `INSERT INTO tickets (number, org_id, subject, status, priority, channel, created_at, updated_at)
						VALUES ($1, (SELECT MIN(id) FROM orgs), $2, 'new', 'normal', 'api', 1, 1)`
					if db.Dialect() == store.SQLite {
						q = strings.ReplaceAll(q, "$", "?")
					}
					if _, err := db.SQL().ExecContext(ctx, q, k.Number, k.Subject); err != nil {
						t.Fatalf("ticket at %s: %v", from.Name, err)
					}
					if _, err := db.Migrate(ctx, nil); err != nil {
						t.Fatalf("upgrade from %s: %v", from.Name, err)
					}
					got, err := d.Ticket(ctx, desk.SystemActor, k.Number)
					if err != nil || got.Subject != k.Subject || len(got.Tags) != 0 {
						t.Fatalf("ticket after upgrade: %+v %v", got, err)
					}
					last, _ := db.SchemaVersion(ctx)
					if last != ms[len(ms)-1].Version {
						t.Fatalf("schema %d after upgrade, want %d", last, ms[len(ms)-1].Version)
					}
					if again, err := db.Migrate(ctx, nil); err != nil || len(again) != 0 {
						t.Fatalf("second migrate applied %v (%v)", again, err)
					}
				})
			}
		})
	}
}

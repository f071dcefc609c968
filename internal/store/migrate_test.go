package store_test

import (
	"context"
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
					// Every schema has the core tables of 0001.
					d := storetest.NewDesk(t, db, nil)
					k, err := d.CreateTicket(ctx, desk.SystemActor, desk.NewTicket{Subject: "Creato con lo schema " + from.Name})
					if err != nil {
						t.Fatalf("ticket at %s: %v", from.Name, err)
					}
					if _, err := db.Migrate(ctx, nil); err != nil {
						t.Fatalf("upgrade from %s: %v", from.Name, err)
					}
					got, err := d.Ticket(ctx, desk.SystemActor, k.Number)
					if err != nil || got.Subject != k.Subject {
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

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
					// Every schema has the core tables of 0001. The ticket is
					// written as that schema's code would have: a row, with
					// its counter, without the tables later migrations add
					// (today's write path needs them; 0110 back-fills its
					// counters from the rows).
					d := storetest.NewDesk(t, db, nil)
					k := desk.Ticket{Number: "2026-000001", Subject: "Creato con lo schema " + from.Name}
					ins := `INSERT INTO tickets (number, org_id, subject, status, priority, channel, created_at, updated_at)
						SELECT ?, id, ?, 'new', 'normal', 'api', 1, 1 FROM orgs ORDER BY id LIMIT 1`
					cnt := `INSERT INTO ticket_counts (org_id, queue_id, status, shard, n) SELECT id, 0, 'new', 0, 1 FROM orgs ORDER BY id LIMIT 1`
					if db.Dialect() == store.Postgres {
						ins = strings.Replace(strings.Replace(ins, "?", "$1", 1), "?", "$2", 1)
					}
					if _, err := db.SQL().ExecContext(ctx, ins, k.Number, k.Subject); err != nil {
						t.Fatalf("ticket at %s: %v", from.Name, err)
					}
					if _, err := db.SQL().ExecContext(ctx, cnt); err != nil {
						t.Fatalf("counter at %s: %v", from.Name, err)
					}
					if _, err := db.Migrate(ctx, nil); err != nil {
						t.Fatalf("upgrade from %s: %v", from.Name, err)
					}
					got, err := d.Ticket(ctx, desk.SystemActor, k.Number)
					if err != nil || got.Subject != k.Subject || len(got.Tags) != 0 {
						t.Fatalf("ticket after upgrade: %+v %v", got, err)
					}
					// 0110 counted the ticket written before it.
					if from.Version < 110 {
						n, err := d.CountViews(ctx, desk.Actor{System: true, Role: desk.RoleAdmin, InstallationAdmin: true},
							[]desk.ViewFilter{{}, {Unassigned: true, Statuses: []desk.Status{desk.StatusNew}}})
						if err != nil || n[0] != 1 || n[1] != 1 {
							t.Fatalf("view counters after upgrade: %v %v", n, err)
						}
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

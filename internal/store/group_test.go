package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// openOneWorker opens a store whose grouped writes all go through one
// committer, so that a test can hold it and queue calls behind it.
func openOneWorker(t *testing.T, engine string) *store.DB {
	cfg := store.Config{DataDir: t.TempDir(), GroupWorkers: 1}
	if engine == "postgres" {
		cfg = store.Config{URL: storetest.PostgresURL(t), GroupWorkers: 1}
	}
	db, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// holdCommitter occupies the committer with a call that waits for the
// returned release function, and returns once that call is running.
func holdCommitter(t *testing.T, db *store.DB) (release func()) {
	ctx := context.Background()
	started, done, rel := make(chan struct{}), make(chan error, 1), make(chan struct{})
	var once sync.Once
	go func() {
		done <- db.UpdateGrouped(ctx, func(tx desk.Tx) error {
			once.Do(func() { close(started) })
			<-rel
			return tx.SetSetting(ctx, "held", "1")
		})
	}()
	<-started
	return func() {
		close(rel)
		if err := <-done; err != nil {
			t.Errorf("held call: %v", err)
		}
	}
}

// waitQueued waits until n grouped calls are queued behind the held one.
func waitQueued(t *testing.T, db *store.DB, n int) {
	deadline := time.Now().Add(30 * time.Second)
	for db.QueuedGrouped() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", db.QueuedGrouped(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupedCallsFailAlone queues calls behind a held committer so that
// they form one group, some of them failing (one returning an error, one
// hitting a unique constraint, which aborts a PostgreSQL transaction): each
// caller gets its own outcome, and only the successful calls' writes stay.
func TestGroupedCallsFailAlone(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			db := openOneWorker(t, engine)
			ctx := context.Background()
			if err := db.Update(ctx, func(tx desk.Tx) error {
				return tx.CreateOrg(ctx, &desk.Organisation{Code: "ente", Name: "Ente"})
			}); err != nil {
				t.Fatal(err)
			}
			batches0, calls0 := db.BatchStats()
			release := holdCommitter(t, db)
			const n = 12
			refused := errors.New("refused")
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs[i] = db.UpdateGrouped(ctx, func(tx desk.Tx) error {
						if err := tx.SetSetting(ctx, fmt.Sprintf("k%d", i), "v"); err != nil {
							return err
						}
						switch i {
						case 3:
							return refused
						case 7:
							return tx.CreateOrg(ctx, &desk.Organisation{Code: "ente", Name: "Doppio"})
						}
						return nil
					})
				}(i)
			}
			waitQueued(t, db, n)
			release()
			wg.Wait()
			for i, err := range errs {
				_, got := settingOf(t, db, fmt.Sprintf("k%d", i))
				switch i {
				case 3:
					if !errors.Is(err, refused) || got {
						t.Errorf("call 3: err %v, setting kept %v", err, got)
					}
				case 7:
					if desk.ErrorCode(err) != desk.EConflict || got {
						t.Errorf("call 7: err %v, setting kept %v", err, got)
					}
				default:
					if err != nil || !got {
						t.Errorf("call %d: err %v, setting kept %v", i, err, got)
					}
				}
			}
			if batches, calls := db.BatchStats(); batches-batches0 != 2 || calls-calls0 != n+1 {
				t.Errorf("%d calls in %d groups, want %d in 2", calls-calls0, batches-batches0, n+1)
			}

			// A group where the only failure is a refusal after writing,
			// with no failed statement to abort the transaction.
			release = holdCommitter(t, db)
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs[i] = db.UpdateGrouped(ctx, func(tx desk.Tx) error {
						if err := tx.SetSetting(ctx, fmt.Sprintf("r%d", i), "v"); err != nil {
							return err
						}
						if i == 2 {
							return refused
						}
						return nil
					})
				}(i)
			}
			waitQueued(t, db, 4)
			release()
			wg.Wait()
			for i := 0; i < 4; i++ {
				_, got := settingOf(t, db, fmt.Sprintf("r%d", i))
				if want := i != 2; got != want || (errs[i] == nil) != want {
					t.Errorf("second group, call %d: err %v, setting kept %v", i, errs[i], got)
				}
			}
		})
	}
}

func settingOf(t *testing.T, db *store.DB, key string) (string, bool) {
	var v string
	err := db.View(context.Background(), func(tx desk.Tx) error {
		var err error
		v, err = tx.Setting(context.Background(), key)
		return err
	})
	if desk.IsNotFound(err) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// createConcurrently starts n ticket creations at once, the i-th with
// in(i), and returns a function that waits for them all and checks that
// each got a ticket with a number of its own.
func createConcurrently(t *testing.T, d *desk.Desk, n int, in func(i int) desk.NewTicket) (wait func() []desk.Ticket) {
	tickets := make([]desk.Ticket, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tickets[i], errs[i] = d.CreateTicket(context.Background(), desk.SystemActor, in(i))
		}(i)
	}
	return func() []desk.Ticket {
		wg.Wait()
		numbers := map[string]bool{}
		for i, k := range tickets {
			if errs[i] != nil {
				t.Fatalf("create %d: %v", i, errs[i])
			}
			if numbers[k.Number] || k.ID == 0 || k.RequesterID == 0 {
				t.Fatalf("ticket %d: %+v", i, k)
			}
			numbers[k.Number] = true
		}
		return tickets
	}
}

// TestGroupedCreates registers tickets as one group and checks what each
// must have: a distinct number, its history entry, its search document and
// the maintained counters.
func TestGroupedCreates(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			db := openOneWorker(t, engine)
			d := storetest.NewDesk(t, db, nil)
			ctx := context.Background()
			batches0, calls0 := db.BatchStats()
			retries0 := db.GroupRetries()
			release := holdCommitter(t, db)
			const n = 10
			wait := createConcurrently(t, d, n, func(i int) desk.NewTicket {
				return desk.NewTicket{Subject: fmt.Sprintf("Stampante guasta %d", i),
					Requester: desk.Contact{Email: fmt.Sprintf("utente%d@example.it", i%3)}}
			})
			waitQueued(t, db, n)
			release()
			tickets := wait()
			numbers := map[string]bool{}
			for _, k := range tickets {
				numbers[k.Number] = true
				var evs []desk.Event
				if err := db.View(ctx, func(tx desk.Tx) error {
					var err error
					evs, err = tx.Events(ctx, k.ID)
					return err
				}); err != nil || len(evs) != 1 || evs[0].Field != "created" {
					t.Fatalf("history of %s: %+v %v", k.Number, evs, err)
				}
			}
			if batches, calls := db.BatchStats(); batches-batches0 != 2 || calls-calls0 != n+1 {
				t.Errorf("%d calls in %d groups, want %d in 2", calls-calls0, batches-batches0, n+1)
			}
			// A requester registered by an earlier call of the group is
			// found, not registered twice, and the group does not fail.
			if r := db.GroupRetries() - retries0; r != 0 {
				t.Errorf("%d groups run again, want none", r)
			}
			var counts []desk.Count
			var found []desk.Ticket
			if err := db.View(ctx, func(tx desk.Tx) error {
				var err error
				if counts, err = tx.CountTickets(ctx, nil); err != nil {
					return err
				}
				found, err = tx.Tickets(ctx, desk.TicketQuery{Text: "stampante", Limit: 50})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(counts) != 1 || counts[0].N != n || counts[0].Status != desk.StatusNew {
				t.Errorf("counts %+v, want %d new", counts, n)
			}
			if len(found) != n {
				t.Errorf("search found %d tickets, want %d", len(found), n)
			}
			// Three requesters, each registered once.
			var people int
			if err := db.SQL().QueryRow("SELECT COUNT(*) FROM users WHERE email LIKE 'utente%'").Scan(&people); err != nil || people != 3 {
				t.Errorf("%d requesters (%v), want 3", people, err)
			}
			got := make([]string, 0, n)
			for num := range numbers {
				got = append(got, num)
			}
			sort.Strings(got)
			if got[0] != tickets[0].Number[:5]+"000001" || got[n-1] != fmt.Sprintf("%s%06d", tickets[0].Number[:5], n) {
				t.Errorf("numbers %v, want 1 to %d", got, n)
			}
		})
	}
}

// TestGroupedCreateMeetsConcurrentRegistration queues new tickets behind
// a held committer, one of them from a person not registered when the
// desk looked, who is then registered by another transaction before the
// group runs. On PostgreSQL the group's queued insert of that person fails
// only at the commit (pgpipe.go): the group is rolled back and each call
// runs again alone. Every caller gets its ticket, the late one attached to
// the person registered meanwhile, and nothing is written twice. (On
// SQLite every write goes through the one committer held here, so no
// registration can come in between; the conflict there is met by the
// insert's ON CONFLICT, in the contract suite.)
func TestGroupedCreateMeetsConcurrentRegistration(t *testing.T) {
	for _, engine := range []string{"postgres"} {
		t.Run(engine, func(t *testing.T) {
			db := openOneWorker(t, engine)
			d := storetest.NewDesk(t, db, nil)
			ctx := context.Background()
			retries0 := db.GroupRetries()
			release := holdCommitter(t, db)
			const n = 6
			wait := createConcurrently(t, d, n, func(i int) desk.NewTicket {
				return desk.NewTicket{Subject: fmt.Sprintf("Accesso negato %d", i),
					Requester: desk.Contact{Email: fmt.Sprintf("persona%d@example.it", i), Name: "Persona"}}
			})
			waitQueued(t, db, n)
			// Registered by someone else, after every call above looked.
			late, err := d.EnsureUser(ctx, desk.NewUser{Email: "persona4@example.it", Name: "Registrata altrove", Role: desk.RoleRequester})
			if err != nil {
				t.Fatal(err)
			}
			release()
			tickets := wait()
			if r := db.GroupRetries() - retries0; r != 1 {
				t.Errorf("%d groups run again, want 1 (the group whose queued registration failed)", r)
			}
			if tickets[4].RequesterID != late.ID {
				t.Errorf("ticket of persona4 has requester %d, want %d (registered meanwhile)", tickets[4].RequesterID, late.ID)
			}
			var people, rows, events int
			if err := db.SQL().QueryRow("SELECT COUNT(*) FROM users WHERE email LIKE 'persona%'").Scan(&people); err != nil || people != n {
				t.Errorf("%d people (%v), want %d", people, err, n)
			}
			if err := db.SQL().QueryRow("SELECT COUNT(*) FROM tickets").Scan(&rows); err != nil || rows != n {
				t.Errorf("%d tickets (%v), want %d", rows, err, n)
			}
			if err := db.SQL().QueryRow("SELECT COUNT(*) FROM events WHERE field = 'created'").Scan(&events); err != nil || events != n {
				t.Errorf("%d creation events (%v), want %d", events, err, n)
			}
			var counts []desk.Count
			if err := db.View(ctx, func(tx desk.Tx) error {
				var err error
				counts, err = tx.CountTickets(ctx, nil)
				return err
			}); err != nil || len(counts) != 1 || counts[0].N != n {
				t.Errorf("counts %+v (%v), want %d new", counts, err, n)
			}
		})
	}
}

// TestCatalogReadsSeeOwnChanges checks that views read organisations,
// queues and services from memory, and that a committed change made
// through the store replaces what was kept at once.
func TestCatalogReadsSeeOwnChanges(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			db := openOneWorker(t, engine)
			ctx := context.Background()
			var svc desk.Service
			if err := db.Update(ctx, func(tx desk.Tx) error {
				o := desk.Organisation{Code: "ente", Name: "Ente"}
				if err := tx.CreateOrg(ctx, &o); err != nil {
					return err
				}
				svc = desk.Service{OrgID: o.ID, Code: "stampanti", Name: "Stampanti", Active: true}
				return tx.CreateService(ctx, &svc)
			}); err != nil {
				t.Fatal(err)
			}
			name := func() string {
				var s desk.Service
				if err := db.View(ctx, func(tx desk.Tx) error {
					var err error
					s, err = tx.ServiceByCode(ctx, svc.OrgID, "stampanti")
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return s.Name
			}
			if got := name(); got != "Stampanti" {
				t.Fatalf("name %q", got)
			}
			// A change behind the store's back (another process) is not
			// seen while the entry lives...
			if _, err := db.SQL().Exec("UPDATE services SET name = 'Altro nome'"); err != nil {
				t.Fatal(err)
			}
			if got := name(); got != "Stampanti" {
				t.Fatalf("name %q read from the database, want the kept one", got)
			}
			// ...one committed through the store is seen at once, and a
			// rolled-back one is not.
			if err := db.Update(ctx, func(tx desk.Tx) error {
				svc.Name = "Non salvato"
				if err := tx.UpdateService(ctx, &svc); err != nil {
					return err
				}
				return errors.New("roll back")
			}); err == nil {
				t.Fatal("no error")
			}
			if got := name(); got != "Stampanti" {
				t.Fatalf("name %q after a rollback", got)
			}
			if err := db.Update(ctx, func(tx desk.Tx) error {
				svc.Name = "Dispositivi hardware"
				return tx.UpdateService(ctx, &svc)
			}); err != nil {
				t.Fatal(err)
			}
			if got := name(); got != "Dispositivi hardware" {
				t.Fatalf("name %q after an update", got)
			}
		})
	}
}

// TestSearchDocRebuiltInSameTransaction registers a ticket and rebuilds
// its search document in the same transaction (as the bulk writer and
// mail intake do): the ticket is found once, by its subject and by the
// message added.
func TestSearchDocRebuiltInSameTransaction(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			db := openOneWorker(t, engine)
			storetest.NewDesk(t, db, nil)
			ctx := context.Background()
			err := db.Update(ctx, func(tx desk.Tx) error {
				org, err := desk.DefaultOrg(ctx, tx)
				if err != nil {
					return err
				}
				queue, err := tx.QueueByCode(ctx, org.ID, desk.DefaultTriage)
				if err != nil {
					return err
				}
				now := time.Now().UTC().Truncate(time.Microsecond)
				k := desk.Ticket{OrgID: org.ID, QueueID: queue.ID, Subject: "Scanner inceppato", Status: desk.StatusNew, Priority: desk.PriorityNormal,
					Channel: desk.ChannelEmail, Level: desk.LevelFirst, Created: now, Updated: now}
				if err := tx.InsertNewTicket(ctx, &k, desk.Event{At: now, Field: "created", New: "email"}); err != nil {
					return err
				}
				if err := tx.InsertMessage(ctx, &desk.Message{TicketID: k.ID, Kind: desk.MessageReply, Body: "Trovata una graffetta nel rullo.",
					Channel: desk.ChannelEmail, Created: now}); err != nil {
					return err
				}
				return tx.Reindex(ctx, k.ID)
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, word := range []string{"scanner", "graffetta"} {
				var found []desk.Ticket
				if err := db.View(ctx, func(tx desk.Tx) error {
					var err error
					found, err = tx.Tickets(ctx, desk.TicketQuery{Text: word, Limit: 10})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if len(found) != 1 {
					t.Errorf("%q found %d tickets, want 1", word, len(found))
				}
			}
		})
	}
}

// TestWarmUp: on PostgreSQL, WarmUp leaves the pool's connections open and
// idle, ready for the first requests; on SQLite it has nothing to do.
func TestWarmUp(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{URL: storetest.PostgresURL(t), MaxConns: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.WarmUp(ctx); err != nil {
		t.Fatal(err)
	}
	if st := db.SQL().Stats(); st.MaxOpenConnections != 5 || st.OpenConnections != 5 || st.Idle != 5 {
		t.Errorf("pool after WarmUp: %d open, %d idle, at most %d; want 5, 5, 5", st.OpenConnections, st.Idle, st.MaxOpenConnections)
	}
	if err := storetest.OpenSQLite(t).WarmUp(ctx); err != nil {
		t.Errorf("SQLite: %v", err)
	}
}

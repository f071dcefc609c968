package store_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

func TestContractSQLite(t *testing.T) { storetest.Run(t, storetest.OpenSQLite) }

func TestContractPostgres(t *testing.T) { storetest.Run(t, storetest.OpenPostgres) }

// TestTwoProcessesShareNumbers opens two independent stores on one
// database, as two server processes would, and creates tickets from both.
func TestTwoProcessesShareNumbers(t *testing.T) {
	for name, cfg := range map[string]func(t *testing.T) store.Config{
		"sqlite":   func(t *testing.T) store.Config { return store.Config{DataDir: t.TempDir()} },
		"postgres": func(t *testing.T) store.Config { return store.Config{URL: storetest.PostgresURL(t)} },
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg(t)
			var desks []*desk.Desk
			for i := 0; i < 2; i++ {
				db, err := store.Open(context.Background(), c)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				desks = append(desks, storetest.NewDesk(t, db, nil))
			}
			var mu sync.Mutex
			var numbers []string
			var wg sync.WaitGroup
			for i := 0; i < 40; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					k, err := desks[i%2].CreateTicket(context.Background(), desk.SystemActor, desk.NewTicket{Subject: fmt.Sprintf("da %d", i%2)})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					numbers = append(numbers, k.Number)
					mu.Unlock()
				}(i)
			}
			wg.Wait()
			sort.Strings(numbers)
			for i := 1; i < len(numbers); i++ {
				if numbers[i] == numbers[i-1] {
					t.Fatalf("number %s given twice", numbers[i])
				}
			}
			if len(numbers) != 40 {
				t.Fatalf("%d tickets created", len(numbers))
			}
		})
	}
}

// TestViewSurvivesPanics checks that readers that panic give their SQLite
// connection back: more panics than connections, then a normal read.
func TestViewSurvivesPanics(t *testing.T) {
	db := storetest.OpenSQLite(t)
	for i := 0; i < 20; i++ {
		func() {
			defer func() { _ = recover() }()
			_ = db.View(context.Background(), func(desk.Tx) error { panic("boom") })
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := db.View(ctx, func(tx desk.Tx) error {
		_, err := tx.Orgs(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("view after panics: %v", err)
	}
}

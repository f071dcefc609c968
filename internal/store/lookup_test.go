package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestSharedUserLookups: many concurrent look-ups by e-mail in views, of
// people registered and not, each get their own answer, whether or not
// they shared a query (lookup.go), on both engines.
func TestSharedUserLookups(t *testing.T) {
	for engine, open := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := open(t)
			d := storetest.NewDesk(t, db, nil)
			ctx := context.Background()
			ids := map[string]int64{}
			for i := 0; i < 20; i++ {
				email := fmt.Sprintf("cittadino%d@example.it", i)
				u, err := d.EnsureUser(ctx, desk.NewUser{Email: email, Name: fmt.Sprintf("Cittadino %d", i), Role: desk.RoleRequester})
				if err != nil {
					t.Fatal(err)
				}
				ids[email] = u.ID
			}
			const n = 400
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					email := fmt.Sprintf("cittadino%d@example.it", i%40) // half of them unknown
					var u desk.User
					err := db.View(ctx, func(tx desk.Tx) error {
						var err error
						u, err = tx.UserByEmail(ctx, email)
						return err
					})
					want, known := ids[email]
					switch {
					case known && (err != nil || u.ID != want || u.Email != email || u.Name != fmt.Sprintf("Cittadino %d", i%40)):
						errs[i] = fmt.Errorf("%s: got %+v, %v; want id %d", email, u, err, want)
					case !known && !desk.IsNotFound(err):
						errs[i] = fmt.Errorf("%s: got %+v, %v; want not found", email, u, err)
					}
				}(i)
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// gatedStore counts read transactions and, while gate is set, holds each
// one, after it has read, until the gate is closed.
type gatedStore struct {
	*store.DB
	views  atomic.Int64
	mu     sync.Mutex
	gate   chan struct{}
	inside chan struct{} // receives once per held view
}

func (s *gatedStore) View(ctx context.Context, fn func(desk.Tx) error) error {
	s.views.Add(1)
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	err := s.DB.View(ctx, fn)
	if gate != nil {
		s.inside <- struct{}{}
		<-gate
	}
	return err
}

func (s *gatedStore) hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = make(chan struct{})
	gate := s.gate
	return func() {
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(gate)
	}
}

// TestTokenLookups: concurrent requests with a token not yet cached share
// one lookup, and a token revoked while it is being looked up is not
// cached with what was read before.
func TestTokenLookups(t *testing.T) {
	ctx := context.Background()
	s := &gatedStore{DB: storetest.OpenSQLite(t), inside: make(chan struct{}, 64)}
	d := desk.New(desk.Opts{Store: s})
	if err := d.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := d.EnsureUser(ctx, desk.NewUser{Email: "operatore@example.it", Role: desk.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := d.CreateToken(ctx, u.ID, "integrazione", 0)
	if err != nil {
		t.Fatal(err)
	}

	// 32 requests arrive while the first lookup is under way.
	release := s.hold()
	views0 := s.views.Load()
	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var a desk.Actor
			a, errs[i] = d.TokenActor(ctx, tok)
			if errs[i] == nil && a.UserID != u.ID {
				errs[i] = desk.Errorf(desk.EInvalid, "actor %d, want %d", a.UserID, u.ID)
			}
		}(i)
	}
	<-s.inside
	time.Sleep(100 * time.Millisecond) // let the other 31 reach the lookup
	release()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := s.views.Load() - views0; got != 1 {
		t.Errorf("%d token lookups for %d concurrent requests, want 1", got, n)
	}

	// Revoked while a lookup (begun before the revocation) is reading it.
	tok2, _, err := d.CreateToken(ctx, u.ID, "seconda", 0)
	if err != nil {
		t.Fatal(err)
	}
	release = s.hold()
	done := make(chan error, 1)
	go func() {
		_, err := d.TokenActor(ctx, tok2)
		done <- err
	}()
	<-s.inside
	if err := d.RevokeToken(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("lookup that read the token before its revocation: %v", err)
	}
	if _, err := d.TokenActor(ctx, tok2); desk.ErrorCode(err) != desk.EUnauthorized {
		t.Errorf("revoked token after the lookup: %v, want unauthorized", err)
	}
}

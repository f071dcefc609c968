package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/auth"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
)

// BenchmarkPages measures the main pages, rendered in-process by the
// handler (session, desk calls, template) for a signed-in agent and
// requester. By default it runs on a small fresh database; on a large one
// generated with `sportello generate` (docs/performance.md):
//
//	SPORTELLO_BENCH_DATA=/tmp/big SPORTELLO_BENCH_TICKET=2026-… go test -run '^$' -bench Pages ./internal/web/
//
// It adds (or updates) the accounts agente@demo.example.it and
// utente@demo.example.it with the password "sportello" in that database.
func BenchmarkPages(b *testing.B) {
	ctx := context.Background()
	var w *Web
	ticket := os.Getenv("SPORTELLO_BENCH_TICKET")
	if dir := os.Getenv("SPORTELLO_BENCH_DATA"); dir != "" {
		db, err := store.Open(ctx, store.Config{DataDir: dir, URL: os.Getenv("SPORTELLO_BENCH_DATABASE_URL")})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		d := desk.New(desk.Opts{Store: db, Hasher: auth.NewHasher(2)})
		for _, u := range []desk.NewUser{{Email: "agente@demo.example.it", Role: desk.RoleAgent, Password: testPassword},
			{Email: "utente@demo.example.it", Role: desk.RoleRequester, Password: testPassword}} {
			if _, err := d.EnsureUser(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
		if w, err = New(Opts{Desk: d, DB: db, Key: []byte("0123456789abcdef0123456789abcdef")}); err != nil {
			b.Fatal(err)
		}
	} else {
		h := newHarness(b)
		w = h.web
		req := h.actor("utente@example.it")
		var last desk.Ticket
		for i := 0; i < 200; i++ {
			last = h.create(req, desk.NewTicket{Subject: fmt.Sprintf("La stampante %d non stampa", i), Service: "stampanti", Channel: desk.ChannelWeb})
		}
		for i := 0; i < 50; i++ {
			if _, err := h.f.Desk.AddMessage(ctx, h.actor("agente@example.it"), last.Number, desk.NewMessage{Body: fmt.Sprintf("Risposta %d", i)}); err != nil {
				b.Fatal(err)
			}
		}
		ticket = last.Number
		// The harness's accounts under the demo names.
		for _, u := range []desk.NewUser{{Email: "agente@demo.example.it", Role: desk.RoleAgent, Password: testPassword},
			{Email: "utente@demo.example.it", Role: desk.RoleRequester, Password: testPassword}} {
			if _, err := h.f.Desk.EnsureUser(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
	}
	login := func(email string) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"email": {email}, "password": {testPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			b.Fatalf("log-in %s: %d", email, rec.Code)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == SessionCookie {
				return c.Value
			}
		}
		b.Fatal("no session cookie")
		return ""
	}
	agent, requester := login("agente@demo.example.it"), login("utente@demo.example.it")
	pages := []struct{ name, cookie, path string }{
		{"home-anonymous", "", "/"},
		{"workspace-open", agent, "/operatore"},
		{"workspace-queue", agent, "/operatore?coda=sistemi-informativi"},
		{"workspace-search", agent, "/operatore?q=stampante&stato=tutti"},
		{"call-lookup", agent, "/operatore/chiamata?q=0831"},
		{"portal-my-requests", requester, "/richieste"},
	}
	if ticket != "" {
		pages = append(pages, struct{ name, cookie, path string }{"ticket-agent", agent, "/operatore/ticket/" + ticket})
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var size int64
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", p.path, nil)
				if p.cookie != "" {
					req.AddCookie(&http.Cookie{Name: SessionCookie, Value: p.cookie})
				}
				w.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", p.path, rec.Code)
				}
				size, _ = io.Copy(io.Discard, rec.Body)
			}
			b.ReportMetric(float64(size)/1024, "KiB/page")
		})
	}
}

package web

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/auth"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/workflow"
)

// benchUsers are the accounts the benchmark logs in as.
var benchUsers = []desk.NewUser{{Email: "agente@demo.example.it", Role: desk.RoleAgent, Password: testPassword},
	{Email: "utente@demo.example.it", Role: desk.RoleRequester, Password: testPassword},
	{Email: "responsabile@demo.example.it", Role: desk.RoleApprover, Password: testPassword}}

// BenchmarkPages measures the main pages, rendered in-process by the
// handler (session, desk calls, template) for a signed-in agent and
// requester. By default it runs on a small fresh database; on a large one
// generated with `sportello generate` (docs/performance.md):
//
//	SPORTELLO_BENCH_DATA=/tmp/big SPORTELLO_BENCH_TICKET=2026-… go test -run '^$' -bench Pages ./internal/web/
//
// It adds (or updates) the accounts agente@demo.example.it,
// utente@demo.example.it and responsabile@demo.example.it with the
// password "sportello" in that database. Pages are asked for gzip, as
// browsers do: KiB/page is the page's size, gzKiB/page what is sent.
func BenchmarkPages(b *testing.B) {
	ctx := context.Background()
	var w *Web
	ticket := os.Getenv("SPORTELLO_BENCH_TICKET")
	// fieldsUser opens the form of a service with its own fields.
	fieldsUser := "utente@demo.example.it"
	if dir := os.Getenv("SPORTELLO_BENCH_DATA"); dir != "" {
		db, err := store.Open(ctx, store.Config{DataDir: dir, URL: os.Getenv("SPORTELLO_BENCH_DATABASE_URL")})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		d := desk.New(desk.Opts{Store: db, Hasher: auth.NewHasher(2)})
		wf := workflow.New(workflow.Opts{Desk: d})
		d.SetFieldChecker(wf.CheckFields)
		for _, u := range benchUsers {
			if _, err := d.EnsureUser(ctx, u); err != nil {
				b.Fatal(err)
			}
		}
		if w, err = New(Opts{Desk: d, DB: db, Key: []byte("0123456789abcdef0123456789abcdef"), Workflow: wf}); err != nil {
			b.Fatal(err)
		}
	} else {
		h, _ := newWorkflowHarness(b)
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
		fieldsUser = "mario.rossi@provincia.brindisi.it" // of the Province, whose catalogue has fields
		// The harness's accounts under the demo names.
		for _, u := range benchUsers {
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
	agent, requester, approver := login("agente@demo.example.it"), login("utente@demo.example.it"), login("responsabile@demo.example.it")
	pages := []struct{ name, cookie, path string }{
		{"home-anonymous", "", "/"},
		{"workspace-open", agent, "/operatore"},
		{"workspace-mine", agent, "/operatore?assegnatario=me"},
		{"workspace-queue", agent, "/operatore?coda=sistemi-informativi"},
		{"workspace-priority", agent, "/operatore?ordine=priorita"},
		{"workspace-updated", agent, "/operatore?ordine=aggiornati"},
		{"workspace-oldest", agent, "/operatore?ordine=meno-recenti"},
		{"workspace-search", agent, "/operatore?q=stampante&stato=tutti"},
		{"call-lookup", agent, "/operatore/chiamata?q=0831"},
		{"approvals", approver, "/operatore/approvazioni"},
		{"portal-my-requests", requester, "/richieste"},
	}
	// The form of the first service (by code) with its own fields.
	var fu desk.User
	err := w.desk.Store().View(ctx, func(tx desk.Tx) error {
		var err error
		fu, err = tx.UserByEmail(ctx, fieldsUser)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	if defs, err := w.workflow.ServiceFields(ctx, desk.ActorFor(fu)); err == nil && len(defs) > 0 {
		codes := slices.Sorted(maps.Keys(defs))
		pages = append(pages, struct{ name, cookie, path string }{"portal-new-request-fields", login(fieldsUser), "/richieste/nuova?servizio=" + codes[0]})
	}
	if ticket != "" {
		pages = append(pages, struct{ name, cookie, path string }{"ticket-agent", agent, "/operatore/ticket/" + ticket})
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var wire int
			var rec *httptest.ResponseRecorder
			b.ReportAllocs()
			for b.Loop() {
				rec = httptest.NewRecorder()
				req := httptest.NewRequest("GET", p.path, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				if p.cookie != "" {
					req.AddCookie(&http.Cookie{Name: SessionCookie, Value: p.cookie})
				}
				w.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", p.path, rec.Code)
				}
				wire = rec.Body.Len()
			}
			// What the browser downloads after the first visit: the page
			// only (assets are cached for a year under hashed URLs),
			// compressed; and its size once decompressed.
			raw := int64(wire)
			if rec.Header().Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					b.Fatal(err)
				}
				raw, _ = io.Copy(io.Discard, zr)
			}
			b.ReportMetric(float64(raw)/1024, "KiB/page")
			b.ReportMetric(float64(wire)/1024, "gzKiB/page")
		})
	}
}

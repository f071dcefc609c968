package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/app"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/web"
)

// demoServer loads the demo on an engine and serves the whole product.
func demoServer(t *testing.T, engine string) (*app.App, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	cfg := app.Config{DataDir: t.TempDir()}
	t.Setenv("SPORTELLO_DATABASE_URL", "")
	t.Setenv("SPORTELLO_SECRET_KEY", "")
	if engine == "postgres" {
		cfg.DatabaseURL = storetest.PostgresURL(t)
	}
	a, err := app.Open(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := loadDemo(ctx, a, 30, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	if err := wire(ctx, a); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return a, srv
}

type browser struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
	tok string
}

func newBrowser(t *testing.T, srv *httptest.Server, email string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, srv: srv, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if email != "" {
		res := b.do("POST", "/login", url.Values{"email": {email}, "password": {demoPassword}}.Encode(), "application/x-www-form-urlencoded")
		if res.code != http.StatusSeeOther {
			t.Fatalf("log-in as %s: %d", email, res.code)
		}
	}
	return b
}

type result struct {
	code int
	hdr  http.Header
	body string
}

func (b *browser) do(method, path, body, ctype string) result {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if b.tok != "" {
		req.Header.Set("Authorization", "Bearer "+b.tok)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") == "text/event-stream" {
		return result{res.StatusCode, res.Header, ""} // a live stream: headers are what matter
	}
	raw, _ := io.ReadAll(res.Body)
	return result{res.StatusCode, res.Header, string(raw)}
}

// prefectureTickets returns the numbers and subjects of an organisation's tickets.
func prefectureTickets(t *testing.T, a *app.App, org string) (numbers, subjects []string) {
	t.Helper()
	ctx := context.Background()
	err := a.DB.View(ctx, func(tx desk.Tx) error {
		o, err := tx.OrgByCode(ctx, org)
		if err != nil {
			return err
		}
		ts, err := tx.Tickets(ctx, desk.TicketQuery{OrgID: o.ID, Limit: 100})
		for _, k := range ts {
			numbers, subjects = append(numbers, k.Number), append(subjects, k.Subject)
		}
		return err
	})
	if err != nil || len(numbers) == 0 {
		t.Fatalf("tickets of %s: %v %v", org, numbers, err)
	}
	return numbers, subjects
}

// TestDemoPrefecturesKeptApart is the "done when": a demo agent of
// one prefecture cannot see another's tickets in any page or API call.
func TestDemoPrefecturesKeptApart(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-product test")
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			a, srv := demoServer(t, engine)
			ctx := context.Background()
			feNums, feSubjects := prefectureTickets(t, a, "prefettura-ferrara")
			boNums, boSubjects := prefectureTickets(t, a, "prefettura-bologna")
			check := func(who string, mine, theirs, theirSubjects []string, mySubjects []string) {
				b := newBrowser(t, srv, who)
				cli := newBrowser(t, srv, "")
				u, err := userByEmail(ctx, a, who)
				if err != nil {
					t.Fatal(err)
				}
				if cli.tok, _, err = a.Desk.CreateToken(ctx, u.ID, "test", 0); err != nil {
					t.Fatal(err)
				}
				noLeak := func(what string, body string) {
					for _, s := range theirSubjects {
						if strings.Contains(body, s) {
							t.Errorf("%s: %s shows %q of the other prefecture", who, what, s)
						}
					}
				}
				// Lists and searches show their own tickets only.
				for _, p := range []string{"/operatore?stato=tutti", "/operatore?stato=tutti&q=BDNA", "/richieste"} {
					res := b.do("GET", p, "", "")
					if res.code != 200 {
						t.Errorf("%s %s: %d", who, p, res.code)
					}
					noLeak(p, res.body)
				}
				if res := b.do("GET", "/operatore?stato=tutti", "", ""); !strings.Contains(res.body, mySubjects[0]) {
					t.Errorf("%s does not see their own prefecture's tickets", who)
				}
				for _, p := range []string{"/api/v1/tickets?limit=200", "/api/v1/tickets?q=BDNA", "/api/v1/organisations", "/api/v1/users?q=comune"} {
					res := cli.do("GET", p, "", "")
					if res.code != 200 {
						t.Errorf("%s %s: %d", who, p, res.code)
					}
					noLeak(p, res.body)
				}
				if res := cli.do("GET", "/api/v1/tickets?limit=200", "", ""); !strings.Contains(res.body, mine[0]) {
					t.Errorf("%s: own tickets missing from the API list", who)
				}
				// Every ticket route, page and API, on every ticket of the other prefecture.
				var pages []string
				w, err := web.New(web.Opts{Desk: a.Desk, DB: a.DB, Key: a.Key})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range w.Routes() {
					if strings.Contains(r, "{number}") {
						pages = append(pages, r)
					}
				}
				for _, num := range theirs {
					for _, r := range pages {
						method, path, _ := strings.Cut(r, " ")
						path = strings.NewReplacer("{number}", num, "{id}", "1", "{action}", "approva").Replace(path)
						res := b.do(method, path, "body=x&to=open&priority=high", "application/x-www-form-urlencoded")
						if res.code != 403 && res.code != 404 {
							t.Errorf("%s %s %s: %d", who, method, path, res.code)
						}
						noLeak(path, res.body)
					}
					for _, r := range api.New(api.Opts{}).Routes() {
						if !strings.Contains(r.Path, "{number}") {
							continue
						}
						path := strings.NewReplacer("{number}", num, "{id}", "1", "{code}", "intervento").Replace(r.Path)
						body := ""
						if r.Method != "GET" {
							body = `{}`
						}
						res := cli.do(r.Method, path, body, "application/json")
						// A body the route cannot use is refused before anything
						// is looked up (400); anything else must be 403 or 404.
						if res.code != 403 && res.code != 404 && !(r.Method != "GET" && res.code == 400) {
							t.Errorf("%s %s %s: %d %s", who, r.Method, path, res.code, res.body)
						}
						noLeak(path, res.body)
					}
				}
				// Nothing of theirs changed.
				for _, num := range theirs {
					k, err := a.Desk.Ticket(ctx, desk.SystemActor, num)
					if err != nil || k.Status != desk.StatusNew || k.Priority != desk.PriorityNormal {
						t.Errorf("%s changed %s: %+v %v", who, num, k.Status, err)
					}
				}
			}
			check("agente.ferrara@demo.example.it", feNums, boNums, boSubjects, feSubjects)
			check("agente.bologna@demo.example.it", boNums, feNums, feSubjects, boSubjects)
			// The national operator sees both, each with its prefecture named.
			op := newBrowser(t, srv, "operatore.bdna@demo.example.it")
			if res := op.do("GET", "/operatore?stato=tutti", "", ""); !strings.Contains(res.body, "Prefettura di Ferrara") || !strings.Contains(res.body, "Prefettura di Bologna") {
				t.Errorf("the national operator's list does not name both prefectures")
			}
			for _, n := range []string{feNums[0], boNums[0]} {
				if res := op.do("GET", "/operatore/ticket/"+n, "", ""); res.code != 200 {
					t.Errorf("the national operator opening %s: %d", n, res.code)
				}
			}
			// The ministry's administrator sees both.
			m := newBrowser(t, srv, "admin.ministero@demo.example.it")
			res := m.do("GET", "/operatore/ticket/"+feNums[0], "", "")
			res2 := m.do("GET", "/operatore/ticket/"+boNums[0], "", "")
			if res.code != 200 || res2.code != 200 {
				t.Errorf("ministry admin: %d %d", res.code, res2.code)
			}
		})
	}
}

// TestSecurityHeadersOnEveryPage scans every page route (and the other
// surfaces) anonymously and signed in.
func TestSecurityHeadersOnEveryPage(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-product test")
	}
	a, srv := demoServer(t, "sqlite")
	feNums, _ := prefectureTickets(t, a, "prefettura-ferrara")
	w, err := web.New(web.Opts{Desk: a.Desk, DB: a.DB, Key: a.Key})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/healthz", "/metrics", "/api/v1/openapi.json", "/api/v1/me", "/trasparenza/procedimenti",
		"/trasparenza/procedimenti.json", "/trasparenza/procedimenti.csv", "/nessuna-pagina"}
	for _, r := range w.Routes() {
		method, path, ok := strings.Cut(r, " ")
		if !ok || method != "GET" {
			continue
		}
		paths = append(paths, strings.NewReplacer("{$}", "", "{number}", feNums[0], "{id}", "1", "{lang}", "it").Replace(path))
	}
	clients := map[string]*browser{"anonymous": newBrowser(t, srv, ""), "agent": newBrowser(t, srv, "agente.ferrara@demo.example.it"),
		"admin": newBrowser(t, srv, "admin@demo.example.it")}
	n := 0
	for who, b := range clients {
		for _, p := range paths {
			if strings.HasSuffix(p, "/aggiornamenti") {
				p += "?v=x"
			}
			res := b.do("GET", p, "", "")
			n++
			csp := res.hdr.Get("Content-Security-Policy")
			problems := []string{}
			if res.hdr.Get("X-Content-Type-Options") != "nosniff" {
				problems = append(problems, "nosniff")
			}
			if res.hdr.Get("X-Frame-Options") != "DENY" {
				problems = append(problems, "X-Frame-Options")
			}
			if rp := res.hdr.Get("Referrer-Policy"); rp != "same-origin" && rp != "no-referrer" && rp != "strict-origin-when-cross-origin" {
				problems = append(problems, "Referrer-Policy "+rp)
			}
			if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") ||
				!(strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "default-src 'none'")) {
				problems = append(problems, "CSP "+csp)
			}
			if strings.HasPrefix(res.hdr.Get("Content-Type"), "text/html") && (strings.Contains(res.body, "<script>") || strings.Contains(res.body, " onclick=")) {
				problems = append(problems, "inline script")
			}
			for _, ck := range res.hdr.Values("Set-Cookie") {
				if strings.HasPrefix(ck, web.SessionCookie+"=") && (!strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax")) {
					problems = append(problems, "cookie "+ck)
				}
			}
			if len(problems) > 0 {
				t.Errorf("%s GET %s (%d): %s", who, p, res.code, strings.Join(problems, "; "))
			}
		}
	}
	if n < 60 {
		t.Fatalf("only %d responses scanned", n)
	}
}

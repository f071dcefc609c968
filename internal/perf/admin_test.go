package perf

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	"github.com/sportello/sportello/internal/app"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/loadgen"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/web"
)

// BenchmarkAdmin measures the administration pages and the dashboard on a
// large database generated beforehand with `sportello generate` (see
// docs/performance.md), signed in as an installation administrator:
//
//	SPORTELLO_BENCH_DATA=/tmp/big go test -run XXX -bench Admin -benchtime 50x ./internal/perf
//
// The dashboard reads the aggregates of migration 0090 (stat_open,
// stat_daily), never the tickets; lists are paged by id.
func BenchmarkAdmin(b *testing.B) {
	dir := os.Getenv("SPORTELLO_BENCH_DATA")
	if dir == "" {
		b.Skip("SPORTELLO_BENCH_DATA not set: generate a database first (docs/performance.md)")
	}
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{DataDir: dir, DatabaseURL: os.Getenv("SPORTELLO_BENCH_DATABASE_URL")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	const pass = "bench-password"
	if _, err := a.Desk.EnsureUser(ctx, desk.NewUser{Email: "admin-bench@demo.example.it", Role: desk.RoleAdmin, InstallationAdmin: true, Password: pass}); err != nil {
		b.Fatal(err)
	}
	ma, err := mail.NewAdmin(a.Desk, a.Key)
	if err != nil {
		b.Fatal(err)
	}
	w, err := web.New(web.Opts{Desk: a.Desk, DB: a.DB, Key: a.Key, Workflow: a.Workflow, Mail: ma, Catalogue: a.Workflow})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	srv := httptest.NewServer(w)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(srv.URL+"/login", url.Values{"email": {"admin-bench@demo.example.it"}, "password": {pass}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.Fatalf("log-in: %d", res.StatusCode)
	}
	paths := map[string]string{
		"dashboard-7":      "/admin",
		"dashboard-30":     "/admin?giorni=30",
		"dashboard-csv":    "/admin/cruscotto.csv?grafico=trend",
		"users":            "/admin/utenti",
		"queues":           "/admin/code",
		"services":         "/admin/servizi",
		"mailboxes":        "/admin/caselle",
		"rules":            "/admin/regole",
		"mail-log":         "/admin/posta",
		"audit":            "/admin/registro",
		"audit-login-only": "/admin/registro?azione=login.",
	}
	for name, path := range paths {
		b.Run(name, func(b *testing.B) {
			b.ResetTimer()
			res := loadgen.Run(ctx, loadgen.Opts{Clients: 1, Requests: b.N, Do: func(ctx context.Context, _, _ int) error {
				req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
				return loadgen.Check(c, req, 200)
			}})
			if res.Errors > 0 {
				b.Fatal(res.FirstError)
			}
			b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(res.P95.Microseconds())/1000, "p95-ms")
		})
	}
}

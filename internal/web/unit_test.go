package web

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestSessionStore runs the session store on every engine: SQLite always,
// PostgreSQL when SPORTELLO_TEST_DATABASE_URL is set (always in CI).
func TestSessionStore(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			s := &sessionStore{db: db, key: []byte("k1-0123456789abcdef")}
			if _, ok, err := s.FindCtx(ctx, "nessuno"); ok || err != nil {
				t.Fatalf("find missing: %v %v", ok, err)
			}
			exp := time.Now().Add(time.Hour)
			if err := s.CommitCtx(ctx, "tok", []byte("uno"), exp); err != nil {
				t.Fatal(err)
			}
			if b, ok, err := s.FindCtx(ctx, "tok"); !ok || err != nil || string(b) != "uno" {
				t.Fatalf("find: %q %v %v", b, ok, err)
			}
			// Commit replaces data and expiry.
			if err := s.CommitCtx(ctx, "tok", []byte("due"), exp); err != nil {
				t.Fatal(err)
			}
			if b, _, _ := s.FindCtx(ctx, "tok"); string(b) != "due" {
				t.Fatalf("after update: %q", b)
			}
			// Another key cannot read it: the stored key is an HMAC.
			other := &sessionStore{db: db, key: []byte("k2-0123456789abcdef")}
			if _, ok, _ := other.FindCtx(ctx, "tok"); ok {
				t.Error("a store with another key found the session")
			}
			// Expired sessions are not found and are purged.
			if err := s.CommitCtx(ctx, "old", []byte("x"), time.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := s.FindCtx(ctx, "old"); ok {
				t.Error("expired session found")
			}
			if err := db.PurgeSessions(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM web_sessions").Scan(&n); err != nil || n != 1 {
				t.Errorf("%d sessions after purge (%v)", n, err)
			}
			if err := s.DeleteCtx(ctx, "tok"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteCtx(ctx, "tok"); err != nil {
				t.Errorf("deleting a missing session: %v", err)
			}
			if _, ok, _ := s.FindCtx(ctx, "tok"); ok {
				t.Error("deleted session found")
			}
		})
	}
}

func TestSanitizeMailHTML(t *testing.T) {
	hostile := `<p onclick="x()">Buongiorno <b>Mario</b>,</p>
<script>alert(1)</script><style>body{display:none}</style>
<img src="https://tracker.example/pixel.gif" alt="logo">
<img src="data:image/png;base64,iVBORw0KGgo=" alt="firma">
<a href="javascript:alert(2)">clic</a> <a href="https://example.org/">sito</a>
<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input name="p"></form>
<div style="background:url(https://tracker.example/bg)">stile</div>`
	clean, remote := SanitizeMailHTML(hostile, false)
	if !remote {
		t.Error("remote image not reported")
	}
	for _, bad := range []string{"<script", "alert(", "onclick", "<style", "tracker.example", "javascript:", "<iframe", "<form", "style="} {
		if strings.Contains(clean, bad) {
			t.Errorf("sanitised HTML contains %q:\n%s", bad, clean)
		}
	}
	for _, good := range []string{"<b>Mario</b>", "[logo]", `src="data:image/png;base64,`, `href="https://example.org/"`, "noreferrer", "stile"} {
		if !strings.Contains(clean, good) {
			t.Errorf("sanitised HTML lacks %q:\n%s", good, clean)
		}
	}
	// Asked for: the remote image stays, nothing else changes.
	shown, _ := SanitizeMailHTML(hostile, true)
	mustContain(t, shown, `<img src="https://tracker.example/pixel.gif" alt="logo"/>`)
	for _, bad := range []string{"<script", "onclick", "javascript:", "<iframe", "background:url"} {
		if strings.Contains(shown, bad) {
			t.Errorf("HTML with images contains %q", bad)
		}
	}
	if _, remote := SanitizeMailHTML("<p>solo testo</p>", false); remote {
		t.Error("remote images reported for plain text")
	}
	for _, images := range []bool{false, true} {
		csp := mailFrameCSP(images)
		mustContain(t, csp, "sandbox allow-popups", "default-src 'none'", "frame-ancestors 'self'")
		if strings.Contains(csp, "allow-scripts") || strings.Contains(csp, "allow-same-origin") || strings.Contains(csp, "script-src") {
			t.Errorf("frame CSP allows scripts or the page's origin: %s", csp)
		}
		if strings.Contains(csp, "https:") != images {
			t.Errorf("images %v, CSP %s", images, csp)
		}
	}
}

// TestCatalogue checks the translations: every key has both languages with
// the same format verbs, and every key a template or the Go code uses
// exists.
func TestCatalogue(t *testing.T) {
	verbs := regexp.MustCompile(`%[a-z]`)
	for _, k := range catalogueKeys() {
		tx := catalogue[k]
		if tx.it == "" || tx.en == "" {
			t.Errorf("%s: missing a language", k)
		}
		if a, b := verbs.FindAllString(tx.it, -1), verbs.FindAllString(tx.en, -1); strings.Join(a, "") != strings.Join(b, "") {
			t.Errorf("%s: verbs %v in Italian, %v in English", k, a, b)
		}
	}
	used := map[string]bool{}
	tmplKey := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	fsys := (&Web{}).templateFS()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(used) < 100 {
		t.Fatalf("only %d keys found in templates", len(used))
	}
	for k := range used {
		if _, ok := catalogue[k]; !ok {
			t.Errorf("template key %q missing from the catalogue", k)
		}
	}
	// Keys built from identifiers.
	for _, group := range [][]string{
		{"status.new", "status.open", "status.waiting_requester", "status.waiting_supplier", "status.resolved", "status.closed", "status.cancelled", "status.redirected"},
		{"priority.low", "priority.normal", "priority.high", "priority.urgent"},
		{"channel.web", "channel.email", "channel.pec", "channel.phone", "channel.in_person", "channel.api"},
	} {
		for _, k := range group {
			if _, ok := catalogue[k]; !ok {
				t.Errorf("%s missing", k)
			}
		}
	}
	if got := translate("en", "call.created", "2026-000001"); got != "Ticket 2026-000001 registered." {
		t.Errorf("translate: %q", got)
	}
	if got := translate("it", "nope"); got != "⟦nope⟧" {
		t.Errorf("missing key: %q", got)
	}
}

// TestTemplatesCheckedAtStartUp makes sure a broken template stops New.
func TestTemplatesCheckedAtStartUp(t *testing.T) {
	if _, err := loadTemplates((&Web{}).templateFS()); err != nil {
		t.Fatal(err)
	}
	bad := fstest.MapFS{
		"layout.html":     {Data: []byte(`{{ define "layout" }}{{ template "main" . }}{{ end }}`)},
		"partials/p.html": {Data: []byte(``)},
		"pages/x.html":    {Data: []byte(`{{ define "main" }}{{ .Nope }`)},
	}
	if _, err := loadTemplates(bad); err == nil {
		t.Error("a broken template was accepted")
	}
}

// TestDevTemplatesFromDisk: with Dev, an edited template shows at the next
// request, without a restart.
func TestDevTemplatesFromDisk(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, (&Web{}).templateFS()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Opts) { o.Dev, o.TemplateDir = true, dir })
	c := h.client()
	mustContain(t, c.get("/login").Body, "Accedi al servizio")
	p := filepath.Join(dir, "pages", "login.html")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), `{{ .T "login.heading" }}`, "Modificato a caldo", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustContain(t, c.get("/login").Body, "Modificato a caldo")
}

// TestConflictMessages: a conflict on a field with its own message says
// why (a refused change of service); any other keeps the general one.
func TestConflictMessages(t *testing.T) {
	for _, c := range []struct {
		field, lang, want string
	}{
		{"service", "it", "Il servizio non si può più cambiare"},
		{"service", "en", "The service can no longer change"},
		{"", "it", "L'operazione non è possibile"},
		{"queue", "en", "This is not possible in the ticket's current state."},
	} {
		field, msg, ok := formError(c.lang, &desk.Error{Code: desk.EConflict, Field: c.field, Message: "x"})
		if !ok || field != c.field || !strings.HasPrefix(msg, c.want) {
			t.Errorf("%q/%s: %q %q %v, want a message starting %q", c.field, c.lang, field, msg, ok, c.want)
		}
	}
}

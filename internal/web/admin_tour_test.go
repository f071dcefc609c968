package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/browsertest"
)

// TestScreenshotTourAdmin photographs the administration pages of a
// running server loaded with the demo data, for docs/admin.md. It runs only
// when asked, like TestScreenshotTour:
//
//	sportello demo --data /tmp/demo && sportello serve --data /tmp/demo --addr 127.0.0.1:18080 &
//	SPORTELLO_TOUR_URL=http://127.0.0.1:18080 go test -run TestScreenshotTourAdmin ./internal/web/
func TestScreenshotTourAdmin(t *testing.T) {
	base := strings.TrimRight(os.Getenv("SPORTELLO_TOUR_URL"), "/")
	if base == "" {
		t.Skip("SPORTELLO_TOUR_URL not set (see the comment of TestScreenshotTourAdmin)")
	}
	dir := os.Getenv("SPORTELLO_TOUR_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "docs", "screenshots")
	}
	b := browsertest.New(t)
	open := func(path string) {
		t.Helper()
		if st := b.Navigate(base + path); st != http.StatusOK {
			t.Fatalf("%s: %d", path, st)
		}
	}
	shot := func(name string) {
		t.Helper()
		b.AssertNoSeriousViolations("")
		b.Screenshot(filepath.Join(dir, name+".png"))
	}
	open("/login")
	b.FillLabel("Indirizzo e-mail", "admin@demo.example.it")
	b.FillLabel("Password", "sportello")
	b.Submit("form#login")
	// Connect the national desk's mailbox (the demo has none): the
	// reader's error shows in the mailbox's health when no server answers.
	open("/admin/caselle")
	b.FillLabel("Indirizzo", "assistenza@desk.example.it")
	b.Fill("#ente", "ministero-interno-dippp")
	b.FillLabel("Server IMAP", "imap://desk@127.0.0.1:1143/INBOX")
	b.FillLabel("Password IMAP", "demo")
	b.FillLabel("Server SMTP", "smtp://127.0.0.1:1587")
	b.Submit(`form[action="/admin/caselle"]`)
	for _, p := range []struct{ path, name string }{
		{"/admin", "admin-dashboard"},
		{"/admin/utenti", "admin-users"},
		{"/admin/caselle", "admin-mailboxes"},
		{"/admin/regole?ente=ministero-interno-dippp", "admin-rules"},
		{"/admin/uffici", "admin-offices"},
		{"/admin/posta", "admin-maillog"},
		{"/admin/registro", "admin-audit"},
		{"/admin/dati-personali?persona=utente@demo.example.it", "admin-personal-data"},
	} {
		open(p.path)
		shot(p.name)
	}
}

package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/browsertest"
)

// TestScreenshotTour photographs the main pages of a running server loaded
// with the demo data, for docs/screenshots. It runs only when asked:
//
//	sportello demo --data /tmp/demo && sportello serve --data /tmp/demo --addr 127.0.0.1:18080 &
//	SPORTELLO_TOUR_URL=http://127.0.0.1:18080 go test -run TestScreenshotTour ./internal/web/
//
// The pictures go to SPORTELLO_TOUR_DIR (default docs/screenshots of the
// repository). Every page is also checked with axe.
func TestScreenshotTour(t *testing.T) {
	base := strings.TrimRight(os.Getenv("SPORTELLO_TOUR_URL"), "/")
	if base == "" {
		t.Skip("SPORTELLO_TOUR_URL not set (see the comment of TestScreenshotTour)")
	}
	dir := os.Getenv("SPORTELLO_TOUR_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "docs", "screenshots")
	}
	b := browsertest.New(t)
	shot := func(name string) {
		t.Helper()
		b.AssertNoSeriousViolations("")
		b.Screenshot(filepath.Join(dir, name+".png"))
	}
	open := func(path string) {
		t.Helper()
		if st := b.Navigate(base + path); st != http.StatusOK {
			t.Fatalf("%s: %d", path, st)
		}
	}
	login := func(email string) {
		t.Helper()
		open("/login")
		b.FillLabel("Indirizzo e-mail", email)
		b.FillLabel("Password", "sportello")
		b.Submit("form#login")
	}

	open("/")
	shot("portal-home")
	open("/login")
	shot("login")
	open("/accessibilita")
	shot("accessibility")

	login("utente@demo.example.it")
	shot("portal-my-requests")
	open("/richieste/nuova")
	shot("portal-choose-service")
	first := browsertest.Eval[string](b, `document.querySelector(".sp-service").getAttribute("href")`)
	open(first)
	shot("portal-new-request")
	open("/richieste/nuova?servizio=sicurezza-informatica")
	shot("portal-new-request-fields")
	open("/richieste")
	if href := browsertest.Eval[string](b, `(document.querySelector("table a[href^='/richieste/']")||{}).getAttribute?.("href") || ""`); href != "" {
		open(href)
		shot("portal-request")
	}
	b.Submit(`header form[action="/logout"] button`)

	login("agente@demo.example.it")
	shot("workspace")
	b.Press("j")
	b.Press("j")
	b.Press("\r")
	b.WaitVisible("#ticket-number")
	shot("agent-ticket")
	// A saved view of the agent's own tickets, most urgent first.
	open("/operatore?assegnatario=me&ordine=priorita")
	if b.Count(`#saved-views a[href="/operatore?assegnatario=me&ordine=priorita"]`) == 0 {
		b.Click("details.sp-save-view summary")
		b.FillLabel("Nome della vista", "Miei per priorità")
		b.Submit("#save-view")
	}
	shot("workspace-saved-view")
	open("/operatore?q=firewall&stato=tutti")
	if href := browsertest.Eval[string](b, `(document.querySelector("a[data-sp-item-link]")||{}).getAttribute?.("href") || ""`); href != "" {
		open(href)
		shot("agent-ticket-fields")
	}
	open("/operatore/chiamata")
	b.FillLabel("Cerca per telefono, e-mail o nome", "utente")
	b.WaitVisible(`#caller-results fieldset, #caller-results [role="status"]`)
	shot("phone-registration")
	open("/lingua/en?next=/operatore")
	shot("workspace-en")
	open("/lingua/it?next=/")
	b.Submit(`header form[action="/logout"] button`)

	login("responsabile@demo.example.it")
	open("/operatore/approvazioni")
	shot("approvals")
}

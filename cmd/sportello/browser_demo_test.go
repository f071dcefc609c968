package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/browsertest"
	"github.com/sportello/sportello/internal/web/static"
)

// TestDemoScenariosInTheBrowser runs what a new user does after the
// README's first command, in Chromium against the real server loaded with
// `sportello demo`: scenario 6 (the demo agent registers a phone call from
// Maria Colucci, found by part of her number, for a printer, with the
// service's own fields) and scenario 7 on that ticket (the IT manager
// finds it in the list waiting for approval and accepts it; the agent
// takes it, works it on site, calls the supplier with their reference and
// resolves it with the cause; the employee confirms and it is closed).
// axe runs on every page.
func TestDemoScenariosInTheBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-product browser test")
	}
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	if m := assets.Missing(); len(m) > 0 {
		browsertest.Unavailable(t, "vendored assets missing (run scripts/assets.sh): %v", m)
	}
	b := browsertest.New(t)
	data := t.TempDir()
	t.Setenv("SPORTELLO_DATABASE_URL", "")
	t.Setenv("SPORTELLO_SECRET_KEY", "")
	if code, out, errOut := sportello(t, "demo", "--data", data, "--tickets", "20"); code != 0 {
		t.Fatalf("demo: %d\n%s\n%s", code, out, errOut)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		var o, e bytes.Buffer
		done <- run(ctx, []string{"serve", "--data", data, "--addr", addr}, &o, &e)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not shut down")
		}
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := http.Get(base + "/healthz")
		if err == nil && res.StatusCode == 200 {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server never became healthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	open := func(path string) {
		t.Helper()
		if st := b.Navigate(base + path); st != http.StatusOK {
			t.Fatalf("GET %s: %d", path, st)
		}
		b.AssertNoSeriousViolations("")
	}
	login := func(email string) {
		t.Helper()
		open("/login")
		b.FillLabel("Indirizzo e-mail", email)
		b.FillLabel("Password", "sportello")
		if st := b.Submit("form#login"); st != http.StatusOK {
			t.Fatalf("log-in %s: %d", email, st)
		}
	}
	logout := func() {
		t.Helper()
		if st := b.Submit(`header form[action="/logout"] button`); st != http.StatusOK {
			t.Fatalf("log-out: %d", st)
		}
	}

	// Scenario 6.
	login("agente@demo.example.it")
	open("/operatore/chiamata")
	b.FillLabel("Cerca per telefono, e-mail o nome", "565400")
	pick := `#caller-results input[value="utente@demo.example.it"] + label`
	b.WaitVisible(pick)
	b.Click(pick)
	b.FillLabel("Servizio", "Installazione e configurazione dispositivi hardware (stampanti di rete, stampanti locali, fotocopiatori) ed aggiornamento sito web")
	b.FillLabel("Oggetto", "Fotocopiatore del secondo piano guasto")
	b.Fill("#f-dispositivi-hardware-sito-web-dispositivo", "Fotocopiatore")
	b.Fill("#f-dispositivi-hardware-sito-web-ubicazione", "Settore Ragioneria, secondo piano")
	b.AssertNoSeriousViolations("")
	if st := b.Submit("#register"); st != http.StatusOK {
		t.Fatalf("register: %d", st)
	}
	number := b.Text("#ticket-number")
	page := "/operatore/ticket/" + number
	if txt := b.Text(".sp-field-values"); !strings.Contains(txt, "Fotocopiatore") {
		t.Errorf("fields on the ticket: %q", txt)
	}
	b.AssertNoSeriousViolations("")
	logout()

	// Scenario 7: acceptance by the IT manager, from their list.
	login("responsabile@demo.example.it")
	open("/operatore/approvazioni")
	if st := b.ClickAndWait(`a[href^="` + page + `"]`); st != http.StatusOK {
		t.Fatalf("open from the approvals list: %d", st)
	}
	b.FillLabel("Motivazione della decisione", "Intervento autorizzato")
	b.Submit(`#approve-form button.btn-success`)
	logout()

	// The collaborator works it: on site, then the supplier.
	login("agente@demo.example.it")
	open(page)
	b.Submit(`#assign-me`)
	b.Submit(`#phase-form button[type="submit"]`)
	b.Click(`details:has(#supplier-form) summary`)
	b.FillLabel("Fornitore", "Copiatrici Salento s.r.l.")
	b.FillLabel("Riferimento del fornitore", "TT-2026-4471")
	b.Submit(`#supplier-form button[type="submit"]`)
	b.FillLabel("Soluzione del fornitore Copiatrici Salento s.r.l.", "Fusore sostituito")
	b.Submit(`#supplier-resolved-form button`)
	b.FillLabel("Nuovo stato", "Risolto")
	b.FillLabel("Categoria", "Hardware")
	b.FillLabel("Descrizione della causa", "Gruppo fusore guasto")
	if st := b.Submit(`#status-form button[type="submit"]`); st != http.StatusOK {
		t.Fatalf("resolve: %d", st)
	}
	b.AssertNoSeriousViolations("")
	hist := b.Text(".sp-timeline")
	for _, want := range []string{"Intervento autorizzato", "TT-2026-4471", "Fusore sostituito"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	logout()

	// The employee confirms.
	login("utente@demo.example.it")
	open("/richieste/" + number)
	if st := b.Submit("#confirm button"); st != http.StatusOK {
		t.Fatalf("confirm: %d", st)
	}
	if got := b.Text("dl.sp-facts .badge"); got != "Chiuso" {
		t.Errorf("status after confirmation %q", got)
	}
	b.AssertNoSeriousViolations("")
	for _, e := range b.ConsoleErrors() {
		t.Errorf("browser console error: %s", e)
	}
}

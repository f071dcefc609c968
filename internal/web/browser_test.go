package web

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/browsertest"
	"github.com/sportello/sportello/internal/desk"
)

// Forms are sent with Browser.Submit (requestSubmit with the button as
// submitter, as a click does): chromedp's click-and-wait sometimes misses
// a post that redirects back to the same URL, although the browser does
// navigate. Links are followed with ClickAndWait.
//
// Browser tests drive Debian's Chromium through internal/browsertest: they
// skip on a laptop without it and fail in CI. Each test function shares one
// browser. Every page visited is checked with axe-core (no serious or
// critical WCAG 2.1 AA violation) and for console errors (CSP violations
// included). With SPORTELLO_SCREENSHOTS=<dir> the screenshots are kept.

// needAssets skips (or fails in CI) when the vendored assets are missing:
// the pages would be unstyled and axe's contrast checks meaningless.
func needAssets(t *testing.T, h *harness) {
	t.Helper()
	if m := h.web.assets.Missing(); len(m) > 0 {
		browsertest.Unavailable(t, "vendored assets missing (run scripts/assets.sh): %v", m)
	}
}

type tour struct {
	t    *testing.T
	b    *browsertest.Browser
	base string
	dir  string
}

func newTour(t *testing.T, h *harness) *tour {
	needAssets(t, h)
	b := browsertest.New(t)
	return &tour{t: t, b: b, base: h.srv.URL, dir: t.TempDir()}
}

// check runs axe on the current page and keeps a screenshot named name.
func (tr *tour) check(name string) {
	tr.t.Helper()
	tr.b.AssertNoSeriousViolations("")
	if name != "" {
		tr.b.Screenshot(filepath.Join(tr.dir, name+".png"))
	}
}

func (tr *tour) open(path string) {
	tr.t.Helper()
	if st := tr.b.Navigate(tr.base + path); st != http.StatusOK {
		tr.t.Fatalf("GET %s: status %d", path, st)
	}
}

func (tr *tour) login(email string) {
	tr.t.Helper()
	tr.open("/login")
	tr.b.FillLabel("Indirizzo e-mail", email)
	tr.b.FillLabel("Password", testPassword)
	if st := tr.b.Submit("form#login"); st != http.StatusOK {
		tr.t.Fatalf("log-in as %s: status %d", email, st)
	}
}

func (tr *tour) logout() {
	tr.t.Helper()
	if st := tr.b.Submit(`header form[action="/logout"] button`); st != http.StatusOK {
		tr.t.Fatalf("log-out: status %d", st)
	}
}

// noConsoleErrors fails the test for console errors (CSP violations
// included), except the 4xx statuses of the pages named, which the test
// opened on purpose (an invalid form, a missing page).
func (tr *tour) noConsoleErrors(expected4xx ...string) {
	tr.t.Helper()
	for _, e := range tr.b.ConsoleErrors() {
		ok := false
		for _, p := range expected4xx {
			if strings.Contains(e, "status of 4") && strings.Contains(e, tr.base+p) {
				ok = true
			}
		}
		if !ok {
			tr.t.Errorf("browser console error: %s", e)
		}
	}
}

var numberRE = regexp.MustCompile(`^\d{4}-\d{6}$`)

// TestBrowserPhoneCall is scenario 6: an agent registers a phone call —
// finds the caller by typing part of their phone number, picks them,
// picks the service, writes the subject and gets the ticket number.
func TestBrowserPhoneCall(t *testing.T) {
	h := newHarness(t)
	tr := newTour(t, h)
	b := tr.b
	tr.login("agente@example.it")
	if u := b.URL(); !strings.HasSuffix(u, "/operatore") {
		t.Fatalf("agent landed on %s", u)
	}

	start := time.Now()
	if st := b.ClickAndWait(`.sp-header-nav a[href="/operatore/chiamata"]`); st != http.StatusOK {
		t.Fatalf("call page: %d", st)
	}
	b.FillLabel("Cerca per telefono, e-mail o nome", "0831 5653")
	pick := `#caller-results input[value="utente@example.it"] + label`
	b.WaitVisible(pick)
	tr.check("call-lookup")
	b.Click(pick)
	if !browsertest.Eval[bool](b, `document.querySelector('#caller-results input[value="utente@example.it"]').checked`) {
		t.Fatal("caller not picked")
	}
	b.FillLabel("Servizio", "Installazione e configurazione dispositivi hardware")
	b.FillLabel("Oggetto", "Stampante del secondo piano inceppata")
	if st := b.Submit("#register"); st != http.StatusOK {
		t.Fatalf("register: %d", st)
	}
	took := time.Since(start)
	number := b.Text("#ticket-number")
	if !numberRE.MatchString(number) {
		t.Fatalf("ticket number %q", number)
	}
	if flash := b.Text(`main [role="status"]`); !strings.Contains(flash, number) {
		t.Errorf("flash %q", flash)
	}
	t.Logf("phone call registered as %s in %v (browser time, test machine)", number, took.Round(time.Millisecond))
	tk, err := h.f.Desk.Ticket(context.Background(), h.actor("agente@example.it"), number)
	if err != nil || tk.Channel != desk.ChannelPhone || tk.ServiceCode != "stampanti" || tk.Requester.Email != "utente@example.it" {
		t.Fatalf("ticket %+v %v", tk, err)
	}
	tr.check("agent-ticket-new")

	// The form works the same with the keyboard only and without picking
	// from the list (a new caller, in person).
	tr.open("/operatore/chiamata?canale=in_person")
	b.FillLabel("Cerca per telefono, e-mail o nome", "zzz")
	b.WaitVisible(`#caller-results [role="status"]`)
	b.Click(".sp-details-new summary")
	b.FillLabel("Nome e cognome", "Piero Sportello")
	b.FillLabel("Telefono", "0831 222333")
	b.FillLabel("Oggetto", "Badge smagnetizzato")
	if st := b.Submit("#register"); st != http.StatusOK {
		t.Fatalf("register in person: %d", st)
	}
	n2 := b.Text("#ticket-number")
	defer checkMailFrame(t, b, h)
	tk2, err := h.f.Desk.Ticket(context.Background(), h.actor("agente@example.it"), n2)
	if err != nil || tk2.Channel != desk.ChannelInPerson || tk2.Requester.Name != "Piero Sportello" {
		t.Fatalf("in-person ticket %+v %v", tk2, err)
	}
	b.AssertNoConsoleErrors()
}

// TestBrowserRequestLifecycle follows a request in the browser: the
// requester opens it in the portal and sees the agent's answer arrive live;
// the agent finds it with the keyboard, answers with a canned reply and
// resolves it with its cause; the requester confirms and it is closed.
// Every page on the way is checked with axe and photographed.
func TestBrowserRequestLifecycle(t *testing.T) {
	h := newHarness(t, func(o *Opts) { o.LivePoll = 200 * time.Millisecond })
	older := h.create(h.actor("altro@example.it"), desk.NewTicket{Subject: "Casella PEC piena", Service: "stampanti", Channel: desk.ChannelEmail})
	tr := newTour(t, h)
	b := tr.b
	ctx := context.Background()

	// Public pages.
	tr.open("/")
	tr.check("portal-home")
	tr.open("/accessibilita")
	b.ClickText("Invia la segnalazione")
	b.WaitVisible("#errori")
	tr.check("accessibility-errors")
	if st := b.Navigate(tr.base + "/nessuna-pagina-qui"); st != http.StatusNotFound {
		t.Errorf("missing page: %d", st)
	}
	tr.check("")

	// The requester opens a request.
	tr.login("utente@example.it")
	if u := b.URL(); !strings.HasSuffix(u, "/richieste") {
		t.Fatalf("requester landed on %s", u)
	}
	tr.check("portal-my-requests-empty")
	b.ClickAndWait(`a.btn[href="/richieste/nuova"]`)
	tr.check("portal-choose-service")
	b.ClickAndWait(`a[href="/richieste/nuova?servizio=stampanti"]`)
	tr.check("portal-new-request")
	b.FillLabel("Oggetto", "La stampante non stampa")
	b.FillLabel("Descrizione", "Da stamattina la stampante del secondo piano dà errore E13.\nHo già provato a spegnerla.")
	if st := b.Submit("#new-request"); st != http.StatusOK {
		t.Fatalf("new request: %d", st)
	}
	title := b.Text("h1")
	number := strings.Fields(title)[0]
	if !numberRE.MatchString(number) {
		t.Fatalf("request page heading %q", title)
	}
	tr.check("portal-request")

	// The agent answers while the requester looks at the page: a notice
	// appears without reloading.
	agent := h.actor("agente@example.it")
	if _, err := h.f.Desk.AddMessage(ctx, agent, number, desk.NewMessage{Body: "Buongiorno, passiamo entro le 12."}); err != nil {
		t.Fatal(err)
	}
	b.WaitVisible(`[data-sp-live]:not([hidden])`)
	b.ClickAndWait(`[data-sp-live] a`)
	if got := b.Text("#cronologia + .sp-timeline"); !strings.Contains(got, "passiamo entro le 12") {
		t.Errorf("timeline after reload: %q", got)
	}
	tr.open("/richieste")
	tr.check("portal-my-requests")
	tr.logout()

	// The agent finds the ticket with the keyboard: j moves down the list,
	// Enter opens.
	tr.login("agente@example.it")
	tr.check("workspace")
	b.Press("j")
	first := browsertest.Eval[string](b, `document.activeElement.textContent.trim()`)
	if first != number {
		t.Fatalf("j focused %q, want the newest ticket %s", first, number)
	}
	b.Press("j")
	if got := browsertest.Eval[string](b, `document.activeElement.textContent.trim()`); got != older.Number {
		t.Errorf("second j focused %q, want %s", got, older.Number)
	}
	b.Press("k")
	if got := browsertest.Eval[string](b, `document.activeElement.closest("tr").classList.contains("sp-current") && document.activeElement.textContent.trim()`); got != number {
		t.Errorf("k focused %q", got)
	}
	b.Press("\r")
	b.WaitVisible("#ticket-number")
	if got := b.Text("#ticket-number"); got != number {
		t.Fatalf("Enter opened %s", got)
	}
	tr.check("agent-ticket")

	// A canned answer fills the reply; the agent sends it.
	b.Fill("#modello", "presa-in-carico")
	if v := b.Value("#body"); !strings.Contains(v, "la sua richiesta "+number) || !strings.Contains(v, "Gentile Ugo Utente") {
		t.Fatalf("canned answer not inserted: %q", v)
	}
	if st := b.Submit(`#reply button[value="reply"]`); st != http.StatusOK {
		t.Fatalf("reply: %d", st)
	}
	b.FillLabel("Messaggio", "Sostituito il toner; verificare la stampa di prova.")
	b.Submit(`#reply button[value="note"]`)
	if n := b.Count(".sp-entry-note"); n != 1 {
		t.Errorf("%d internal notes shown", n)
	}
	// Resolve with the cause.
	b.FillLabel("Nuovo stato", "Risolto")
	b.FillLabel("Categoria", "Hardware")
	b.FillLabel("Descrizione della causa", "Toner esaurito")
	if st := b.Submit(`#status-form button[type="submit"]`); st != http.StatusOK {
		t.Fatalf("resolve: %d", st)
	}
	if got := b.Text(".sp-cluster .badge"); got != "Risolto" {
		t.Errorf("status badge %q", got)
	}
	tr.check("agent-ticket-resolved")
	tr.open("/operatore/chiamata")
	tr.check("call")
	tr.logout()

	// The requester confirms: closed.
	tr.login("utente@example.it")
	tr.open("/richieste/" + number)
	if txt := b.Text(".sp-timeline"); strings.Contains(txt, "Sostituito il toner") {
		t.Error("the requester sees the internal note")
	}
	tr.check("portal-request-resolved")
	if st := b.Submit("#confirm button"); st != http.StatusOK {
		t.Fatalf("confirm: %d", st)
	}
	if got := b.Text("dl.sp-facts .badge"); got != "Chiuso" {
		t.Errorf("status after confirmation %q", got)
	}
	tk, err := h.f.Desk.Ticket(ctx, agent, number)
	if err != nil || tk.Status != desk.StatusClosed || tk.Cause.Category != "hardware" {
		t.Fatalf("ticket %+v %v", tk, err)
	}
	tr.check("")

	// English.
	b.ClickAndWait(`a[hreflang="en"]`)
	if lang := browsertest.Eval[string](b, `document.documentElement.lang`); lang != "en" {
		t.Errorf("lang %q after the switch", lang)
	}
	tr.check("portal-request-en")
	tr.noConsoleErrors("/accessibilita", "/nessuna-pagina-qui")
}

// checkMailFrame opens the HTML version of a hostile received e-mail as
// the signed-in agent, and checks in Chromium that the frame renders, runs
// no script, fetches nothing (no console error, no CSP violation) and that
// the page passes axe.
func checkMailFrame(t *testing.T, b *browsertest.Browser, h *harness) {
	t.Helper()
	tk := h.create(h.actor("agente@example.it"), desk.NewTicket{Subject: "Stampante guasta", Channel: desk.ChannelEmail,
		Requester: desk.Contact{Email: "utente@example.it"}})
	id := addReceivedMail(t, h, tk.ID, hostileMail)
	if st := b.Navigate(h.srv.URL + "/operatore/ticket/" + tk.Number); st != http.StatusOK {
		t.Fatalf("ticket page: %d", st)
	}
	if st := b.ClickAndWait(`a[href$="/posta/` + fmt.Sprint(id) + `"]`); st != http.StatusOK {
		t.Fatalf("mail page: %d", st)
	}
	title := b.Title()
	if hgt := browsertest.Eval[float64](b, `document.querySelector("iframe.sp-mail-frame").getBoundingClientRect().height`); hgt < 100 {
		t.Errorf("mail frame height %v", hgt)
	}
	time.Sleep(300 * time.Millisecond)
	if got := b.Title(); got != title {
		t.Errorf("the frame changed the page: title %q", got)
	}
	if n := b.Count("#toggle-images"); n != 1 {
		t.Errorf("remote images toggle: %d", n)
	}
	b.AssertNoSeriousViolations("")
	b.AssertNoConsoleErrors()
}

// TestBrowserScenario7 works scenario 7 in the browser: the IT manager
// accepts the request, the collaborator completes the on-site phase and
// calls the supplier with their reference, records the supplier's fix and
// resolves with the cause; the employee confirms.
func TestBrowserScenario7(t *testing.T) {
	h, _ := newWorkflowHarness(t)
	ctx := context.Background()
	tk := h.create(h.actor("antonio.pugliese@provincia.brindisi.it"), desk.NewTicket{Subject: "Stampante di rete del secondo piano guasta",
		Description: "Inceppamento continuo.", Service: "dispositivi-hardware-sito-web", Channel: desk.ChannelPhone,
		Requester: desk.Contact{Email: "mario.rossi@provincia.brindisi.it"}})
	tr := newTour(t, h)
	b := tr.b
	page := "/operatore/ticket/" + tk.Number

	tr.login("luigi.settembrini@provincia.brindisi.it")
	tr.open(page)
	tr.check("")
	b.FillLabel("Motivazione della decisione", "Intervento autorizzato")
	b.Submit(`#approve-form button.btn-success`)
	if got := b.Text(`[aria-current="step"] .sp-phase-name`); got == "" || strings.Contains(got, "ccettazione") {
		t.Errorf("current phase after approval: %q", got)
	}
	tr.logout()

	tr.login("piero.nolasco@provincia.brindisi.it")
	tr.open(page)
	b.Submit(`#assign-me`)
	b.Submit(`#phase-form button[type="submit"]`) // the on-site intervention is done
	b.Click(`details:has(#supplier-form) summary`)
	b.FillLabel("Fornitore", "Copiatrici Salento s.r.l.")
	b.FillLabel("Riferimento del fornitore", "TT-2026-4471")
	b.Submit(`#supplier-form button[type="submit"]`)
	if txt := b.Text("#fasi"); !strings.Contains(txt, "TT-2026-4471") {
		t.Errorf("phases panel: %q", txt)
	}
	tr.check("agent-ticket-phases")
	b.FillLabel("Soluzione del fornitore Copiatrici Salento s.r.l.", "Fusore sostituito")
	b.Submit(`#supplier-resolved-form button`)
	b.FillLabel("Nuovo stato", "Risolto")
	b.FillLabel("Categoria", "Hardware")
	b.FillLabel("Descrizione della causa", "Gruppo fusore guasto")
	b.Submit(`#status-form button[type="submit"]`)
	tr.logout()

	tr.login("mario.rossi@provincia.brindisi.it")
	tr.open("/richieste/" + tk.Number)
	tr.check("portal-request-phases")
	b.Submit("#confirm button")
	got, err := h.f.Desk.Ticket(ctx, h.actor("antonio.pugliese@provincia.brindisi.it"), tk.Number)
	if err != nil || got.Status != desk.StatusClosed {
		t.Fatalf("ticket %+v %v", got, err)
	}
	tr.noConsoleErrors()
}

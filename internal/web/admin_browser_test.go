package web

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/workflow"
)

// newAdminBrowserHarness wires the real e-mail channel (whose intake
// processor the test feeds with messages, as the IMAP reader would) and
// the catalogue.
func newAdminBrowserHarness(t *testing.T) (*harness, *mail.Mail) {
	var ma *mail.Admin
	var m *mail.Mail
	var wf *workflow.Engine
	key := []byte("0123456789abcdef0123456789abcdef")
	setup := func(t testing.TB, f *storetest.Fixture) {
		var err error
		if ma, err = mail.NewAdmin(f.Desk, key); err != nil {
			t.Fatal(err)
		}
		if m, err = mail.NewWith(mail.Opts{Store: f.DB, Key: key, Now: f.Clock.Now}); err != nil {
			t.Fatal(err)
		}
		wf = workflow.New(workflow.Opts{Desk: f.Desk})
	}
	h := newHarnessWith(t, []func(testing.TB, *storetest.Fixture){setup}, func(o *Opts) { o.Mail, o.Catalogue = ma, wf })
	return h, m
}

// deliver hands a raw message to the intake, as the mailbox reader does
// after fetching it over IMAP.
func deliver(t *testing.T, h *harness, m *mail.Mail, address string, uid uint32, raw string) {
	t.Helper()
	ctx := context.Background()
	var mb mailbox.Mailbox
	err := mailbox.View(ctx, h.f.DB, func(tx mailbox.Tx) error {
		var err error
		mb, err = tx.MailboxByAddress(ctx, address)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Processor.Ingest(ctx, mb, 1, uid, []byte(strings.ReplaceAll(raw, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserAdminFirstDay is the "done when": a new
// administrator connects a mailbox, writes a routing rule (trying it on a
// pasted message first), adds an agent, and sees the dashboard change when
// a new message arrives and is routed by the rule — all in the browser.
func TestBrowserAdminFirstDay(t *testing.T) {
	h, m := newAdminBrowserHarness(t)
	tr := newTour(t, h)
	b := tr.b
	tr.login("admin@example.it")

	// The administration is one link away.
	if st := b.ClickAndWait(`.sp-header-nav a[href="/admin"]`); st != http.StatusOK {
		t.Fatalf("dashboard: %d", st)
	}
	if got := b.Text("#dash-open"); !strings.Contains(got, ": 0") {
		t.Fatalf("dashboard before: %q", got)
	}
	tr.check("admin-dashboard-empty")

	// Connect a mailbox.
	tr.open("/admin/caselle")
	b.FillLabel("Indirizzo", "assistenza@desk.example.it")
	b.FillLabel("Server IMAP", "imap://desk@127.0.0.1:1143/INBOX")
	b.FillLabel("Password IMAP", "segreta-imap")
	b.FillLabel("Server SMTP", "smtp://127.0.0.1:1587")
	if st := b.Submit(`form[action="/admin/caselle"]`); st != http.StatusOK {
		t.Fatalf("connect mailbox: %d", st)
	}
	if got := b.Text("#mailboxes"); !strings.Contains(got, "assistenza@desk.example.it") || strings.Contains(got, "segreta") {
		t.Fatalf("mailboxes: %q", got)
	}
	tr.check("admin-mailboxes")

	// Write a rule, try it on a pasted message, then save it.
	tr.open("/admin/regole")
	b.FillLabel("Nome della regola", "Applicazione BDNA")
	b.Fill("#c1_field", "subject")
	b.Fill("#c1_values", "bdna")
	b.Fill("#then_queue", "sistemi-informativi")
	b.Fill("#then_priority", "high")
	msg := "From: Mario Rossi <mario.rossi@example.it>\nTo: assistenza@desk.example.it\nSubject: BDNA - errore di accesso\n\nNon riesco ad accedere alla BDNA.\n"
	b.Fill("#draft-message", msg)
	if st := b.Submit("#test-draft"); st != http.StatusOK {
		t.Fatalf("try the draft: %d", st)
	}
	if got := b.Text("#preview-result"); !strings.Contains(got, "Applicazione BDNA") {
		t.Fatalf("preview: %q", got)
	}
	tr.check("admin-rules-preview")
	// The draft is still in the form: save it.
	if st := b.Submit(`#rule-form button[type="submit"]:not([formaction])`); st != http.StatusOK {
		t.Fatalf("save rule: %d", st)
	}
	if got := b.Text("#rules"); !strings.Contains(got, "Applicazione BDNA") {
		t.Fatalf("rules: %q", got)
	}

	// Add an agent, with the keyboard: type, then Enter submits the form.
	tr.open("/admin/utenti")
	b.FillLabel("E-mail", "nuova.agente@example.it")
	b.FillLabel("Nome e cognome", "Nuova Agente")
	b.Fill("#role", "agent")
	b.Run(chromedp.Focus(`#name`))
	b.Press("\r")
	b.WaitVisible(`main [role="status"]`)
	if got := b.Text("#users"); !strings.Contains(got, "nuova.agente@example.it") {
		t.Fatalf("users: %q", got)
	}
	tr.check("admin-users")

	// A new message arrives and the rule routes it.
	deliver(t, h, m, "assistenza@desk.example.it", 1, msg)
	tr.open("/admin/posta")
	if got := b.Text("#maillog"); !strings.Contains(got, "BDNA - errore di accesso") || !strings.Contains(got, "nuovo ticket") {
		t.Fatalf("mail log: %q", got)
	}
	tr.check("admin-maillog")
	page, err := h.f.Desk.ListTickets(context.Background(), desk.SystemActor, desk.ListQuery{Limit: 5})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("tickets: %v %v", page, err)
	}
	tk := page.Items[0]
	if tk.QueueCode != "sistemi-informativi" || tk.Priority != desk.PriorityHigh {
		t.Fatalf("the rule was not applied: queue %s priority %s", tk.QueueCode, tk.Priority)
	}

	// The dashboard counts it.
	tr.open("/admin")
	if got := b.Text("#dash-open"); !strings.Contains(got, ": 1") {
		t.Fatalf("dashboard after: %q", got)
	}
	b.Click("#grafico-queue summary")
	if got := b.Text("#grafico-queue table"); !strings.Contains(got, "Sistemi informativi") {
		t.Fatalf("queue chart table: %q", got)
	}
	tr.check("admin-dashboard")
	// The changes are in the audit log.
	tr.open("/admin/registro")
	got := b.Text("#audit")
	for _, want := range []string{"mailbox.create", "rule.update", "user.create"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log lacks %s: %q", want, got)
		}
	}
	tr.check("admin-audit")
	tr.noConsoleErrors()
}

// TestBrowserAdminOfficeDirectory imports an office directory: upload the
// CSV, read the preview of what changes, apply.
func TestBrowserAdminOfficeDirectory(t *testing.T) {
	h, _ := newAdminBrowserHarness(t)
	tr := newTour(t, h)
	b := tr.b
	tr.login("admin@example.it")
	path := filepath.Join(t.TempDir(), "uffici.csv")
	csv := "code;name;province;pec\nut_fe;Prefettura - UTG - Ferrara;FE;protocollo.preffe@pec.interno.it\nut_bo;Prefettura - UTG - Bologna;BO;protocollo.prefbo@pec.interno.it\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	tr.open("/admin/uffici")
	b.Run(chromedp.SetUploadFiles(`#file`, []string{path}))
	if st := b.Submit(`form[action="/admin/uffici/anteprima"]`); st != http.StatusOK {
		t.Fatalf("preview: %d", st)
	}
	if got := b.Text("#preview-summary"); !strings.Contains(got, "Nuovi: 2") {
		t.Fatalf("preview: %q", got)
	}
	tr.check("admin-offices-preview")
	if got := b.Text("#offices"); strings.Contains(got, "preffe") {
		t.Fatal("the preview wrote the directory")
	}
	if st := b.Submit("#apply"); st != http.StatusOK {
		t.Fatalf("apply: %d", st)
	}
	if got := b.Text("#offices"); !strings.Contains(got, "protocollo.preffe@pec.interno.it") || !strings.Contains(got, "Bologna") {
		t.Fatalf("directory: %q", got)
	}
	tr.noConsoleErrors()
}

// TestBrowserAdminPagesAccessible checks every administration page with
// axe in Italian and in English, with data on each.
func TestBrowserAdminPagesAccessible(t *testing.T) {
	h, _ := newAdminBrowserHarness(t)
	ctx := context.Background()
	f := h.f
	f.Create(t, f.Requester, desk.NewTicket{Subject: "Stampante", Channel: desk.ChannelWeb})
	if _, err := f.Desk.SaveCanned(ctx, f.Admin, "", desk.CannedAnswer{Code: "saluto", Title: "Saluto", Body: "Gentile {nome}, ..."}); err != nil {
		t.Fatal(err)
	}
	tr := newTour(t, h)
	tr.login("admin@example.it")
	for _, lang := range []string{"it", "en"} {
		tr.open("/lingua/" + lang + "?next=/admin")
		for _, p := range adminPages {
			tr.open(p)
			tr.check("")
		}
	}
	tr.noConsoleErrors()
}

// TestBrowserAdminPersonalData looks a person up, is refused with a wrong
// confirmation and erases with the right one, in Chromium (the form goes
// through the cross-origin protection as a browser sends it); axe checks
// every page, the report in Italian and the erased person in English.
func TestBrowserAdminPersonalData(t *testing.T) {
	h, _ := newAdminBrowserHarness(t)
	ugo := h.actor("utente@example.it")
	h.f.Create(t, ugo, desk.NewTicket{Subject: "Stampante", Description: "Guasta da ieri", Channel: desk.ChannelWeb})
	tr := newTour(t, h)
	b := tr.b
	tr.login("admin@example.it")
	tr.open("/admin")
	if st := b.ClickAndWait(`.sp-admin-nav a[href="/admin/dati-personali"]`); st != http.StatusOK {
		t.Fatalf("menu: %d", st)
	}
	b.Fill("#persona", "utente@example.it")
	if st := b.Submit(`form[action="/admin/dati-personali"]`); st != http.StatusOK {
		t.Fatalf("look-up: %d", st)
	}
	if got := b.Text("#counts"); !strings.Contains(got, "Richieste di cui è richiedente") || !strings.Contains(got, "1") {
		t.Fatalf("counts: %q", got)
	}
	tr.check("admin-privacy")
	b.Fill("#conferma", "utente@example")
	if st := b.Submit(`form[action="/admin/dati-personali/cancella"]`); st != http.StatusUnprocessableEntity {
		t.Fatalf("wrong confirmation: %d", st)
	}
	if got := b.Text("#conferma-error"); !strings.Contains(got, "non corrisponde") {
		t.Fatalf("error: %q", got)
	}
	tr.check("")
	if u := h.privacyUser(ugo.UserID); u.Redacted || u.Name != "Ugo Utente" {
		t.Fatalf("a wrong confirmation erased: %+v", u)
	}
	b.Fill("#conferma", " Utente@Example.it")
	if st := b.Submit(`form[action="/admin/dati-personali/cancella"]`); st != http.StatusOK {
		t.Fatalf("erasure: %d", st)
	}
	if got := b.Text("#report"); !strings.Contains(got, "Richieste oscurate") {
		t.Fatalf("report: %q", got)
	}
	tr.check("admin-privacy-report")
	if u := h.privacyUser(ugo.UserID); !u.Redacted || u.Name != desk.RedactedMarker {
		t.Fatalf("not erased: %+v", u)
	}
	tr.open("/lingua/en?next=" + url.QueryEscape("/admin/dati-personali?persona=user:"+itoa(ugo.UserID)))
	if got := b.Text("#person"); !strings.Contains(got, "data erased") {
		t.Fatalf("erased person: %q", got)
	}
	tr.check("")
	tr.noConsoleErrors("/admin/dati-personali/cancella") // the refused confirmation's 422
}

package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
)

// TestBrowserScenario1AgentSide is the agent's part of scenario 1 in the
// browser (the intake, the acknowledgement and the mail log are the mail
// package's, tested there): an e-mail "BDNA - errore di accesso" is a
// ticket in the BDNA queue; the agent finds it through the queue, reads the
// HTML of the message safely, answers with a canned reply; the user's
// answer joins the same ticket and shows live on the agent's page; the
// agent resolves; the user confirms in the portal and the ticket closes,
// every step in the history.
func TestBrowserScenario1AgentSide(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := h.f.DB.Update(ctx, func(tx desk.Tx) error {
		org, err := desk.DefaultOrg(ctx, tx)
		if err != nil {
			return err
		}
		return tx.CreateQueue(ctx, &desk.Queue{OrgID: org.ID, Code: "bdna", Name: "BDNA"})
	}); err != nil {
		t.Fatal(err)
	}
	tk := h.create(desk.SystemActor, desk.NewTicket{Subject: "BDNA - errore di accesso", Description: "Buongiorno, la BDNA risponde «utente non abilitato».",
		Queue: "bdna", Channel: desk.ChannelEmail, Requester: desk.Contact{Email: "utente@example.it"}})
	addReceivedMail(t, h, tk.ID, strings.Replace(hostileMail, "Subject: Stampante guasta", "Subject: BDNA - errore di accesso", 1))

	tr := newTour(t, h)
	b := tr.b
	tr.login("agente@example.it")
	if st := b.ClickAndWait(`nav.sp-side a[href="/operatore?coda=bdna"]`); st != http.StatusOK {
		t.Fatalf("queue: %d", st)
	}
	if got := b.Text(`nav.sp-side a[aria-current="page"] .badge`); got != "1" {
		t.Errorf("BDNA queue count %q", got)
	}
	tr.check("")
	b.Press("j")
	b.Press("\r")
	b.WaitVisible("#ticket-number")
	if got := b.Text("#ticket-number"); got != tk.Number {
		t.Fatalf("opened %s, want %s", got, tk.Number)
	}
	page := b.URL()
	// The HTML of the message, in its frame.
	if st := b.ClickAndWait(`a[href*="/posta/"]`); st != http.StatusOK {
		t.Fatalf("mail page: %d", st)
	}
	tr.check("mail-html")
	tr.open(page[len(tr.base):])

	// A canned answer asks for details.
	b.Fill("#modello", "informazioni")
	if v := b.Value("#body"); !strings.Contains(v, "richiesta "+tk.Number) {
		t.Fatalf("canned answer: %q", v)
	}
	if st := b.Submit(`#reply button[value="reply"]`); st != http.StatusOK {
		t.Fatalf("reply: %d", st)
	}
	// The user's answer arrives by e-mail (threaded by the intake into
	// this ticket) while the agent has the page open: a live notice.
	user := h.actor("utente@example.it")
	if _, err := h.f.Desk.AddMessage(ctx, user, tk.Number, desk.NewMessage{Body: "Il codice utente è MR1234.", Channel: desk.ChannelEmail}); err != nil {
		t.Fatal(err)
	}
	b.WaitVisible(".sp-live")
	tr.open(page[len(tr.base):])
	if txt := b.Text(".sp-timeline"); !strings.Contains(txt, "MR1234") {
		t.Fatalf("the answer is not on the ticket: %q", txt)
	}
	b.FillLabel("Nuovo stato", "Risolto")
	b.FillLabel("Categoria", "Utenza e credenziali")
	b.FillLabel("Descrizione della causa", "Utenza non abilitata al profilo BDNA")
	if st := b.Submit(`#status-form button[type="submit"]`); st != http.StatusOK {
		t.Fatalf("resolve: %d", st)
	}
	tr.logout()

	tr.login("utente@example.it")
	tr.open("/richieste/" + tk.Number)
	tr.check("")
	if st := b.Submit("#confirm button"); st != http.StatusOK {
		t.Fatalf("confirm: %d", st)
	}
	got, err := h.f.Desk.Timeline(ctx, h.actor("agente@example.it"), tk.Number)
	if err != nil || got.Ticket.Status != desk.StatusClosed {
		t.Fatalf("ticket %+v %v", got.Ticket, err)
	}
	var fields []string
	for _, e := range got.Events {
		fields = append(fields, e.Field+":"+e.New)
	}
	hist := strings.Join(fields, " ")
	for _, want := range []string{"created:email", "status:resolved", "status:closed"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %s: %s", want, hist)
		}
	}
	if len(got.Messages) != 2 || got.Messages[0].Kind != desk.MessageReply || got.Messages[1].Channel != desk.ChannelEmail {
		t.Errorf("messages %+v", got.Messages)
	}
	tr.noConsoleErrors()
}

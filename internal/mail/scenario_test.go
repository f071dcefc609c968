package mail_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
)

// Scenario 1 of PRODUCT.md: e-mail with the acronym, acknowledgement,
// agent's answer, the user's reply from a client that rewrites References,
// resolution, confirmation, closure.
func TestScenario1Acronym(t *testing.T) { onEngines(t, testScenario1Acronym) }

func testScenario1Acronym(t *testing.T, e *env) {
	in := e.deliver(mailtest.Message("Mario Rossi <"+requester+">", mail.NationalDeskAddress, "BDNA - errore di accesso",
		"Buongiorno,\nnon riesco ad accedere alla BDNA: compare \"credenziali non valide\".\nMario Rossi"))
	if in.Outcome != mailbox.OutTicket || in.TicketNumber == "" {
		t.Fatalf("outcome %s %q, want a ticket", in.Outcome, in.Detail)
	}
	tk := e.ticket(in.TicketNumber)
	if tk.ServiceCode != "bdna" || tk.QueueCode != "bdna" || tk.Channel != desk.ChannelEmail || tk.Requester.Email != requester {
		t.Fatalf("ticket %+v: want service and queue bdna, channel email, requester %s", tk, requester)
	}
	if len(tk.Tags) != 1 || tk.Tags[0] != "bdna" {
		t.Errorf("tags %q, want the rule's [bdna]", tk.Tags)
	}
	if tk.Subject != "BDNA - errore di accesso" {
		t.Errorf("subject %q", tk.Subject)
	}

	ack, raw := e.waitSent(1)
	if raw.To[0] != requester || raw.From != mail.NationalDeskAddress {
		t.Errorf("ack envelope from %s to %v", raw.From, raw.To)
	}
	if !strings.Contains(ack.GetHeader("Subject"), "[#"+tk.Number+"]") {
		t.Errorf("ack subject %q lacks the ticket number", ack.GetHeader("Subject"))
	}
	if ack.GetHeader("Auto-Submitted") != "auto-replied" || ack.GetHeader("X-Auto-Response-Suppress") != "All" {
		t.Errorf("ack is not marked automatic: %q %q", ack.GetHeader("Auto-Submitted"), ack.GetHeader("X-Auto-Response-Suppress"))
	}
	if !strings.Contains(ack.Text, tk.Number) || !strings.Contains(ack.Text, "registrata") || !strings.Contains(ack.Text, "registered") {
		t.Errorf("ack text:\n%s", ack.Text)
	}
	if ack.GetHeader("In-Reply-To") == "" {
		t.Error("ack does not answer the request (In-Reply-To)")
	}

	// The agent answers.
	agent := agentActor(t, e.desk)
	if _, err := e.mail.Reply(e.ctx, e.db, agent, tk.Number, desk.NewMessage{Body: "Provi a reimpostare la password dal link di recupero."}); err != nil {
		t.Fatal(err)
	}
	reply, _ := e.waitSent(2)
	if !strings.Contains(reply.Text, "reimpostare la password") || reply.GetHeader("Auto-Submitted") != "" {
		t.Errorf("agent reply:\n%s\nAuto-Submitted %q", reply.Text, reply.GetHeader("Auto-Submitted"))
	}
	replyID := strings.Trim(reply.GetHeader("Message-Id"), "<>")
	if !strings.HasPrefix(replyID, "t."+tk.Number+".") {
		t.Errorf("reply Message-ID %q carries no reply token", replyID)
	}

	// The user answers from a client that rewrote References and the
	// subject: only In-Reply-To still names our message.
	in2 := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, "Risposta",
		"Ho provato ma il link non arriva.\n\nIl giorno lun, Service Desk ha scritto:\n> Provi a reimpostare la password",
		"In-Reply-To: <"+replyID+">", "References: <something-else@client.example.it>"))
	if in2.Outcome != mailbox.OutMessage || in2.TicketNumber != tk.Number {
		t.Fatalf("reply: outcome %s ticket %s (%s), want a message on %s", in2.Outcome, in2.TicketNumber, in2.Detail, tk.Number)
	}
	// And a client that drops every reference but keeps the subject tag.
	in3 := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, "R: [#"+tk.Number+"] BDNA - errore di accesso", "Ora è arrivato, grazie."))
	if in3.TicketNumber != tk.Number {
		t.Fatalf("subject-only reply went to %q (%s)", in3.TicketNumber, in3.Detail)
	}
	tl := e.timeline(tk.Number)
	var incoming []string
	for _, m := range tl.Messages {
		if m.Kind == desk.MessageIncoming {
			incoming = append(incoming, m.Body)
		}
	}
	if len(incoming) != 2 || strings.Contains(incoming[0], "> Provi") {
		t.Fatalf("incoming messages %q: want 2, quoted history stripped", incoming)
	}
	if e.countTickets() != 1 {
		t.Fatalf("%d tickets, want 1", e.countTickets())
	}

	// Resolution: the user is asked to confirm, confirms, the ticket closes.
	if _, err := e.mail.Transition(e.ctx, e.db, agent, tk.Number, desk.TransitionInput{To: desk.StatusResolved,
		Cause: desk.Cause{Category: "account", Text: "Password reimpostata."}}); err != nil {
		t.Fatal(err)
	}
	resolved, _ := e.waitSent(3)
	if !strings.Contains(resolved.Text, "Confermo") || !strings.Contains(resolved.Text, "risolta") {
		t.Errorf("resolution mail:\n%s", resolved.Text)
	}
	resolvedID := strings.Trim(resolved.GetHeader("Message-Id"), "<>")
	in4 := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, "Re: "+resolved.GetHeader("Subject"), "Confermo, grazie!",
		"In-Reply-To: <"+resolvedID+">"))
	if in4.Outcome != mailbox.OutConfirmed {
		t.Fatalf("confirmation: outcome %s (%s)", in4.Outcome, in4.Detail)
	}
	if s := e.ticket(tk.Number).Status; s != desk.StatusClosed {
		t.Fatalf("status %s after confirmation, want closed", s)
	}
	// Every message is marked seen on the server, none twice.
	// \Seen is set after each commit: allow it a moment.
	seen, unseen := e.seen()
	for deadline := time.Now().Add(5 * time.Second); (len(unseen) != 0 || len(seen) != 4) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		seen, unseen = e.seen()
	}
	if len(unseen) != 0 || len(seen) != 4 {
		t.Errorf("seen %v unseen %v", seen, unseen)
	}
}

// Scenario 2: no acronym: triage and an answer asking which application.
func TestScenario2NoAcronym(t *testing.T) { onEngines(t, testScenario2NoAcronym) }

func testScenario2NoAcronym(t *testing.T, e *env) {
	in := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, "Problema di accesso", "Non riesco ad entrare nel sistema."))
	tk := e.ticket(in.TicketNumber)
	if tk.QueueCode != "smistamento" || tk.ServiceCode != "" {
		t.Fatalf("queue %q service %q, want triage (smistamento)", tk.QueueCode, tk.ServiceCode)
	}
	ack, _ := e.waitSent(1)
	if !strings.Contains(ack.Text, "a quale applicativo") || !strings.Contains(ack.Text, "which application") || !strings.Contains(ack.Text, "BDNA") {
		t.Errorf("triage answer:\n%s", ack.Text)
	}
}

// Scenario 3: a retired address gets one polite answer, no ticket, and no
// loop with a robot that answers back.
func TestScenario3Retired(t *testing.T) { onEngines(t, testScenario3Retired) }

func testScenario3Retired(t *testing.T, e *env) {
	retired := mail.NationalDeskRetired[1]
	in := e.deliver(mailtest.Message(requester, retired, "Richiesta accesso BDNA", "Vorrei un'utenza."))
	if in.Outcome != mailbox.OutRetired || in.TicketID != 0 {
		t.Fatalf("outcome %s ticket %d (%s), want retired without ticket", in.Outcome, in.TicketID, in.Detail)
	}
	ans, raw := e.waitSent(1)
	if raw.To[0] != requester || !strings.Contains(ans.Text, mail.NationalDeskAddress) || !strings.Contains(ans.Text, retired) {
		t.Errorf("answer to %v:\n%s", raw.To, ans.Text)
	}
	// The sender's out-of-office robot answers our answer: nothing goes back.
	ansID := strings.Trim(ans.GetHeader("Message-Id"), "<>")
	robot := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, "Risposta automatica: "+ans.GetHeader("Subject"),
		"Sono fuori ufficio fino a lunedì.", "Auto-Submitted: auto-replied", "In-Reply-To: <"+ansID+">"))
	if robot.Outcome != mailbox.OutRobot {
		t.Fatalf("robot answer: outcome %s (%s)", robot.Outcome, robot.Detail)
	}
	// A robot writing to the retired address gets nothing either.
	bulk := e.deliver(mailtest.Message("newsletter@news.example.com", retired, "Novità", "...", "Precedence: bulk", "List-Unsubscribe: <mailto:u@news.example.com>"))
	if bulk.Outcome != mailbox.OutRobot {
		t.Fatalf("bulk mail: outcome %s", bulk.Outcome)
	}
	// The same person writing again and again: at most 3 answers an hour.
	for i := 0; i < 4; i++ {
		e.deliver(mailtest.Message(requester, retired, fmt.Sprintf("Sollecito %d", i), "..."))
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(e.smtp.Sent()); n != 3 {
		t.Errorf("%d answers sent, want 3 (rate limit)", n)
	}
	if e.countTickets() != 0 {
		t.Errorf("%d tickets opened, want none", e.countTickets())
	}
	// Everything is in the mail log administrators see.
	err := mailbox.View(e.ctx, e.db, func(tx mailbox.Tx) error {
		log, err := tx.MailLog(e.ctx, mailbox.LogQuery{Outcomes: []mailbox.Outcome{mailbox.OutRetired}})
		if len(log) != 5 {
			t.Errorf("%d retired entries in the mail log, want 5", len(log))
		}
		if len(log) > 0 && !strings.Contains(log[0].Detail, "rate limit") {
			t.Errorf("last entry detail %q should say the answer was rate-limited", log[0].Detail)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Scenario 4: the information subject lands in the information queue.
func TestScenario4Information(t *testing.T) { onEngines(t, testScenario4Information) }

func testScenario4Information(t *testing.T, e *env) {
	in := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, "Informazioni nuovo service desk", "Quali sono gli orari?"))
	tk := e.ticket(in.TicketNumber)
	if tk.QueueCode != "informazioni" || tk.ServiceCode != "informazioni" {
		t.Fatalf("queue %q service %q", tk.QueueCode, tk.ServiceCode)
	}
}

// Scenario 5: a certificate renewal is answered with the competent
// Prefecture's PEC and closed as redirected.
func TestScenario5CertificateRenewal(t *testing.T) { onEngines(t, testScenario5CertificateRenewal) }

func testScenario5CertificateRenewal(t *testing.T, e *env) {
	in := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - rinnovo certificato digitale",
		"Buongiorno, sono il RUP del Comune di Cento (FE): il certificato digitale scade il mese prossimo, come posso rinnovarlo?"))
	if in.Outcome != mailbox.OutRedirected {
		t.Fatalf("outcome %s (%s), want redirected", in.Outcome, in.Detail)
	}
	tk := e.ticket(in.TicketNumber)
	if tk.Status != desk.StatusRedirected || tk.ServiceCode != "rinnovo-certificato-bdna" {
		t.Fatalf("status %s service %s", tk.Status, tk.ServiceCode)
	}
	ans, _ := e.waitSent(1)
	if !strings.Contains(ans.Text, "protocollo.preffe@pec.interno.it") || !strings.Contains(ans.Text, "Ferrara") {
		t.Errorf("answer:\n%s", ans.Text)
	}
	if !strings.Contains(ans.GetHeader("Subject"), tk.Number) {
		t.Errorf("subject %q", ans.GetHeader("Subject"))
	}
}

// Scenario 5 without a province in the text: the requester's organisation
// decides; with neither, the ticket stays open for an agent.
func TestScenario5ProvinceFromOrganisation(t *testing.T) {
	onEngines(t, testScenario5ProvinceFromOrganisation)
}

func testScenario5ProvinceFromOrganisation(t *testing.T, e *env) {
	if _, err := e.desk.CreateOrg(e.ctx, desk.SystemActor, desk.NewOrg{Code: "comune-cento", Name: "Comune di Cento", Province: "FE"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.EnsureUser(e.ctx, desk.NewUser{Email: "rup@comune.cento.example.it", Role: desk.RoleRequester, OrgCode: "comune-cento"}); err != nil {
		t.Fatal(err)
	}
	in := e.deliver(mailtest.Message("rup@comune.cento.example.it", mail.NationalDeskAddress, "Rinnovo certificato", "Il certificato è scaduto."))
	if in.Outcome != mailbox.OutRedirected || !strings.Contains(in.Detail, "organisation") {
		t.Fatalf("outcome %s (%s)", in.Outcome, in.Detail)
	}
	in2 := e.deliver(mailtest.Message("ignoto@example.org", mail.NationalDeskAddress, "Rinnovo certificato", "Il certificato è scaduto."))
	if in2.Outcome != mailbox.OutTicket || e.ticket(in2.TicketNumber).Status != desk.StatusNew {
		t.Fatalf("outcome %s (%s): want an open ticket for an agent", in2.Outcome, in2.Detail)
	}
}

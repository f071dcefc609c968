package mail_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// procEnv is a desk with a mailbox whose messages are fed to the
// Processor directly (no IMAP), for tests of what one message does.
type procEnv struct {
	ctx  context.Context
	db   *store.DB
	desk *desk.Desk
	mail *mail.Mail
	mb   mailbox.Mailbox
	uid  uint32
}

func newProcEnv(t testing.TB, open func(testing.TB) *store.DB) *procEnv {
	t.Helper()
	p := &procEnv{ctx: context.Background(), db: open(t)}
	p.desk = storetest.NewDesk(t, p.db, nil)
	seedDesk(t, p.db, p.desk)
	var err error
	if p.mail, err = mail.NewWith(mail.Opts{Store: p.db, Key: []byte(testKey)}); err != nil {
		t.Fatal(err)
	}
	p.mb, _, err = mail.SaveMailbox(p.ctx, p.db, p.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskAddress,
		IMAP: "imap://u:p@127.0.0.1:1/INBOX", SMTP: "smtp://127.0.0.1:1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *procEnv) ingest(t testing.TB, raw []byte) mailbox.Inbound {
	t.Helper()
	p.uid++
	res, err := p.mail.Processor.Ingest(p.ctx, p.mb, 1, p.uid, raw)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if res.Already {
		t.Fatalf("uid %d already taken", p.uid)
	}
	return p.record(t, p.uid)
}

func (p *procEnv) record(t testing.TB, uid uint32) mailbox.Inbound {
	t.Helper()
	var rec mailbox.Inbound
	err := mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
		log, err := tx.MailLog(p.ctx, mailbox.LogQuery{MailboxID: p.mb.ID, Limit: 1000})
		for _, e := range log {
			if e.UID == uid {
				rec, err = tx.InboundByID(p.ctx, e.ID)
				rec.TicketNumber = e.TicketNumber
				return err
			}
		}
		if err == nil {
			t.Fatalf("uid %d not recorded", uid)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestCorpus feeds every .eml of the parse and PEC test corpora to the
// intake: none fails, robots open nothing, the raw bytes are kept as they
// came.
func TestCorpus(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	files, _ := filepath.Glob("parse/testdata/*.eml")
	pecFiles, _ := filepath.Glob("pec/testdata/*.eml")
	files = append(files, pecFiles...)
	sort.Strings(files)
	if len(files) < 25 {
		t.Fatalf("only %d corpus files found", len(files))
	}
	want := map[string]mailbox.Outcome{
		"no_from.eml":              mailbox.OutQuarantined,
		"no_header.eml":            mailbox.OutQuarantined,
		"dsn_bounce.eml":           mailbox.OutBounce,
		"dsn_exchange_headers.eml": mailbox.OutBounce,
		"mailing_list.eml":         mailbox.OutRobot,
		"newsletter_bulk.eml":      mailbox.OutRobot,
		"out_of_office.eml":        mailbox.OutRobot,
		"exchange_oof.eml":         mailbox.OutRobot,
		"read_receipt.eml":         mailbox.OutRobot,
		"pec_receipt.eml":          mailbox.OutRobot, // an ordinary mailbox: a receipt is automatic mail
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rec := p.ingest(t, raw)
		name := filepath.Base(f)
		t.Logf("%-36s %-12s %s %s", name, rec.Outcome, rec.TicketNumber, rec.Detail)
		if w, ok := want[name]; ok && rec.Outcome != w {
			t.Errorf("%s: outcome %s (%s), want %s", name, rec.Outcome, rec.Detail, w)
		}
		if string(rec.Raw) != string(raw) {
			t.Errorf("%s: raw bytes not kept as received", name)
		}
		if rec.Outcome == mailbox.OutRobot && rec.TicketID != 0 && !strings.Contains(rec.Detail, "noted") {
			t.Errorf("%s: a robot opened ticket %s", name, rec.TicketNumber)
		}
	}
}

// TestQuarantineNeverBlocks: a malformed message is quarantined with its
// bytes and reason, and the next one is processed.
func TestQuarantineNeverBlocks(t *testing.T) {
	onEngines(t, func(t *testing.T, e *env) {
		bad := []byte("To: " + mail.NationalDeskAddress + "\r\nSubject: senza mittente\r\n\r\nNo From header: \xff\xfe\r\n")
		q := e.deliver(bad)
		if q.Outcome != mailbox.OutQuarantined || q.Detail == "" {
			t.Fatalf("outcome %s (%q)", q.Outcome, q.Detail)
		}
		good := e.deliver(mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - dopo la quarantena", "testo"))
		if good.Outcome != mailbox.OutTicket {
			t.Fatalf("next message: %s (%s)", good.Outcome, good.Detail)
		}
		err := mailbox.View(e.ctx, e.db, func(tx mailbox.Tx) error {
			log, err := tx.MailLog(e.ctx, mailbox.LogQuery{Outcomes: []mailbox.Outcome{mailbox.OutQuarantined}})
			if err != nil {
				return err
			}
			if len(log) != 1 {
				t.Fatalf("%d quarantined", len(log))
			}
			full, err := tx.InboundByID(e.ctx, log[0].ID)
			if string(full.Raw) != string(bad) {
				t.Errorf("quarantined bytes differ: %q", full.Raw)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// \Seen is set after the commit, so wait for it a little.
		deadline := time.Now().Add(5 * time.Second)
		_, unseen := e.imap.Seen(t)
		for len(unseen) != 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			_, unseen = e.imap.Seen(t)
		}
		if len(unseen) != 0 {
			t.Errorf("unseen %v: the quarantined message must be marked too", unseen)
		}
	})
}

// TestDuplicates: the same message delivered twice is recorded once as a
// duplicate; two different messages sharing a Message-ID both count.
func TestDuplicates(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			p := newProcEnv(t, storetest.Engines[name])
			raw := mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - doppio", "uno", "Message-ID: <same@client.example.it>")
			if r := p.ingest(t, raw); r.Outcome != mailbox.OutTicket {
				t.Fatalf("first: %s", r.Outcome)
			}
			if r := p.ingest(t, raw); r.Outcome != mailbox.OutDuplicate {
				t.Fatalf("same bytes again: %s (%s), want duplicate", r.Outcome, r.Detail)
			}
			other := mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - altro", "due", "Message-ID: <same@client.example.it>")
			if r := p.ingest(t, other); r.Outcome == mailbox.OutDuplicate {
				t.Fatal("a different message with the same Message-ID was dropped")
			}
			// The same UID again is a no-op.
			res, err := p.mail.Processor.Ingest(p.ctx, p.mb, 1, 1, raw)
			if err != nil || !res.Already {
				t.Fatalf("re-ingesting uid 1: %+v %v", res, err)
			}
		})
	}
}

// TestClosedTicketReply: a reply to a closed ticket opens one linked
// follow-up (default) or reopens it (per mailbox), exactly once.
func TestClosedTicketReply(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	first := p.ingest(t, mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - problema", "testo", "Message-ID: <orig@client.example.it>"))
	for _, to := range []desk.Status{desk.StatusResolved, desk.StatusClosed} {
		if _, err := p.desk.Transition(p.ctx, desk.SystemActor, first.TicketNumber, desk.TransitionInput{To: to}); err != nil {
			t.Fatal(err)
		}
	}
	reply := mailtest.Message(requester, mail.NationalDeskAddress, "Re: BDNA - problema", "Di nuovo lo stesso errore.", "In-Reply-To: <orig@client.example.it>")
	r := p.ingest(t, reply)
	if r.Outcome != mailbox.OutFollowUp || r.TicketNumber == first.TicketNumber {
		t.Fatalf("outcome %s ticket %s (%s)", r.Outcome, r.TicketNumber, r.Detail)
	}
	tl, err := p.desk.Timeline(p.ctx, desk.SystemActor, r.TicketNumber)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Links) != 1 || tl.Links[0].ToNumber != first.TicketNumber || tl.Links[0].Kind != desk.LinkFollowUp {
		t.Errorf("links %+v", tl.Links)
	}
	if tl.Ticket.ServiceCode != "bdna" {
		t.Errorf("follow-up service %q, want the closed ticket's", tl.Ticket.ServiceCode)
	}
	// Reopen policy.
	p.mb.ClosedReply = mailbox.Reopen
	r2 := p.ingest(t, mailtest.Message(requester, mail.NationalDeskAddress, "Re: BDNA - problema", "Ancora.", "In-Reply-To: <orig@client.example.it>"))
	if r2.Outcome != mailbox.OutReopened || r2.TicketNumber != first.TicketNumber {
		t.Fatalf("reopen: %s %s (%s)", r2.Outcome, r2.TicketNumber, r2.Detail)
	}
	tk, _ := p.desk.Ticket(p.ctx, desk.SystemActor, first.TicketNumber)
	if tk.Status != desk.StatusOpen {
		t.Errorf("status %s, want open", tk.Status)
	}
}

// TestBounceOfOurMail: a delivery failure report is recorded on the sent
// message it is about, noted on the ticket, and answered by nobody.
func TestBounceOfOurMail(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	first := p.ingest(t, mailtest.Message("nessuno@inesistente.example.it", mail.NationalDeskAddress, "BDNA - prova", "testo"))
	var ack mailbox.Outbound
	err := mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
		outs, err := tx.Outbounds(p.ctx, first.TicketID, nil, 0, 10)
		if len(outs) != 1 {
			t.Fatalf("%d outbound", len(outs))
		}
		ack = outs[0]
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dsn := "From: MAILER-DAEMON@mx.example.it\r\nTo: " + mail.NationalDeskAddress + "\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <bounce1@mx.example.it>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n" +
		"--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n" +
		"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.it\r\n\r\nFinal-Recipient: rfc822; nessuno@inesistente.example.it\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n" +
		"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + ack.MessageID + ">\r\nSubject: x\r\n\r\n--B--\r\n"
	r := p.ingest(t, []byte(dsn))
	if r.Outcome != mailbox.OutBounce || r.TicketID != 0 && r.TicketID != first.TicketID {
		t.Fatalf("bounce: %s (%s)", r.Outcome, r.Detail)
	}
	err = mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
		out, err := tx.OutboundByID(p.ctx, ack.ID)
		if err != nil {
			return err
		}
		if out.State != mailbox.OutBounced || !strings.Contains(out.LastError, "5.1.1") {
			t.Errorf("sent message state %s %q", out.State, out.LastError)
		}
		evs, err := tx.OutEvents(p.ctx, ack.ID)
		if len(evs) != 1 || evs[0].Kind != "bounce" || evs[0].InID != r.ID {
			t.Errorf("events %+v", evs)
		}
		outs, _ := tx.Outbounds(p.ctx, 0, nil, 0, 100)
		if len(outs) != 1 {
			t.Errorf("%d outbound messages: a bounce must not be answered", len(outs))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGuardRefusal: when an approval gate refuses a status change mail
// asks for, the message is still taken (not quarantined), the status
// stays, and the mail log says why; tickets mail registers reach the
// AfterCreate hook after commit.
func TestGuardRefusal(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	var created []string
	var err error
	p.mail, err = mail.NewWith(mail.Opts{Store: p.db, Key: []byte(testKey),
		Guard: func(_ context.Context, _ desk.Tx, _ desk.Ticket, to desk.Status) error {
			return desk.Errorf(desk.EConflict, "approval required before %s", to)
		},
		AfterCreate: func(_ context.Context, t desk.Ticket) { created = append(created, t.Number) }})
	if err != nil {
		t.Fatal(err)
	}
	r := p.ingest(t, mailtest.Message(requester, mail.NationalDeskAddress, "Rinnovo certificato (FE)", "Il certificato è scaduto."))
	if r.Outcome != mailbox.OutTicket || !strings.Contains(r.Detail, "approval required") {
		t.Fatalf("outcome %s (%s)", r.Outcome, r.Detail)
	}
	tk, _ := p.desk.Ticket(p.ctx, desk.SystemActor, r.TicketNumber)
	if tk.Status != desk.StatusNew {
		t.Errorf("status %s", tk.Status)
	}
	if len(created) != 1 || created[0] != r.TicketNumber {
		t.Errorf("AfterCreate saw %v", created)
	}
}

// TestOwnMailComesBack: a copy of our own answer filed in the inbox, or
// mail from one of the desk's addresses, opens nothing and joins nothing.
func TestOwnMailComesBack(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	first := p.ingest(t, mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - prova", "testo"))
	var ack mailbox.Outbound
	err := mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
		outs, err := tx.Outbounds(p.ctx, first.TicketID, nil, 0, 10)
		if len(outs) == 1 {
			ack, err = tx.OutboundByID(p.ctx, outs[0].ID)
		}
		return err
	})
	if err != nil || ack.ID == 0 {
		t.Fatalf("no acknowledgement (%v)", err)
	}
	if r := p.ingest(t, ack.Raw); r.Outcome != mailbox.OutDuplicate {
		t.Errorf("our own answer came back: %s (%s)", r.Outcome, r.Detail)
	}
	if r := p.ingest(t, mailtest.Message(mail.NationalDeskAddress, mail.NationalDeskAddress, "Prova interna", "x")); r.Outcome != mailbox.OutRobot {
		t.Errorf("mail from the desk's own address: %s (%s)", r.Outcome, r.Detail)
	}
	tl, _ := p.desk.Timeline(p.ctx, desk.SystemActor, first.TicketNumber)
	if len(tl.Messages) != 0 {
		t.Errorf("%d messages added to the ticket", len(tl.Messages))
	}
}

func TestMailLogAccess(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	r := p.ingest(t, mailtest.Message(requester, mail.NationalDeskRetired[0], "vecchio indirizzo", "x"))
	var deskOrgID int64
	_ = p.db.View(p.ctx, func(tx desk.Tx) error {
		o, err := tx.OrgByCode(p.ctx, deskOrg)
		deskOrgID = o.ID
		return err
	})
	admin := desk.Actor{UserID: 1, OrgID: deskOrgID, Role: desk.RoleAdmin}
	log, err := mail.MailLog(p.ctx, p.db, admin, mailbox.LogQuery{Outcomes: []mailbox.Outcome{mailbox.OutRetired}})
	if err != nil || len(log) != 1 || log[0].ID != r.ID || log[0].Raw != nil {
		t.Fatalf("org admin: %d entries (%v)", len(log), err)
	}
	other := desk.Actor{UserID: 2, OrgID: deskOrgID + 100, Role: desk.RoleAdmin}
	if log, err := mail.MailLog(p.ctx, p.db, other, mailbox.LogQuery{}); err != nil || len(log) != 0 {
		t.Errorf("another organisation's admin sees %d entries (%v)", len(log), err)
	}
	if _, err := mail.RawMessage(p.ctx, p.db, other, r.ID); desk.ErrorCode(err) != desk.ENotFound {
		t.Errorf("another organisation's admin reads the raw message: %v", err)
	}
	if in, err := mail.RawMessage(p.ctx, p.db, admin, r.ID); err != nil || len(in.Raw) == 0 {
		t.Errorf("raw: %v", err)
	}
	agent := desk.Actor{UserID: 3, OrgID: deskOrgID, Role: desk.RoleAgent}
	if _, err := mail.MailLog(p.ctx, p.db, agent, mailbox.LogQuery{}); desk.ErrorCode(err) != desk.EForbidden {
		t.Errorf("agent: %v", err)
	}
}

// TestReminders: a ticket waiting on its requester for longer than After
// gets one reminder per waiting period.
func TestReminders(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	r := p.ingest(t, mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - attesa", "x"))
	if _, err := p.desk.Transition(p.ctx, desk.SystemActor, r.TicketNumber, desk.TransitionInput{To: desk.StatusWaitingRequester}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(4 * 24 * time.Hour)
	rem := outbox.NewReminders(outbox.ReminderOpts{Store: p.db, Outbox: p.mail.Outbox, Now: func() time.Time { return later }})
	for i, want := range []int{1, 0} {
		n, err := rem.RunOnce(p.ctx)
		if err != nil || n != want {
			t.Fatalf("run %d: %d reminders (%v), want %d", i, n, err, want)
		}
	}
	early := outbox.NewReminders(outbox.ReminderOpts{Store: p.db, Outbox: p.mail.Outbox})
	if n, _ := early.RunOnce(p.ctx); n != 0 {
		t.Errorf("%d reminders before the ticket waited long enough", n)
	}
	err := mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
		last, err := tx.LastOutbound(p.ctx, r.TicketID, outbox.KindReminder)
		if err == nil && !strings.Contains(last.Subject, r.TicketNumber) {
			t.Errorf("reminder subject %q", last.Subject)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPlusReplyTo: with PlusReplyTo, an answer sent to the signed plus
// address joins the ticket even without references or subject tag; a
// forged tag does not.
func TestPlusReplyTo(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	var err error
	if p.mail, err = mail.NewWith(mail.Opts{Store: p.db, Key: []byte(testKey), PlusReplyTo: true}); err != nil {
		t.Fatal(err)
	}
	first := p.ingest(t, mailtest.Message(requester, mail.NationalDeskAddress, "BDNA - prova", "x"))
	var raw []byte
	_ = mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
		outs, err := tx.Outbounds(p.ctx, first.TicketID, nil, 0, 10)
		if err == nil && len(outs) == 1 {
			o, _ := tx.OutboundByID(p.ctx, outs[0].ID)
			raw = o.Raw
		}
		return err
	})
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	replyTo := strings.Trim(env.GetHeader("Reply-To"), "<> ")
	if !strings.HasPrefix(replyTo, "assistenza+t."+first.TicketNumber+".") {
		t.Fatalf("Reply-To %q", replyTo)
	}
	r := p.ingest(t, mailtest.Message("collega@comune.example.it", replyTo, "informazione", "La utenza è di un collega."))
	if r.TicketNumber != first.TicketNumber || r.Outcome != mailbox.OutMessage {
		t.Errorf("plus-address reply: %s %s (%s)", r.Outcome, r.TicketNumber, r.Detail)
	}
	forged := strings.Replace(replyTo, ".", "x", 2)
	if r := p.ingest(t, mailtest.Message("collega@comune.example.it", forged, "informazione", "x")); r.TicketNumber == first.TicketNumber {
		t.Error("a forged plus address joined the ticket")
	}
}

package mail_test

import (
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestPECMailbox: in a PEC mailbox the real message is taken from the
// envelope (channel pec), and the provider's receipts are recorded on the
// sent message they certify, never opened as tickets.
func TestPECMailbox(t *testing.T) {
	p := newProcEnv(t, storetest.OpenSQLite)
	var err error
	p.mb, _, err = mail.SaveMailbox(p.ctx, p.db, p.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskPEC, PEC: true,
		IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pki := pectest.NewPKI(t)
	env := p.ingest(t, pectest.Envelope(pki.Signer).Build(t))
	if env.Outcome != mailbox.OutTicket {
		t.Fatalf("envelope: %s (%s)", env.Outcome, env.Detail)
	}
	tk, err := p.desk.Ticket(p.ctx, desk.SystemActor, env.TicketNumber)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Channel != desk.ChannelPEC || tk.Requester.Email != pectest.Citizen || tk.ServiceCode != "bdna" {
		t.Errorf("ticket channel %s requester %s service %s", tk.Channel, tk.Requester.Email, tk.ServiceCode)
	}
	if env.MessageID != pectest.EnvelopeMessageID || env.Recipient != mail.NationalDeskPEC {
		t.Errorf("recorded Message-ID %q recipient %q", env.MessageID, env.Recipient)
	}

	// Our reply, as if sent; then its receipts arrive.
	var out mailbox.Outbound
	err = mailbox.Update(p.ctx, p.db, func(tx mailbox.Tx) error {
		out = mailbox.Outbound{MailboxID: p.mb.ID, TicketID: tk.ID, Kind: "reply", MessageID: pectest.OutboundMessageID,
			From: mail.NationalDeskPEC, To: []string{pectest.Citizen}, Raw: pectest.Outbound(), State: mailbox.OutSent,
			NextAt: time.Now(), Created: time.Now()}
		return tx.InsertOutbound(p.ctx, &out)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range []pec.ReceiptType{pec.ReceiptAccettazione, pec.ReceiptAvvenutaConsegna, pec.ReceiptErroreConsegna} {
		r := p.ingest(t, pectest.Receipt(rt, pki.Signer).Build(t))
		if r.Outcome != mailbox.OutReceipt || r.TicketID != tk.ID {
			t.Errorf("%s: outcome %s ticket %d (%s)", rt, r.Outcome, r.TicketID, r.Detail)
		}
	}
	err = mailbox.View(p.ctx, p.db, func(tx mailbox.Tx) error {
		evs, err := tx.OutEvents(p.ctx, out.ID)
		if len(evs) != 3 || evs[0].Kind != "pec:accettazione" || evs[1].Kind != "pec:avvenuta-consegna" {
			t.Errorf("events %+v", evs)
		}
		got, _ := tx.OutboundByID(p.ctx, out.ID)
		if got.State != mailbox.OutBounced {
			t.Errorf("state %s after a delivery failure receipt", got.State)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := p.desk.ListTickets(p.ctx, desk.SystemActor, desk.ListQuery{})
	if err != nil || len(all.Items) != 1 {
		t.Errorf("%d tickets (%v): receipts must open none", len(all.Items), err)
	}
}

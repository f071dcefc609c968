package mail_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/mailtest"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// pecEnv is env with the desk's PEC mailbox: a real IMAP server the
// intake job reads, a real SMTP server standing for the provider's
// submission server, and the provider's test CA as trust anchor.
type pecEnv struct {
	*env
	pki *pectest.PKI
	reg *prometheus.Registry
	// refuse makes the submission server refuse every message for good.
	refuse atomic.Bool
}

func newPECEnv(t *testing.T, open func(testing.TB) *store.DB, opts ...func(*mail.Opts)) *pecEnv {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), db: open(t)}
	e.desk = storetest.NewDesk(t, e.db, nil)
	seedDesk(t, e.db, e.desk)
	e.imap = mailtest.StartIMAP(t)
	e.smtp = mailtest.StartSMTP(t)
	p := &pecEnv{env: e, pki: pectest.NewPKI(t), reg: prometheus.NewRegistry()}
	e.smtp.Fail = func() error {
		if p.refuse.Load() {
			return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "messaggio rifiutato dal gestore PEC"}
		}
		return nil
	}
	o := mail.Opts{Store: e.db, Key: []byte(testKey), Tune: fast, Registry: p.reg,
		PEC: pec.Options{TrustAnchors: p.pki.CA.Pool(), Now: pectest.NowFunc}}
	for _, f := range opts {
		f(&o)
	}
	var err error
	if e.mail, err = mail.NewWith(o); err != nil {
		t.Fatal(err)
	}
	e.mb, _, err = mail.SaveMailbox(e.ctx, e.db, e.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskPEC, PEC: true,
		IMAP: e.imap.URL(), SMTP: e.smtp.URL()}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.desk.SetTxHooks(desk.TxHooks{OnMessage: e.mail.EnqueueReply, OnStatus: e.mail.EnqueueStatus})
	e.start()
	return p
}

func onPECEngines(t *testing.T, fn func(t *testing.T, e *pecEnv)) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) { fn(t, newPECEnv(t, storetest.Engines[name])) })
	}
}

// envelopeN is the signed envelope of a new certified message number n
// (its own Message-IDs, so that it is not a duplicate).
func (p *pecEnv) envelopeN(n string) pectest.Message {
	m := pectest.Envelope(p.pki.Signer)
	m.MessageID = "opec21." + n + "@pec.gestore.example.it"
	m.Daticert.Identificativo = m.MessageID
	m.Daticert.MsgID = n + "." + pectest.OriginalMessageID
	m.RiferimentoMessageID = m.Daticert.MsgID
	m.Postacert = bytes.Replace(pectest.Original(), []byte(pectest.OriginalMessageID), []byte(m.Daticert.MsgID), 1)
	return m
}

// receiptFor is a signed receipt of type rt about a message we sent.
func (p *pecEnv) receiptFor(rt pec.ReceiptType, out mailbox.Outbound, n string) []byte {
	m := pectest.Receipt(rt, p.pki.Signer)
	m.MessageID = "ricevuta." + n + "." + string(rt) + "@pec.gestore.example.it"
	m.RiferimentoMessageID = out.MessageID
	m.Daticert.MsgID = out.MessageID
	return m.Build(p.t)
}

func (p *pecEnv) pecData(number string) mailbox.TicketPEC {
	p.t.Helper()
	tp, err := mail.TicketPEC(p.ctx, p.desk, p.db, desk.SystemActor, number)
	if err != nil {
		p.t.Fatal(err)
	}
	return tp
}

// waitOut waits until the n-th PEC message of a ticket is sent.
func (p *pecEnv) waitOut(number string, n int) mailbox.PECSent {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tp := p.pecData(number)
		if len(tp.Sent) >= n && tp.Sent[n-1].Outbound.State == mailbox.OutSent {
			return tp.Sent[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("PEC message %d of %s was not sent", n, number)
	return mailbox.PECSent{}
}

func deliveryStates(ds []mailbox.PECDelivery) map[string]mailbox.DeliveryState {
	out := map[string]mailbox.DeliveryState{}
	for _, d := range ds {
		out[d.Recipient] = d.State
	}
	return out
}

// TestPECEndToEnd: a certified request read over IMAP becomes a ticket with
// its evidence; the agent's replies leave through the PEC mailbox's
// submission server; their receipts land on the replies (never in the
// queue), move the per-recipient state and alert on non-delivery; no
// delivery after 24 hours alerts too; malformed PEC messages are
// quarantined without holding up the mailbox.
func TestPECEndToEnd(t *testing.T) { onPECEngines(t, testPECEndToEnd) }

func testPECEndToEnd(t *testing.T, p *pecEnv) {
	ctx := p.ctx
	raw := p.envelopeN("1").Build(t)
	rec := p.deliver(raw)
	if rec.Outcome != mailbox.OutTicket {
		t.Fatalf("envelope: %s (%s)", rec.Outcome, rec.Detail)
	}
	tk := p.ticket(rec.TicketNumber)
	if tk.Channel != desk.ChannelPEC || tk.Requester.Email != pectest.Citizen || tk.Subject != pectest.OriginalSubject {
		t.Errorf("ticket channel %s requester %s subject %q", tk.Channel, tk.Requester.Email, tk.Subject)
	}
	tl := p.timeline(tk.Number)
	if len(tl.Attachments) != 1 || tl.Attachments[0].Name != "schermata-errore.pdf" {
		t.Errorf("attachments of postacert.eml: %+v", tl.Attachments)
	}
	if !strings.Contains(tk.Description, "utente non abilitato") {
		t.Errorf("description is not the enclosed message's body: %q", tk.Description)
	}

	// The certification data and the evidence.
	tp := p.pecData(tk.Number)
	if !tp.PEC || tp.CertifiedSender != pectest.Citizen || len(tp.Certs) != 1 {
		t.Fatalf("PEC data %+v", tp)
	}
	c := tp.Certs[0]
	d := c.Daticert
	if c.Kind != "envelope" || c.Tipo != "posta-certificata" || !c.Signed || c.SigStatus != "verified" || d == nil {
		t.Fatalf("cert %+v", c)
	}
	if d.Gestore != pectest.ProviderName || d.ID != "opec21.1@pec.gestore.example.it" || d.MsgID != "1."+pectest.OriginalMessageID ||
		d.Zona != "+0100" || !d.Data.Equal(pectest.EnvelopeTime) || d.Mittente != pectest.Citizen ||
		len(d.Destinatari) != 1 || d.Destinatari[0] != (mailbox.PECRecipient{Address: pectest.DeskPEC, Kind: "certificato"}) {
		t.Errorf("daticert %+v", d)
	}
	in, cert, err := mail.Evidence(ctx, p.desk, p.db, desk.SystemActor, tk.Number, c.InID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if !bytes.Equal(in.Raw, raw) || cert.SHA256 != hex.EncodeToString(sum[:]) || in.SHA256 != cert.SHA256 {
		t.Errorf("evidence differs from the message received (sha %s)", cert.SHA256)
	}

	// The acknowledgement went out by PEC too, and is delivered.
	ack := p.waitOut(tk.Number, 1)
	if ack.Outbound.Kind != "ack" {
		t.Fatalf("first PEC message sent is %q", ack.Outbound.Kind)
	}
	p.deliver(p.receiptFor(pec.ReceiptAccettazione, ack.Outbound, "ack"))
	p.deliver(p.receiptFor(pec.ReceiptAvvenutaConsegna, ack.Outbound, "ack"))

	// The agent replies: through the PEC mailbox, From the mailbox.
	agent := agentActor(t, p.desk)
	if _, err := p.desk.Update(ctx, desk.SystemActor, tk.Number, desk.Changes{Assignee: ptr("agente@desk.example.it")}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.desk.AddMessage(ctx, agent, tk.Number, desk.NewMessage{Body: "L'utenza è stata riabilitata."}); err != nil {
		t.Fatal(err)
	}
	s1 := p.waitOut(tk.Number, 2)
	sent := p.smtp.Sent()
	var reply mailtest.Sent
	for _, s := range sent {
		if bytes.Contains(s.Data, []byte(s1.Outbound.MessageID)) {
			reply = s
		}
	}
	if reply.From != mail.NationalDeskPEC || len(reply.To) != 1 || reply.To[0] != pectest.Citizen {
		t.Errorf("submitted MAIL FROM %q RCPT %v", reply.From, reply.To)
	}
	if env := sentMessage(t, reply); !strings.Contains(env.GetHeader("From"), mail.NationalDeskPEC) || env.GetHeader("Bcc") != "" {
		t.Errorf("reply From %q Bcc %q", env.GetHeader("From"), env.GetHeader("Bcc"))
	}
	if st := deliveryStates(s1.Deliveries); st[pectest.Citizen] != mailbox.DelSent || s1.Status() != "sent" {
		t.Errorf("before receipts: %v %s", st, s1.Status())
	}

	// Its receipts: acceptance, taken in charge, delivery.
	out1 := s1.Outbound
	for i, rt := range []pec.ReceiptType{pec.ReceiptAccettazione, pec.ReceiptPresaInCarico, pec.ReceiptAvvenutaConsegna} {
		r := p.deliver(p.receiptFor(rt, out1, "1"))
		if r.Outcome != mailbox.OutReceipt || r.TicketNumber != tk.Number {
			t.Errorf("%s: %s on %q (%s)", rt, r.Outcome, r.TicketNumber, r.Detail)
		}
		got := p.pecData(tk.Number).Sent[1]
		want := []string{"accepted", "accepted", "delivered"}[i]
		if got.Status() != want || len(got.Receipts) != i+1 {
			t.Errorf("after %s: status %s, %d receipts", rt, got.Status(), len(got.Receipts))
		}
	}
	if n := p.countTickets(); n != 1 {
		t.Errorf("%d tickets: receipts must open none", n)
	}

	// The citizen answers by PEC: the enclosed message threads on the
	// ticket (In-Reply-To our reply), with its own certification data.
	ans := p.envelopeN("answer")
	ans.Postacert = mailtest.Message(pectest.Citizen, pectest.DeskPEC, "Re: "+out1.Subject, "Grazie, ora riesco ad accedere.",
		"Message-ID: <"+ans.Daticert.MsgID+">", "In-Reply-To: <"+out1.MessageID+">")
	if r := p.deliver(ans.Build(t)); r.Outcome != mailbox.OutMessage || r.TicketNumber != tk.Number {
		t.Errorf("PEC answer: %s on %q (%s)", r.Outcome, r.TicketNumber, r.Detail)
	}
	envelopes := 0
	for _, c := range p.pecData(tk.Number).Certs {
		if c.Kind == "envelope" && c.TicketID == tk.ID {
			envelopes++
			if envelopes == 2 && (c.MessageRef == 0 || c.Daticert.MsgID != ans.Daticert.MsgID) {
				t.Errorf("answer's cert %+v", c)
			}
		}
	}
	if envelopes != 2 {
		t.Errorf("%d certified messages on the ticket", envelopes)
	}

	// A second reply is not delivered: the assignee is alerted.
	if _, err := p.desk.AddMessage(ctx, agent, tk.Number, desk.NewMessage{Body: "Un'ultima verifica."}); err != nil {
		t.Fatal(err)
	}
	out2 := p.waitOut(tk.Number, 3).Outbound
	p.deliver(p.receiptFor(pec.ReceiptAccettazione, out2, "2"))
	r := p.deliver(p.receiptFor(pec.ReceiptErroreConsegna, out2, "2"))
	if r.Outcome != mailbox.OutReceipt {
		t.Fatalf("errore-consegna: %s (%s)", r.Outcome, r.Detail)
	}
	tp = p.pecData(tk.Number)
	if s := tp.Sent[2]; s.Status() != "failed" || s.Outbound.State != mailbox.OutBounced {
		t.Errorf("second reply: %s, outbox %s", s.Status(), s.Outbound.State)
	}
	if len(tp.Alerts) != 1 || tp.Alerts[0].Kind != "errore-consegna" || tp.Alerts[0].Recipient != pectest.Citizen {
		t.Fatalf("alerts %+v", tp.Alerts)
	}
	mine, err := mail.PECAlerts(ctx, p.db, agent, true, 10)
	if err != nil || len(mine) != 1 || mine[0].TicketNumber != tk.Number {
		t.Errorf("agent's workspace alerts %+v (%v)", mine, err)
	}
	if !hasNote(p.timeline(tk.Number), "avviso di mancata consegna") {
		t.Error("no note on the ticket about the non-delivery")
	}
	if v := metric(t, p.reg, "errore-consegna"); v != 1 {
		t.Errorf("sportello_pec_alerts_total{kind=errore-consegna} = %v", v)
	}
	// The same receipt again (a provider resending it) alerts once.
	p.deliver(p.receiptFor(pec.ReceiptErroreConsegna, out2, "2bis"))
	if n := len(p.pecData(tk.Number).Alerts); n != 1 {
		t.Errorf("%d alerts after a repeated receipt", n)
	}

	// A third reply gets no receipt at all: after 24 hours, an alert.
	if _, err := p.desk.AddMessage(ctx, agent, tk.Number, desk.NewMessage{Body: "Terza risposta."}); err != nil {
		t.Fatal(err)
	}
	out3 := p.waitOut(tk.Number, 4).Outbound
	if n, err := p.mail.PECOverdue.RunAt(ctx, out3.Sent.Add(23*time.Hour)); err != nil || n != 0 {
		t.Errorf("overdue after 23 hours: %d (%v)", n, err)
	}
	if n, err := p.mail.PECOverdue.RunAt(ctx, out3.Sent.Add(25*time.Hour)); err != nil || n != 1 {
		t.Errorf("overdue after 25 hours: %d (%v)", n, err)
	}
	if n, err := p.mail.PECOverdue.RunAt(ctx, out3.Sent.Add(26*time.Hour)); err != nil || n != 0 {
		t.Errorf("overdue alerted twice: %d (%v)", n, err)
	}
	tp = p.pecData(tk.Number)
	if len(tp.Alerts) != 2 || tp.Alerts[0].Kind != mailbox.AlertOverdue || tp.Alerts[0].OutID != out3.ID {
		t.Errorf("alerts %+v", tp.Alerts)
	}
	if v := metric(t, p.reg, "overdue"); v != 1 {
		t.Errorf("sportello_pec_alerts_total{kind=overdue} = %v", v)
	}

	// Malformed PEC messages are quarantined with their bytes; the next
	// message is still taken.
	for _, mc := range pectest.Malformed(p.pki.Signer) {
		m := mc.Message
		m.MessageID = "malformed." + mc.Name + "@pec.gestore.example.it"
		b := m.Build(t)
		r := p.deliver(b)
		if r.Outcome != mailbox.OutQuarantined {
			t.Errorf("%s: %s (%s)", mc.Name, r.Outcome, r.Detail)
			continue
		}
		got, _ := mail.RawMessage(ctx, p.db, desk.SystemActor, r.ID)
		if !bytes.Equal(got.Raw, b) {
			t.Errorf("%s: raw bytes not kept", mc.Name)
		}
	}
	if r := p.deliver(p.envelopeN("2").Build(t)); r.Outcome != mailbox.OutTicket {
		t.Errorf("envelope after the malformed ones: %s (%s)", r.Outcome, r.Detail)
	}
	if n := p.countTickets(); n != 2 {
		t.Errorf("%d tickets, want 2", n)
	}
}

func hasNote(tl desk.Timeline, text string) bool {
	for _, m := range tl.Messages {
		if m.Internal && strings.Contains(m.Body, text) {
			return true
		}
	}
	return false
}

func metric(t *testing.T, reg *prometheus.Registry, kind string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sportello_pec_alerts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func ptr[T any](v T) *T { return &v }

// TestPECReceiptTypes records every receipt type on the reply it
// certifies, for a reply to a certified and an external recipient, and
// checks the delivery state and alert each one brings.
func TestPECReceiptTypes(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) { testPECReceiptTypes(t, storetest.Engines[name]) })
	}
}

func testPECReceiptTypes(t *testing.T, open func(testing.TB) *store.DB) {
	pki := pectest.NewPKI(t)
	cases := []struct {
		rt     pec.ReceiptType
		want   map[string]mailbox.DeliveryState
		status string
		alert  bool
	}{
		{pec.ReceiptAccettazione, map[string]mailbox.DeliveryState{pectest.Citizen: mailbox.DelAccepted, pectest.External: mailbox.DelAccepted}, "accepted", false},
		{pec.ReceiptNonAccettazione, map[string]mailbox.DeliveryState{pectest.Citizen: mailbox.DelFailed, pectest.External: mailbox.DelFailed}, "failed", true},
		{pec.ReceiptPresaInCarico, map[string]mailbox.DeliveryState{pectest.Citizen: mailbox.DelSent, pectest.External: mailbox.DelSent}, "sent", false},
		{pec.ReceiptAvvenutaConsegna, map[string]mailbox.DeliveryState{pectest.Citizen: mailbox.DelDelivered, pectest.External: mailbox.DelSent}, "partial", false},
		{pec.ReceiptPreavvisoErroreConsegna, map[string]mailbox.DeliveryState{pectest.Citizen: mailbox.DelWarned, pectest.External: mailbox.DelSent}, "accepted", true},
		{pec.ReceiptErroreConsegna, map[string]mailbox.DeliveryState{pectest.Citizen: mailbox.DelFailed, pectest.External: mailbox.DelSent}, "partial", true},
		{pec.ReceiptRilevazioneVirus, map[string]mailbox.DeliveryState{pectest.Citizen: mailbox.DelFailed, pectest.External: mailbox.DelSent}, "partial", true},
	}
	for _, c := range cases {
		t.Run(string(c.rt), func(t *testing.T) {
			p := newProcEnv(t, open)
			var err error
			p.mb, _, err = mail.SaveMailbox(p.ctx, p.db, p.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskPEC, PEC: true,
				IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			tk, err := p.desk.CreateTicket(p.ctx, desk.SystemActor, desk.NewTicket{OrgCode: deskOrg, Subject: "Richiesta", Description: "x",
				Channel: desk.ChannelPEC, Requester: desk.Contact{Email: pectest.Citizen}})
			if err != nil {
				t.Fatal(err)
			}
			// The reply as sent to two recipients (Outbound has Cc).
			var out mailbox.Outbound
			err = mailbox.Update(p.ctx, p.db, func(tx mailbox.Tx) error {
				out = mailbox.Outbound{MailboxID: p.mb.ID, TicketID: tk.ID, Kind: "reply", MessageID: pectest.OutboundMessageID,
					From: mail.NationalDeskPEC, To: []string{pectest.Citizen}, Raw: pectest.Outbound(), State: mailbox.OutSent,
					NextAt: time.Now(), Created: time.Now()}
				if err := tx.InsertOutbound(p.ctx, &out); err != nil {
					return err
				}
				for _, r := range []string{pectest.Citizen, pectest.External} {
					if err := mailbox.PECOf(tx).PutDelivery(p.ctx, mailbox.PECDelivery{OutID: out.ID, Recipient: r, State: mailbox.DelSent, Updated: time.Now()}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			raw := pectest.Receipt(c.rt, pki.Signer).Build(t)
			rec := p.ingest(t, raw)
			if rec.Outcome != mailbox.OutReceipt || rec.TicketID != tk.ID {
				t.Fatalf("outcome %s ticket %d (%s)", rec.Outcome, rec.TicketID, rec.Detail)
			}
			tp, err := mail.TicketPEC(p.ctx, p.desk, p.db, desk.SystemActor, tk.Number)
			if err != nil {
				t.Fatal(err)
			}
			if len(tp.Sent) != 1 || len(tp.Certs) != 1 {
				t.Fatalf("sent %d certs %d", len(tp.Sent), len(tp.Certs))
			}
			if got := deliveryStates(tp.Sent[0].Deliveries); !mapsEqual(got, c.want) {
				t.Errorf("states %v, want %v", got, c.want)
			}
			if s := tp.Sent[0].Status(); s != c.status {
				t.Errorf("status %s, want %s", s, c.status)
			}
			if got := len(tp.Alerts) == 1; got != c.alert {
				t.Errorf("alerts %+v, want alert %v", tp.Alerts, c.alert)
			}
			cert := tp.Certs[0]
			if cert.Kind != "receipt" || cert.Tipo != string(c.rt) || cert.OutID != out.ID || cert.Daticert == nil ||
				len(cert.Daticert.Destinatari) != 2 || cert.Daticert.Destinatari[1].Kind != "esterno" || cert.Daticert.Zona != "+0200" {
				t.Errorf("receipt cert %+v daticert %+v", cert, cert.Daticert)
			}
			if _, _, err := mail.Evidence(p.ctx, p.desk, p.db, desk.SystemActor, tk.Number, cert.InID); err != nil {
				t.Errorf("receipt evidence: %v", err)
			}
			all, _ := p.desk.ListTickets(p.ctx, desk.SystemActor, desk.ListQuery{})
			if len(all.Items) != 1 {
				t.Errorf("%d tickets: a receipt opened one", len(all.Items))
			}
		})
	}
}

func mapsEqual(a, b map[string]mailbox.DeliveryState) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPECVariants: the anomaly envelope is ordinary mail shown as not
// certified; ISO-8859-1 and quoted-printable daticert keep their accents;
// an untrusted signature is recorded as failed, not refused; a receipt
// without X-Riferimento-Message-ID is matched by daticert msgid; a receipt
// about a message we never sent opens nothing.
func TestPECVariants(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) { testPECVariants(t, storetest.Engines[name]) })
	}
}

func testPECVariants(t *testing.T, open func(testing.TB) *store.DB) {
	p := newProcEnv(t, open)
	pki := pectest.NewPKI(t)
	var err error
	p.mail, err = mail.NewWith(mail.Opts{Store: p.db, Key: []byte(testKey), PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}})
	if err != nil {
		t.Fatal(err)
	}
	p.mb, _, err = mail.SaveMailbox(p.ctx, p.db, p.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskPEC, PEC: true,
		IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certOf := func(number string) mailbox.PECCert {
		t.Helper()
		tp, err := mail.TicketPEC(p.ctx, p.desk, p.db, desk.SystemActor, number)
		if err != nil || len(tp.Certs) != 1 {
			t.Fatalf("PEC data of %s: %+v (%v)", number, tp, err)
		}
		return tp.Certs[0]
	}

	an := p.ingest(t, pectest.Anomaly(pki.Signer).Build(t))
	if an.Outcome != mailbox.OutTicket {
		t.Fatalf("anomaly: %s (%s)", an.Outcome, an.Detail)
	}
	if c := certOf(an.TicketNumber); c.Kind != "anomaly" || c.Certified() || c.Daticert != nil {
		t.Errorf("anomaly cert %+v", c)
	}
	if tk, _ := p.desk.Ticket(p.ctx, desk.SystemActor, an.TicketNumber); tk.Channel != desk.ChannelEmail || tk.Requester.Email != "promo@offerte.example.com" {
		t.Errorf("anomaly ticket channel %s requester %s", tk.Channel, tk.Requester.Email)
	}
	// No automatic answer to a sender nobody certified.
	if !strings.Contains(an.Detail, "not certified") {
		t.Errorf("anomaly detail %q, want no automatic answer", an.Detail)
	}
	var answers int
	if err := p.db.SQL().QueryRow("SELECT COUNT(*) FROM mail_out WHERE rcpt_to LIKE '%promo@offerte.example.com%'").Scan(&answers); err != nil || answers != 0 {
		t.Errorf("%d messages queued to the anomaly's sender (%v), want none", answers, err)
	}

	for i, enc := range []string{"base64", "quoted-printable"} {
		m := pectest.Envelope(pki.Signer)
		m.MessageID = "latin." + enc + "@pec.gestore.example.it"
		m.Daticert = pectest.LatinDaticert()
		m.Daticert.MsgID = enc + "." + pectest.OriginalMessageID
		m.DaticertCharset, m.DaticertEncoding = "ISO-8859-1", enc
		m.Postacert = bytes.Replace(pectest.Original(), []byte(pectest.OriginalMessageID), []byte(m.Daticert.MsgID), 1)
		r := p.ingest(t, m.Build(t))
		if r.Outcome != mailbox.OutTicket {
			t.Fatalf("%s: %s (%s)", enc, r.Outcome, r.Detail)
		}
		c := certOf(r.TicketNumber)
		if c.Daticert.Oggetto != pectest.LatinDaticert().Oggetto || c.Sender != "segreteria.sindaco@pec.comune.forlì.example.it" {
			t.Errorf("%d %s: oggetto %q sender %q", i, enc, c.Daticert.Oggetto, c.Sender)
		}
	}

	m := pectest.Envelope(pki.Untrusted)
	m.MessageID = "untrusted@pec.gestore.example.it"
	m.Daticert.MsgID = "untrusted." + pectest.OriginalMessageID
	m.Postacert = bytes.Replace(pectest.Original(), []byte(pectest.OriginalMessageID), []byte(m.Daticert.MsgID), 1)
	r := p.ingest(t, m.Build(t))
	if c := certOf(r.TicketNumber); c.SigStatus != "failed" || c.SigError == "" || !c.Signed {
		t.Errorf("untrusted signature recorded as %+v", c)
	}

	// A receipt about a message we never sent.
	stray := p.ingest(t, pectest.Receipt(pec.ReceiptAccettazione, pki.Signer).Build(t))
	if stray.Outcome != mailbox.OutReceipt || stray.TicketID != 0 || !strings.Contains(stray.Detail, "did not send") {
		t.Errorf("stray receipt: %s ticket %d (%s)", stray.Outcome, stray.TicketID, stray.Detail)
	}
}

// TestPECReplyRules: a reply through a PEC mailbox larger than the
// provider allows is refused with a clear too_large error and nothing is
// written; From is always the mailbox.
func TestPECReplyRules(t *testing.T) {
	p := newPECEnv(t, storetest.OpenSQLite, func(o *mail.Opts) { o.PECMaxSize = 64 << 10 })
	rec := p.deliver(p.envelopeN("rules").Build(t))
	agent := agentActor(t, p.desk)
	before := len(p.timeline(rec.TicketNumber).Messages)
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB
	_, err := p.desk.AddMessage(p.ctx, agent, rec.TicketNumber, desk.NewMessage{Body: "In allegato il documento.",
		Attachments: []desk.NewAttachment{{Name: "grande.bin", ContentType: "application/octet-stream", Data: big}}})
	if desk.ErrorCode(err) != desk.ETooLarge || !strings.Contains(desk.ErrorMessage(err), "limite") {
		t.Fatalf("oversized PEC reply: %v", err)
	}
	if n := len(p.timeline(rec.TicketNumber).Messages); n != before {
		t.Errorf("the refused reply was written: %d messages, %d before", n, before)
	}
	if _, err := p.desk.AddMessage(p.ctx, agent, rec.TicketNumber, desk.NewMessage{Body: "Risposta breve."}); err != nil {
		t.Fatal(err)
	}
	s := p.waitOut(rec.TicketNumber, 2)
	if s.Outbound.From != mail.NationalDeskPEC {
		t.Errorf("From %s", s.Outbound.From)
	}

	// The provider's submission server refuses a reply for good: the
	// ticket shows it failed and the assignee is alerted.
	p.refuse.Store(true)
	if _, err := p.desk.AddMessage(p.ctx, agent, rec.TicketNumber, desk.NewMessage{Body: "Seconda risposta."}); err != nil {
		t.Fatal(err)
	}
	var failed mailbox.PECSent
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && failed.Outbound.State != mailbox.OutFailed {
		if tp := p.pecData(rec.TicketNumber); len(tp.Sent) == 3 {
			failed = tp.Sent[2]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if failed.Outbound.State != mailbox.OutFailed || failed.Status() != "failed" {
		t.Fatalf("refused reply: %s %s", failed.Outbound.State, failed.Status())
	}
	if n, err := p.mail.PECOverdue.RunAt(p.ctx, time.Now()); err != nil || n != 1 {
		t.Errorf("not-sent alerts: %d (%v)", n, err)
	}
	if n, _ := p.mail.PECOverdue.RunAt(p.ctx, time.Now()); n != 0 {
		t.Errorf("not-sent alert raised twice: %d", n)
	}
	tp := p.pecData(rec.TicketNumber)
	if len(tp.Alerts) != 1 || tp.Alerts[0].Kind != mailbox.AlertNotSent || !strings.Contains(tp.Alerts[0].Detail, "rifiutato") {
		t.Errorf("alerts %+v", tp.Alerts)
	}
	if !hasNote(p.timeline(rec.TicketNumber), "messaggio non inviato") {
		t.Error("no note about the refused reply")
	}
}

// TestProtocolNumber: staff and hooks (the system actor) set a ticket's
// protocol number through the desk's update path, with history;
// requesters cannot; bad values are refused.
func TestProtocolNumber(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			db := storetest.Engines[name](t)
			d := storetest.NewDesk(t, db, nil)
			seedDesk(t, db, d)
			ctx := context.Background()
			tk, err := d.CreateTicket(ctx, desk.SystemActor, desk.NewTicket{OrgCode: deskOrg, Subject: "Istanza", Description: "x",
				Channel: desk.ChannelPEC, Requester: desk.Contact{Email: pectest.Citizen}})
			if err != nil {
				t.Fatal(err)
			}
			agent := agentActor(t, d)
			got, err := d.Update(ctx, agent, tk.Number, desk.Changes{Protocol: ptr("  prot. n. 4521 / 2026 ")})
			if err != nil || got.Protocol != "prot. n. 4521 / 2026" {
				t.Fatalf("staff: %q (%v)", got.Protocol, err)
			}
			if got, err = d.Update(ctx, desk.SystemActor, tk.Number, desk.Changes{Protocol: ptr("AOO-PREF/2026/0004522")}); err != nil || got.Protocol != "AOO-PREF/2026/0004522" {
				t.Fatalf("hook: %q (%v)", got.Protocol, err)
			}
			if read, _ := d.Ticket(ctx, desk.SystemActor, tk.Number); read.Protocol != "AOO-PREF/2026/0004522" {
				t.Errorf("read back %q", read.Protocol)
			}
			req, err := d.EnsureUser(ctx, desk.NewUser{Email: pectest.Citizen, Role: desk.RoleRequester, OrgCode: deskOrg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Update(ctx, desk.ActorFor(req), tk.Number, desk.Changes{Protocol: ptr("X")}); desk.ErrorCode(err) != desk.EForbidden {
				t.Errorf("requester: %v", err)
			}
			if _, err := d.Update(ctx, agent, tk.Number, desk.Changes{Protocol: ptr(strings.Repeat("9", 101))}); desk.ErrorCode(err) != desk.EInvalid {
				t.Errorf("too long: %v", err)
			}
			tl, err := d.Timeline(ctx, desk.SystemActor, tk.Number)
			if err != nil {
				t.Fatal(err)
			}
			var hist []string
			for _, e := range tl.Events {
				if e.Field == "protocol" {
					hist = append(hist, e.Old+"→"+e.New)
				}
			}
			if strings.Join(hist, "|") != "→prot. n. 4521 / 2026|prot. n. 4521 / 2026→AOO-PREF/2026/0004522" {
				t.Errorf("history %q", hist)
			}
			if got, err := d.Update(ctx, agent, tk.Number, desk.Changes{Protocol: ptr("")}); err != nil || got.Protocol != "" {
				t.Errorf("clear: %q (%v)", got.Protocol, err)
			}
		})
	}
}

// TestPECEvidenceAccess: the evidence of a ticket is downloadable by who
// may see the ticket, and only under that ticket.
func TestPECEvidenceAccess(t *testing.T) {
	p := newPECEnv(t, storetest.OpenSQLite)
	r1 := p.deliver(p.envelopeN("a").Build(t))
	r2 := p.deliver(p.envelopeN("b").Build(t))
	other, err := p.desk.CreateOrg(p.ctx, desk.SystemActor, desk.NewOrg{Code: "altro-ente", Name: "Altro ente"})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := p.desk.EnsureUser(p.ctx, desk.NewUser{Email: "agente@altro.example.it", Role: desk.RoleAgent, OrgCode: other.Code})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mail.Evidence(p.ctx, p.desk, p.db, desk.ActorFor(stranger), r1.TicketNumber, r1.ID); !desk.IsNotFound(err) {
		t.Errorf("agent of another organisation: %v", err)
	}
	if _, _, err := mail.Evidence(p.ctx, p.desk, p.db, desk.SystemActor, r1.TicketNumber, r2.ID); !desk.IsNotFound(err) {
		t.Errorf("another ticket's evidence under this ticket: %v", err)
	}
	if _, err := mail.PECAlerts(p.ctx, p.db, desk.Actor{Role: desk.RoleRequester, UserID: 1}, false, 10); desk.ErrorCode(err) != desk.EForbidden {
		t.Errorf("requester alerts: %v", err)
	}
	// The requester sees the evidence of their own ticket.
	req, err := p.desk.EnsureUser(p.ctx, desk.NewUser{Email: pectest.Citizen, Role: desk.RoleRequester, OrgCode: deskOrg})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mail.Evidence(p.ctx, p.desk, p.db, desk.ActorFor(req), r1.TicketNumber, r1.ID); err != nil {
		t.Errorf("requester's own evidence: %v", err)
	}
}

// TestScenario5ForwardPEC: with forward_pec on the renewal rule, a
// redirected request is also forwarded to the competent Prefecture's PEC
// address from the desk's PEC mailbox, and the receipts of the forward
// land on the ticket.
func TestScenario5ForwardPEC(t *testing.T) { onPECEngines(t, testScenario5ForwardPEC) }

func testScenario5ForwardPEC(t *testing.T, p *pecEnv) {
	ctx := p.ctx
	err := mailbox.Update(ctx, p.db, func(tx mailbox.Tx) error {
		org, err := tx.OrgByCode(ctx, deskOrg)
		if err != nil {
			return err
		}
		rules := mail.NationalDeskRules()
		rules[0].Then.ForwardPEC = true
		return tx.ReplaceRules(ctx, org.ID, rules, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	m := p.envelopeN("renewal")
	m.Postacert = mailtest.Message(pectest.Citizen, pectest.DeskPEC, "Rinnovo certificato digitale",
		"Buongiorno, sono il RUP del Comune di Cento (FE): il certificato digitale scade il mese prossimo.",
		"Message-ID: <"+m.Daticert.MsgID+">")
	rec := p.deliver(m.Build(t))
	if rec.Outcome != mailbox.OutRedirected || !strings.Contains(rec.Detail, "forwarded by PEC to protocollo.preffe@pec.interno.it") {
		t.Fatalf("outcome %s (%s)", rec.Outcome, rec.Detail)
	}
	var fwd mailbox.PECSent
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && fwd.Outbound.ID == 0 {
		for _, s := range p.pecData(rec.TicketNumber).Sent {
			if s.Outbound.Kind == "forward_pec" && s.Outbound.State == mailbox.OutSent {
				fwd = s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fwd.Outbound.ID == 0 || fwd.Outbound.From != mail.NationalDeskPEC || fwd.Outbound.To[0] != "protocollo.preffe@pec.interno.it" {
		t.Fatalf("forward %+v", fwd.Outbound)
	}
	var sent mailtest.Sent
	for _, s := range p.smtp.Sent() {
		if bytes.Contains(s.Data, []byte(fwd.Outbound.MessageID)) {
			sent = s
		}
	}
	env := sentMessage(t, sent)
	if sent.From != mail.NationalDeskPEC || len(env.Attachments) != 1 || env.Attachments[0].FileName != "richiesta-originale.eml" ||
		!bytes.Contains(env.Attachments[0].Content, []byte("Comune di Cento (FE)")) || !strings.Contains(env.Text, "Inoltro") && !strings.Contains(env.Text, "inoltra") {
		t.Errorf("forward as sent: from %s, %d attachments\n%s", sent.From, len(env.Attachments), env.Text)
	}
	p.deliver(p.receiptFor(pec.ReceiptAccettazione, fwd.Outbound, "fwd"))
	m2 := pectest.Receipt(pec.ReceiptAvvenutaConsegna, p.pki.Signer)
	m2.MessageID = "consegna.fwd@pec.gestore.example.it"
	m2.RiferimentoMessageID, m2.Daticert.MsgID, m2.Daticert.Consegna = fwd.Outbound.MessageID, fwd.Outbound.MessageID, "protocollo.preffe@pec.interno.it"
	if r := p.deliver(m2.Build(t)); r.TicketNumber != rec.TicketNumber {
		t.Errorf("delivery receipt of the forward on %q (%s)", r.TicketNumber, r.Detail)
	}
	for _, s := range p.pecData(rec.TicketNumber).Sent {
		if s.Outbound.ID == fwd.Outbound.ID && s.Status() != "delivered" {
			t.Errorf("forward status %s: %+v", s.Status(), s.Deliveries)
		}
	}
}

// FuzzIngestPEC is FuzzIngest for a PEC mailbox, seeded with every valid
// and malformed PEC fixture: whatever arrives is recorded with an outcome,
// nothing fails or panics, receipts never open tickets.
//
//	go test ./internal/mail -run '^$' -fuzz FuzzIngestPEC -fuzztime 30s -fuzzminimizetime 5s
func FuzzIngestPEC(f *testing.F) {
	pki := pectest.NewPKI(f)
	for _, c := range append(pectest.Catalogue(pki.Signer), pectest.Malformed(nil)...) {
		if b, err := c.Message.Bytes(); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("X-Ricevuta: accettazione\r\nX-Riferimento-Message-ID: <" + pectest.OutboundMessageID + ">\r\n\r\n"))
	f.Add([]byte("X-Trasporto: posta-certificata\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b--\r\n"))
	p := newProcEnv(f, storetest.OpenSQLite)
	var err error
	p.mail, err = mail.NewWith(mail.Opts{Store: p.db, Key: []byte(testKey), PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}})
	if err != nil {
		f.Fatal(err)
	}
	p.mb, _, err = mail.SaveMailbox(p.ctx, p.db, p.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskPEC, PEC: true,
		IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	tk, err := p.desk.CreateTicket(p.ctx, desk.SystemActor, desk.NewTicket{OrgCode: deskOrg, Subject: "Richiesta", Description: "x",
		Channel: desk.ChannelPEC, Requester: desk.Contact{Email: pectest.Citizen}})
	if err != nil {
		f.Fatal(err)
	}
	err = mailbox.Update(p.ctx, p.db, func(tx mailbox.Tx) error {
		out := mailbox.Outbound{MailboxID: p.mb.ID, TicketID: tk.ID, Kind: "reply", MessageID: pectest.OutboundMessageID,
			From: mail.NationalDeskPEC, To: []string{pectest.Citizen}, Raw: pectest.Outbound(), State: mailbox.OutSent,
			NextAt: time.Now(), Created: time.Now()}
		return tx.InsertOutbound(p.ctx, &out)
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p.uid++
		res, err := p.mail.Processor.Ingest(p.ctx, p.mb, 1, p.uid, raw)
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		if res.Already || res.Outcome == "" {
			t.Fatalf("result %+v", res)
		}
		if pec.Classify(headerOf(raw)) == pec.KindReceipt && (res.Outcome == mailbox.OutTicket || res.Outcome == mailbox.OutFollowUp) {
			t.Fatalf("a receipt opened ticket %s", res.Ticket)
		}
	})
}

// headerOf reads the top-level header of a raw message (empty when it
// does not parse).
func headerOf(raw []byte) map[string][]string {
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	return m.Header
}

// BenchmarkIngestPEC measures taking one signed PEC message apart and
// recording it through the processor on SQLite, with the provider
// signature verified: an envelope (a new ticket with its certification
// data) and a delivery receipt (recorded on the reply it certifies).
//
//	go test ./internal/mail -run '^$' -bench IngestPEC -benchtime 300x
func BenchmarkIngestPEC(b *testing.B) {
	pki := pectest.NewPKI(b)
	p := newProcEnv(b, storetest.OpenSQLite)
	var err error
	p.mail, err = mail.NewWith(mail.Opts{Store: p.db, Key: []byte(testKey), PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}})
	if err != nil {
		b.Fatal(err)
	}
	p.mb, _, err = mail.SaveMailbox(p.ctx, p.db, p.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskPEC, PEC: true,
		IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ingest := func(b *testing.B, raw []byte, want mailbox.Outcome) {
		p.uid++
		res, err := p.mail.Processor.Ingest(p.ctx, p.mb, 1, p.uid, raw)
		if err != nil || res.Outcome != want {
			b.Fatalf("%s (%s) %v", res.Outcome, res.Detail, err)
		}
	}
	b.Run("envelope", func(b *testing.B) {
		msgs := make([][]byte, b.N)
		for i := range msgs {
			m := pectest.Envelope(pki.Signer)
			id := fmt.Sprintf("bench%d", i)
			m.MessageID = "opec21." + id + "@pec.gestore.example.it"
			m.Daticert.MsgID = id + "." + pectest.OriginalMessageID
			m.Postacert = bytes.Replace(pectest.Original(), []byte(pectest.OriginalMessageID), []byte(m.Daticert.MsgID), 1)
			msgs[i] = m.Build(b)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ingest(b, msgs[i], mailbox.OutTicket)
		}
	})
	b.Run("receipt", func(b *testing.B) {
		tk, err := p.desk.CreateTicket(p.ctx, desk.SystemActor, desk.NewTicket{OrgCode: deskOrg, Subject: "x", Description: "x"})
		if err != nil {
			b.Fatal(err)
		}
		msgs := make([][]byte, b.N)
		err = mailbox.Update(p.ctx, p.db, func(tx mailbox.Tx) error {
			for i := range msgs {
				out := mailbox.Outbound{MailboxID: p.mb.ID, TicketID: tk.ID, Kind: "reply", MessageID: fmt.Sprintf("r%d.%d@pec.desk.example.it", i, time.Now().UnixNano()),
					From: mail.NationalDeskPEC, To: []string{pectest.Citizen}, Raw: []byte("x"), State: mailbox.OutSent, NextAt: time.Now(), Created: time.Now()}
				if err := tx.InsertOutbound(p.ctx, &out); err != nil {
					return err
				}
				m := pectest.Receipt(pec.ReceiptAvvenutaConsegna, pki.Signer)
				m.MessageID = fmt.Sprintf("consegna.%d@pec.gestore.example.it", i)
				m.RiferimentoMessageID, m.Daticert.MsgID = out.MessageID, out.MessageID
				msgs[i] = m.Build(b)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ingest(b, msgs[i], mailbox.OutReceipt)
		}
	})
}

// TestPECProtocolHook: a protocol-register hook numbers each ticket made
// from a certified message, after commit, through the desk's update path;
// a failing hook leaves the ticket without a number and loses nothing.
func TestPECProtocolHook(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			p := newProcEnv(t, storetest.Engines[name])
			pki := pectest.NewPKI(t)
			var calls []string
			fail := false
			var err error
			p.mail, err = mail.NewWith(mail.Opts{Store: p.db, Key: []byte(testKey), PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc},
				PECProtocol: func(_ context.Context, tk desk.Ticket, c mailbox.PECCert) (string, error) {
					calls = append(calls, tk.Number+" "+c.Daticert.ID)
					if fail {
						return "", errors.New("protocol register unreachable")
					}
					return "AOO-DESK/2026/" + strconv.Itoa(len(calls)), nil
				}})
			if err != nil {
				t.Fatal(err)
			}
			p.mb, _, err = mail.SaveMailbox(p.ctx, p.db, p.mail.Sealer, mail.MailboxInput{Address: mail.NationalDeskPEC, PEC: true,
				IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			env := (&pecEnv{env: &env{t: t}, pki: pki}).envelopeN
			r1 := p.ingest(t, env("p1").Build(t))
			tk, err := p.desk.Ticket(p.ctx, desk.SystemActor, r1.TicketNumber)
			if err != nil || tk.Protocol != "AOO-DESK/2026/1" {
				t.Fatalf("protocol %q (%v)", tk.Protocol, err)
			}
			tl, _ := p.desk.Timeline(p.ctx, desk.SystemActor, tk.Number)
			found := false
			for _, e := range tl.Events {
				found = found || (e.Field == "protocol" && e.New == "AOO-DESK/2026/1")
			}
			if !found {
				t.Error("no history of the protocol number")
			}
			// Receipts and anomalies are not registered.
			p.ingest(t, pectest.Anomaly(pki.Signer).Build(t))
			p.ingest(t, pectest.Receipt(pec.ReceiptAccettazione, pki.Signer).Build(t))
			if len(calls) != 1 || calls[0] != tk.Number+" opec21.p1@pec.gestore.example.it" {
				t.Errorf("hook calls %q", calls)
			}
			fail = true
			r2 := p.ingest(t, env("p2").Build(t))
			if r2.Outcome != mailbox.OutTicket {
				t.Fatalf("with a failing hook: %s", r2.Outcome)
			}
			if tk2, _ := p.desk.Ticket(p.ctx, desk.SystemActor, r2.TicketNumber); tk2.Protocol != "" {
				t.Errorf("protocol %q after a failure", tk2.Protocol)
			}
		})
	}
}

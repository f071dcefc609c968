package intake

import (
	"context"
	"fmt"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/outbox"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/route"
)

// PEC handling of the intake: the certification data of envelopes,
// anomalies and receipts is stored next to the raw message; receipts move
// the per-recipient delivery state of the sent message they certify and
// raise alerts on failure. See docs/pec.md.

// pecWork is what a receipt does, written once the received message is
// recorded (the rows refer to it).
type pecWork struct {
	out        *mailbox.Outbound
	deliveries []mailbox.PECDelivery
	alerts     []mailbox.PECAlert
}

// StoredDaticert converts parsed certification data to its stored form.
func StoredDaticert(d *pec.Daticert) *mailbox.Daticert {
	if d == nil {
		return nil
	}
	out := &mailbox.Daticert{Tipo: d.Tipo, Errore: d.Errore, Mittente: d.Mittente, Risposte: d.Risposte, Oggetto: d.Oggetto,
		Gestore: d.GestoreEmittente, Data: d.Data, Zona: d.Data.Format("-0700"), ID: d.Identificativo, MsgID: d.MsgID,
		RicevutaTipo: d.RicevutaTipo, Consegna: d.Consegna, Ricezione: slices.Clone(d.Ricezione), ErroreEsteso: d.ErroreEsteso}
	for _, r := range d.Destinatari {
		out.Destinatari = append(out.Destinatari, mailbox.PECRecipient{Address: r.Address, Kind: r.Kind})
	}
	return out
}

// recordPEC stores the certification data of a PEC message once it is
// recorded, and what its receipt does. Quarantined and duplicate messages
// keep only their raw bytes (the mail log says why).
func (in *incoming) recordPEC(ctx context.Context) error {
	pp := in.pec
	if pp == nil || pp.Kind == pec.KindNone {
		return nil
	}
	switch in.rec.Outcome {
	case mailbox.OutQuarantined, mailbox.OutDuplicate:
		return nil
	}
	ptx := mailbox.PECOf(in.tx)
	c := mailbox.PECCert{InID: in.rec.ID, TicketID: in.rec.TicketID, MessageRef: in.rec.MessageRef, Kind: string(pp.Kind),
		Tipo: string(pp.Receipt), Daticert: StoredDaticert(pp.Daticert), Signed: pp.Signed, SHA256: pp.SHA256, Received: in.rec.Received}
	if pp.Kind == pec.KindAnomaly {
		c.Tipo = ""
	}
	if pp.Daticert != nil {
		c.Sender = mailbox.NormAddress(pp.Daticert.Mittente)
		if c.Tipo == "" {
			c.Tipo = pp.Daticert.Tipo
		}
	}
	if s := pp.Signature; s != nil {
		c.SigSigner, c.SigError = s.Signer, s.Err
		c.SigStatus = "failed"
		if s.Verified {
			c.SigStatus = "verified"
		}
	}
	if w := in.pecWork; w != nil && w.out != nil {
		c.OutID = w.out.ID
	}
	if err := ptx.InsertPECCert(ctx, &c); err != nil {
		return err
	}
	in.pecCert = &c
	w := in.pecWork
	if w == nil {
		return nil
	}
	for _, d := range w.deliveries {
		d.InID = in.rec.ID
		if err := ptx.PutDelivery(ctx, d); err != nil {
			return err
		}
	}
	for _, a := range w.alerts {
		ok, err := ptx.InsertPECAlert(ctx, &a)
		if err != nil {
			return err
		}
		if ok {
			in.pecAlerts = append(in.pecAlerts, a)
		}
	}
	return nil
}

// pecReceipt records a PEC receipt on the sent message it certifies,
// moves that message's per-recipient delivery state and, on failure,
// alerts the ticket's assignee. A receipt is never a ticket.
func (in *incoming) pecReceipt(ctx context.Context) error {
	pp := in.pec
	in.set(mailbox.OutReceipt, "")
	ids := []string{pec.StripAngles(pp.RefMessageID)}
	if d := pp.Daticert; d != nil && d.MsgID != "" && !slices.Contains(ids, pec.StripAngles(d.MsgID)) {
		ids = append(ids, pec.StripAngles(d.MsgID))
	}
	var (
		out mailbox.Outbound
		err error
	)
	for _, id := range ids {
		if id == "" {
			continue
		}
		out, err = in.tx.OutboundByMessageID(ctx, id)
		if err == nil || !desk.IsNotFound(err) {
			break
		}
	}
	if err != nil && !desk.IsNotFound(err) {
		return err
	}
	if out.ID == 0 {
		in.set(mailbox.OutReceipt, fmt.Sprintf("PEC receipt %s about a message we did not send: %s", pp.Receipt, strings.Join(ids, ", ")))
		return nil
	}
	detail := string(pp.Receipt) + " sha256=" + pp.SHA256
	if d := pp.Daticert; d != nil && d.Consegna != "" {
		detail += " consegna=" + d.Consegna
	}
	if err := in.recordOutEvent(ctx, out, "pec:"+string(pp.Receipt), detail); err != nil {
		return err
	}
	w := &pecWork{out: &out}
	in.pecWork = w
	if err := in.pecDeliveries(ctx, w); err != nil {
		return err
	}
	final := pp.Receipt == pec.ReceiptNonAccettazione || pp.Receipt == pec.ReceiptErroreConsegna || pp.Receipt == pec.ReceiptRilevazioneVirus
	if final {
		if err := in.tx.SetOutboundState(ctx, out.ID, mailbox.OutBounced, "PEC: "+string(pp.Receipt)); err != nil {
			return err
		}
	}
	in.rec.TicketID = out.TicketID
	in.set(mailbox.OutReceipt, fmt.Sprintf("PEC %s for sent message %s", pp.Receipt, out.MessageID))
	if pp.Receipt.IsFailure() && out.TicketID != 0 {
		return in.pecAlert(ctx, w, out)
	}
	return nil
}

// pecDeliveries works out the new per-recipient states a receipt brings.
func (in *incoming) pecDeliveries(ctx context.Context, w *pecWork) error {
	pp := in.pec
	cur, err := mailbox.PECOf(in.tx).Deliveries(ctx, w.out.ID)
	if err != nil {
		return err
	}
	if len(cur) == 0 {
		// Sent before the mailbox was PEC, or by another tool: track the
		// recipients the message was sent to.
		for _, r := range w.out.To {
			if r = mailbox.NormAddress(r); r != "" {
				cur = append(cur, mailbox.PECDelivery{OutID: w.out.ID, Recipient: r, State: mailbox.DelSent})
			}
		}
	}
	var target string
	if d := pp.Daticert; d != nil {
		target = mailbox.NormAddress(d.Consegna)
	}
	var to mailbox.DeliveryState
	switch pp.Receipt {
	case pec.ReceiptAccettazione:
		to = mailbox.DelAccepted
		target = "" // about every recipient
	case pec.ReceiptNonAccettazione:
		to = mailbox.DelFailed
		target = ""
	case pec.ReceiptAvvenutaConsegna:
		to = mailbox.DelDelivered
	case pec.ReceiptPreavvisoErroreConsegna:
		to = mailbox.DelWarned
	case pec.ReceiptErroreConsegna, pec.ReceiptRilevazioneVirus:
		to = mailbox.DelFailed
	default: // presa-in-carico: the recipient's provider took it; no state change
		return nil
	}
	if target != "" && !slices.ContainsFunc(cur, func(d mailbox.PECDelivery) bool { return d.Recipient == target }) {
		// A recipient we did not know of (an alias expanded by the
		// provider): track it too.
		cur = append(cur, mailbox.PECDelivery{OutID: w.out.ID, Recipient: target, State: mailbox.DelSent})
	}
	detail := string(pp.Receipt)
	if d := pp.Daticert; d != nil && d.ErroreEsteso != "" {
		detail += ": " + d.ErroreEsteso
	}
	now := in.p.now().UTC().Truncate(time.Microsecond)
	for _, d := range cur {
		if target != "" && d.Recipient != target {
			continue
		}
		if !moves(d.State, to) {
			continue
		}
		d.State, d.Detail, d.Updated = to, detail, now
		w.deliveries = append(w.deliveries, d)
	}
	return nil
}

// moves reports whether a receipt may move a recipient from one state to
// another: receipts can arrive out of order (a delivery receipt before the
// acceptance), and a final state is never undone by a later, weaker one.
func moves(from, to mailbox.DeliveryState) bool {
	rank := map[mailbox.DeliveryState]int{mailbox.DelSent: 0, mailbox.DelAccepted: 1, mailbox.DelWarned: 2, mailbox.DelDelivered: 3, mailbox.DelFailed: 3}
	if from == to {
		return false
	}
	return rank[to] > rank[from] || (from == mailbox.DelWarned && to.Final())
}

// pecAlert notes a failure receipt on the ticket (an internal note the
// agents see) and raises an alert for its assignee.
func (in *incoming) pecAlert(ctx context.Context, w *pecWork, out mailbox.Outbound) error {
	pp := in.pec
	t, err := in.tx.TicketByID(ctx, out.TicketID)
	if err != nil {
		return err
	}
	recipient, detail := "", ""
	if d := pp.Daticert; d != nil {
		recipient, detail = mailbox.NormAddress(d.Consegna), d.ErroreEsteso
	}
	now := in.p.now().UTC().Truncate(time.Microsecond)
	w.alerts = append(w.alerts, mailbox.PECAlert{TicketID: t.ID, OutID: out.ID, AssigneeID: t.AssigneeID, Kind: string(pp.Receipt),
		Recipient: recipient, Detail: detail, Created: now, TicketNumber: t.Number, Subject: t.Subject})
	who := recipient
	if who == "" {
		who = strings.Join(out.To, ", ")
	}
	body := fmt.Sprintf("Avviso PEC / PEC alert: %s — %s\nMessaggio / message: %s\nDestinatario / recipient: %s",
		ReceiptLabel(pp.Receipt), ReceiptLabelEN(pp.Receipt), out.Subject, who)
	if detail != "" {
		body += "\n" + detail
	}
	_, err = in.d.AddMessage(ctx, desk.SystemActor, t.Number, desk.NewMessage{Internal: true, Body: body})
	return err
}

// ReceiptLabel is the Italian name of a receipt type.
func ReceiptLabel(r pec.ReceiptType) string {
	switch r {
	case pec.ReceiptAccettazione:
		return "ricevuta di accettazione"
	case pec.ReceiptNonAccettazione:
		return "avviso di non accettazione"
	case pec.ReceiptPresaInCarico:
		return "avviso di presa in carico"
	case pec.ReceiptAvvenutaConsegna:
		return "ricevuta di avvenuta consegna"
	case pec.ReceiptErroreConsegna:
		return "avviso di mancata consegna"
	case pec.ReceiptPreavvisoErroreConsegna:
		return "preavviso di mancata consegna (12 ore)"
	case pec.ReceiptRilevazioneVirus:
		return "avviso di rilevazione virus"
	}
	return string(r)
}

// ReceiptLabelEN is the English name of a receipt type.
func ReceiptLabelEN(r pec.ReceiptType) string {
	switch r {
	case pec.ReceiptAccettazione:
		return "acceptance receipt"
	case pec.ReceiptNonAccettazione:
		return "non-acceptance notice"
	case pec.ReceiptPresaInCarico:
		return "taken-in-charge notice"
	case pec.ReceiptAvvenutaConsegna:
		return "delivery receipt"
	case pec.ReceiptErroreConsegna:
		return "non-delivery notice"
	case pec.ReceiptPreavvisoErroreConsegna:
		return "delivery delay warning (12 hours)"
	case pec.ReceiptRilevazioneVirus:
		return "virus detection notice"
	}
	return string(r)
}

// forwardPEC forwards a redirected request to the competent office's PEC
// address from the organisation's PEC mailbox, with the original message
// attached; its receipts land on the ticket like a reply's. Without a PEC
// address or a PEC mailbox the ticket gets a note saying why.
func (in *incoming) forwardPEC(ctx context.Context, t desk.Ticket, office route.Office) error {
	note := func(why string) error {
		in.set("", "not forwarded by PEC: "+why)
		_, err := in.d.AddMessage(ctx, desk.SystemActor, t.Number, desk.NewMessage{Internal: true,
			Body: "Inoltro PEC non eseguito / PEC forward not sent: " + why})
		return err
	}
	if office.PEC == "" {
		return note(fmt.Sprintf("%s has no PEC address in the directory", office.Name))
	}
	boxes, err := in.tx.Mailboxes(ctx, false)
	if err != nil {
		return err
	}
	var box *mailbox.Mailbox
	for i := range boxes {
		if b := boxes[i]; b.OrgID == in.mb.OrgID && b.PEC && b.Active {
			box = &boxes[i]
			break
		}
	}
	if box == nil {
		return note("the organisation has no active PEC mailbox")
	}
	original := in.raw
	if in.pec != nil && in.pec.Original != nil {
		original = in.pec.Original
	}
	m := in.msg
	text := fmt.Sprintf("Richiedente / requester: %s <%s>", m.From.Name, m.From.Email)
	if in.pec != nil && in.pec.Kind == pec.KindEnvelope && in.pec.Daticert != nil {
		text += fmt.Sprintf("\nRicevuta via PEC / received by PEC: identificativo %s, %s", in.pec.Daticert.Identificativo,
			in.pec.Daticert.Data.Format("02/01/2006 15:04:05 -0700"))
	}
	_, err = in.p.outbox.Enqueue(ctx, in.tx, outbox.Request{Mailbox: *box, Kind: outbox.KindForward, Ticket: &t, Generated: true,
		To:          netmail.Address{Name: office.Name, Address: office.PEC},
		Data:        outbox.Data{Office: office, Subject: m.Subject, Body: in.body(false), Text: text},
		Attachments: []outbox.File{{Name: "richiesta-originale.eml", ContentType: "application/octet-stream", Data: original}}})
	if err != nil {
		if desk.ErrorCode(err) == desk.ETooLarge || desk.ErrorCode(err) == desk.EInvalid {
			return note(desk.ErrorMessage(err))
		}
		return err
	}
	in.set("", "forwarded by PEC to "+office.PEC)
	return nil
}

// ProtocolHook registers a ticket made from a certified message in the
// organisation's protocol register and returns the protocol number ("" to
// leave it unset). It runs after the message is committed, outside any
// transaction, so it may call a remote system; an error is logged and the
// ticket stays without a number (staff can set it by hand).
type ProtocolHook func(ctx context.Context, t desk.Ticket, cert mailbox.PECCert) (string, error)

// registerProtocol runs the protocol hook for a ticket a PEC envelope
// opened, and records the number through the desk's update path (with
// history).
func (p *Processor) registerProtocol(ctx context.Context, in *incoming) {
	if p.pecProtocol == nil || in.pecCert == nil || in.pecCert.Kind != string(pec.KindEnvelope) {
		return
	}
	for _, t := range in.created {
		if t.ID != in.pecCert.TicketID {
			continue
		}
		n, err := p.pecProtocol(ctx, t, *in.pecCert)
		if err == nil && strings.TrimSpace(n) != "" {
			d := desk.New(desk.Opts{Store: p.store, Now: p.now, OnCreated: p.onCreated, Notify: p.notify})
			_, err = d.Update(ctx, desk.SystemActor, t.Number, desk.Changes{Protocol: &n})
		}
		if err != nil {
			p.log.Error("PEC protocol registration", "ticket", t.Number, "err", err)
		}
	}
}

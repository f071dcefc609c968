// Package outbox sends the desk's mail. Every outgoing message is written
// to the outbox table in the same transaction as the change that causes it
// (a ticket registered, an agent's reply, a resolution), already encoded
// with its final Message-ID, and sent afterwards by a Worker with retries
// and exponential backoff. After a crash a message is sent at most once
// more, with the same Message-ID, so that the recipient's mail client
// shows it once.
//
// Templates are in Italian and English (templates/*.txt). Automatic mail
// carries Auto-Submitted and X-Auto-Response-Suppress, is never sent to
// robots or to the desk's own addresses, and is limited per recipient
// (AutoLimit per hour), so that two robots cannot keep answering each
// other.
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/parse"
	"github.com/sportello/sportello/internal/mail/thread"
)

// Opts configures an Outbox.
type Opts struct {
	Signer thread.Signer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// BaseURL is the portal's public address, shown in mail ("" to omit).
	BaseURL string
	// AutoLimit is the number of automatic messages sent to one address
	// per hour (default 3).
	AutoLimit int
	// PlusReplyTo sets a plus-addressed Reply-To carrying a signed reply
	// token, for mail servers that deliver user+tag@ to user@.
	PlusReplyTo bool
	Log         *slog.Logger
	// PECMaxSize is the largest message sent through a PEC mailbox
	// (default DefaultPECMaxSize).
	PECMaxSize int64
}

// Outbox writes outgoing mail into the outbox table.
type Outbox struct {
	signer    thread.Signer
	tmpl      *Templates
	now       func() time.Time
	baseURL   string
	autoLimit int
	plus      bool
	log       *slog.Logger
	wake      chan struct{}
	pecMax    int64
}

// New returns an Outbox.
func New(o Opts) (*Outbox, error) {
	ts, err := LoadTemplates()
	if err != nil {
		return nil, err
	}
	ob := &Outbox{signer: o.Signer, tmpl: ts, now: o.Now, baseURL: strings.TrimRight(o.BaseURL, "/"), autoLimit: o.AutoLimit,
		plus: o.PlusReplyTo, log: o.Log, wake: make(chan struct{}, 1), pecMax: o.PECMaxSize}
	if ob.pecMax <= 0 {
		ob.pecMax = DefaultPECMaxSize
	}
	if ob.now == nil {
		ob.now = time.Now
	}
	if ob.autoLimit <= 0 {
		ob.autoLimit = 3
	}
	if ob.log == nil {
		ob.log = slog.New(slog.DiscardHandler)
	}
	return ob, nil
}

// Signer returns the reply-token signer.
func (o *Outbox) Signer() thread.Signer { return o.signer }

// Wake is signalled after a transaction that enqueued mail commits.
func (o *Outbox) Wake() <-chan struct{} { return o.wake }

func (o *Outbox) nudge() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Request is one message to put in the outbox.
type Request struct {
	Mailbox mailbox.Mailbox
	// From is the desk address the message comes from (default the
	// mailbox's address). The SMTP envelope sender is always the
	// mailbox's address, so that bounces come back to the mailbox read.
	From string
	Kind string
	// Ticket is the ticket the message is about (nil for none).
	Ticket     *desk.Ticket
	MessageRef int64
	To         mail.Address
	// Auto marks an automatic answer (rate-limited, Auto-Submitted:
	// auto-replied); Generated marks other automatic mail (reminders,
	// resolutions: Auto-Submitted: auto-generated).
	Auto, Generated bool
	Data            Data
	// InReplyTo and References thread the message; for ticket mail they
	// default to the ticket's previous messages.
	InReplyTo   string
	References  []string
	Attachments []File
}

// Enqueue renders and encodes a message and adds it to the outbox in tx.
// The worker is woken after the transaction commits.
func (o *Outbox) Enqueue(ctx context.Context, tx mailbox.Tx, r Request) (mailbox.Outbound, error) {
	now := o.now().UTC().Truncate(time.Microsecond)
	mb := r.Mailbox
	from := r.From
	if from == "" {
		from = mb.Address
	}
	from = pecFrom(mb, from)
	d := r.Data
	if d.DeskName == "" {
		if org, err := tx.OrgByID(ctx, mb.OrgID); err == nil {
			d.DeskName = org.Name
		}
	}
	if d.DeskAddress == "" {
		d.DeskAddress = from
	}
	if d.Requester == "" {
		d.Requester = firstNonEmpty(r.To.Name, r.To.Address)
	}
	if d.PortalURL == "" {
		d.PortalURL = o.baseURL
	}
	number := ""
	if r.Ticket != nil {
		number = r.Ticket.Number
		if d.Number == "" {
			d.Number = number
		}
		if d.Subject == "" {
			d.Subject = r.Ticket.Subject
		}
	}
	subject, body, err := o.tmpl.Render(r.Kind, d)
	if err != nil {
		return mailbox.Outbound{}, err
	}
	if number != "" {
		subject = thread.Subject(subject, number)
	}
	inReplyTo, refs := r.InReplyTo, r.References
	if r.Ticket != nil && inReplyTo == "" {
		ids, err := tx.ThreadIDs(ctx, r.Ticket.ID, 10)
		if err != nil {
			return mailbox.Outbound{}, err
		}
		if len(ids) > 0 {
			inReplyTo, refs = ids[len(ids)-1], ids
		}
	}
	if inReplyTo != "" && !slices.Contains(refs, inReplyTo) {
		refs = append(slices.Clone(refs), inReplyTo)
	}
	if len(refs) > 20 {
		refs = append(refs[:1:1], refs[len(refs)-19:]...)
	}
	m := Mail{FromName: d.DeskName, From: from, To: []mail.Address{r.To}, Subject: subject, Text: body,
		MessageID: o.signer.MessageID(number, from), InReplyTo: inReplyTo, References: refs,
		Auto: r.Auto, AutoGenerated: r.Generated && !r.Auto, Date: now, Attachments: r.Attachments}
	if o.plus && number != "" && !mb.PEC {
		m.ReplyTo = o.signer.ReplyAddress(from, number)
	}
	raw, err := Encode(m)
	if err != nil {
		return mailbox.Outbound{}, err
	}
	if mb.PEC {
		if err := o.checkPEC(mb, from, r.To, raw); err != nil {
			return mailbox.Outbound{}, err
		}
	}
	out := mailbox.Outbound{MailboxID: mb.ID, MessageRef: r.MessageRef, Kind: r.Kind, Auto: r.Auto, MessageID: m.MessageID,
		From: mb.Address, To: []string{mailbox.NormAddress(r.To.Address)}, Subject: subject, Raw: raw, State: mailbox.OutPending,
		NextAt: now, Created: now}
	if r.Ticket != nil {
		out.TicketID = r.Ticket.ID
		out.TicketNumber = r.Ticket.Number
	}
	if err := tx.InsertOutbound(ctx, &out); err != nil {
		return mailbox.Outbound{}, err
	}
	if mb.PEC {
		if err := trackPEC(ctx, tx, out); err != nil {
			return mailbox.Outbound{}, err
		}
	}
	mailbox.AfterCommit(tx, o.nudge)
	return out, nil
}

// noReply are local parts of addresses that must never get automatic mail.
var noReply = []string{"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply", "mailer-daemon",
	"postmaster", "bounce", "bounces", "nobody", "listserv", "majordomo"}

// MayAutoReply reports whether an automatic answer may go to address to,
// and why not: never to robots, to no-reply addresses, to the desk's own
// addresses (no loops between two desk mailboxes), nor beyond AutoLimit
// automatic messages per hour.
func (o *Outbox) MayAutoReply(ctx context.Context, tx mailbox.Tx, to string, robot parse.RobotKind) (bool, string, error) {
	return o.MayAutoReplyKnowing(ctx, tx, to, robot, nil)
}

// MayAutoReplyKnowing is MayAutoReply with the desk's own addresses (desk
// addresses and mailboxes, lower case) given, sparing their lookup; a nil
// own looks them up.
func (o *Outbox) MayAutoReplyKnowing(ctx context.Context, tx mailbox.Tx, to string, robot parse.RobotKind, own map[string]bool) (bool, string, error) {
	to = mailbox.NormAddress(to)
	if robot.IsRobot() {
		return false, "automatic mail (" + string(robot) + ") gets no automatic answer", nil
	}
	if !desk.ValidEmail(to) {
		return false, "no valid sender address", nil
	}
	local, _, _ := strings.Cut(to, "@")
	if base, _, ok := strings.Cut(local, "+"); ok {
		local = base
	}
	for _, n := range noReply {
		if local == n || strings.HasPrefix(local, n+"-") || strings.HasPrefix(local, n+".") {
			return false, "the sender is a no-reply address", nil
		}
	}
	if own != nil {
		if own[to] {
			return false, "the sender is one of the desk's own addresses", nil
		}
	} else {
		if _, err := tx.AddressByEmail(ctx, to); err == nil {
			return false, "the sender is one of the desk's own addresses", nil
		} else if !desk.IsNotFound(err) {
			return false, "", err
		}
		if _, err := tx.MailboxByAddress(ctx, to); err == nil {
			return false, "the sender is one of the desk's own mailboxes", nil
		} else if !desk.IsNotFound(err) {
			return false, "", err
		}
	}
	n, err := tx.CountAuto(ctx, to, o.now().Add(-time.Hour))
	if err != nil {
		return false, "", err
	}
	if n >= o.autoLimit {
		return false, fmt.Sprintf("rate limit: %d automatic messages to this address in the last hour", n), nil
	}
	return true, "", nil
}

// MailboxFor returns the mailbox and From address used for a ticket's
// mail: the one its conversation came through, else the first active
// non-PEC mailbox of its organisation. ok is false when there is none.
func (o *Outbox) MailboxFor(ctx context.Context, tx mailbox.Tx, t desk.Ticket) (mb mailbox.Mailbox, from string, ok bool, err error) {
	th, err := tx.ThreadOf(ctx, t.ID)
	switch {
	case err == nil:
		mb, err = tx.MailboxByID(ctx, th.MailboxID)
		if err != nil {
			return mb, "", false, err
		}
		if !mb.Active {
			return mb, "", false, nil
		}
		from = mb.Address
		if a, err := tx.AddressByEmail(ctx, th.Address); err == nil && a.Kind != mailbox.KindRetired {
			from = a.Address
		}
		return mb, from, true, nil
	case !desk.IsNotFound(err):
		return mb, "", false, err
	}
	all, err := tx.Mailboxes(ctx, false)
	if err != nil {
		return mb, "", false, err
	}
	for _, m := range all {
		if m.OrgID == t.OrgID && !m.PEC {
			return m, m.Address, true, nil
		}
	}
	return mb, "", false, nil
}

// EnqueueReply puts an agent's public reply in the outbox, addressed to
// the ticket's requester, with the message's attachments. It does nothing
// for internal notes, for messages that are not staff replies, for tickets
// without a requester address, and when no mailbox can send for the
// ticket's organisation.
//
// Call it inside the transaction that adds the message, after the message
// is inserted (so that msg.ID is set), with the ticket as stored: see
// docs/mail.md ("Hooks").
func (o *Outbox) EnqueueReply(ctx context.Context, tx desk.Tx, t desk.Ticket, msg desk.Message) error {
	if msg.Kind != desk.MessageReply || msg.Internal || t.Requester.Email == "" {
		return nil
	}
	mtx := mailbox.Of(tx)
	mb, from, ok, err := o.MailboxFor(ctx, mtx, t)
	if err != nil || !ok {
		return err
	}
	var files []File
	atts, err := tx.Attachments(ctx, t.ID)
	if err != nil {
		return err
	}
	for _, a := range atts {
		if a.MessageID != msg.ID || msg.ID == 0 {
			continue
		}
		data, err := tx.Blob(ctx, a.SHA256)
		if err != nil {
			return err
		}
		files = append(files, File{Name: a.Name, ContentType: a.ContentType, Data: data})
	}
	_, err = o.Enqueue(ctx, mtx, Request{Mailbox: mb, From: from, Kind: KindReply, Ticket: &t, MessageRef: msg.ID,
		To:   mail.Address{Name: t.Requester.Name, Address: t.Requester.Email},
		Data: Data{Body: msg.Body, Author: msg.AuthorName}, Attachments: files})
	return err
}

// EnqueueStatus sends the mail a status change calls for: when a ticket
// becomes resolved, the requester is asked to confirm or reopen it. Call it
// inside the transaction that changes the status, with the ticket before
// and after.
func (o *Outbox) EnqueueStatus(ctx context.Context, tx desk.Tx, prev, next desk.Ticket) error {
	if next.Status != desk.StatusResolved || prev.Status == desk.StatusResolved || next.Requester.Email == "" {
		return nil
	}
	mtx := mailbox.Of(tx)
	mb, from, ok, err := o.MailboxFor(ctx, mtx, next)
	if err != nil || !ok {
		return err
	}
	_, err = o.Enqueue(ctx, mtx, Request{Mailbox: mb, From: from, Kind: KindResolved, Ticket: &next, Generated: true,
		To:   mail.Address{Name: next.Requester.Name, Address: next.Requester.Email},
		Data: Data{Body: next.Cause.Text}})
	return err
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

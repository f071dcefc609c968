package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// RedactedMarker replaces personal data that an erasure removed.
const RedactedMarker = "[oscurato]"

// Reasons an erasure keeps a record (shown in the export and the report).
const (
	ExemptPEC = "PEC evidence: certified-mail messages and receipts are legal proof of sending and delivery (DPR 68/2005, CAD art. 48)"
	// ExemptProtocol keeps a ticket's protocol-register number (DPR 445/2000).
	ExemptProtocol = "protocol reference: the number the request was registered under in the protocol register (DPR 445/2000)"
)

// PersonalMail is a message received from, or sent to, a person.
type PersonalMail struct {
	ID        int64
	Direction string // "in" or "out"
	Mailbox   string
	PEC       bool
	TicketID  int64
	From, To  string
	Subject   string
	Size      int64
	At        time.Time
	State     string // outbound only
	Exempt    string // why it is kept despite an erasure, if it was
}

// PersonalAttachment is a file a person sent, with where it hangs.
type PersonalAttachment struct {
	Attachment
	TicketNumber string
	Exempt       string
}

// PersonalMessage is a message a person wrote.
type PersonalMessage struct {
	Message
	TicketNumber string
}

// Redaction records one erasure.
type Redaction struct {
	ID      int64
	UserID  int64
	ActorID int64
	At      time.Time
	Summary string // JSON of ErasureReport
}

// Exemption is a record an erasure kept because the law requires it.
type Exemption struct {
	Kind   string // mail_in, mail_out, attachment
	RefID  int64
	Reason string
}

// PersonalData is everything the desk holds about a person.
type PersonalData struct {
	Generated    time.Time
	User         User
	OrgCode      string
	Identities   []ExternalIdentity
	Tickets      []Ticket
	Messages     []PersonalMessage
	Attachments  []PersonalAttachment
	Mail         []PersonalMail
	Audit        []AuditEntry
	Redactions   []Redaction
	Exemptions   []Exemption
	ticketByID   map[int64]Ticket
	ticketIDs    []int64 // every ticket concerned: requested or written on
	ownMessages  map[int64]bool
	ownTicketIDs map[int64]bool
}

// maxPersonalTickets bounds one export or erasure (a requester with more
// tickets than this is handled in several calls).
const maxPersonalTickets = 100_000

// personFor reads a person by e-mail (or "user:ID") and checks that the
// actor administers their organisation.
func personFor(ctx context.Context, tx Tx, a Actor, who string) (User, error) {
	var u User
	var err error
	if id, ok := strings.CutPrefix(who, "user:"); ok {
		var n int64
		if _, e := fmt.Sscan(id, &n); e != nil || n <= 0 {
			return User{}, FieldError("person", "invalid person %q", who)
		}
		u, err = tx.UserByID(ctx, n)
	} else {
		u, err = tx.UserByEmail(ctx, NormEmail(who))
	}
	if err != nil {
		if IsNotFound(err) {
			return User{}, Errorf(ENotFound, "nobody is registered as %s", who)
		}
		return User{}, err
	}
	if !CanAdminOrg(a, u.OrgID) {
		// Outside the actor's organisations the person does not exist.
		return User{}, Errorf(ENotFound, "nobody is registered as %s", who)
	}
	return u, nil
}

// collect reads what the store holds about u.
func (d *Desk) collect(ctx context.Context, tx Tx, u User) (PersonalData, error) {
	p := PersonalData{Generated: d.Now(), User: u, ticketByID: map[int64]Ticket{}, ownMessages: map[int64]bool{}, ownTicketIDs: map[int64]bool{}}
	org, err := tx.OrgByID(ctx, u.OrgID)
	if err != nil {
		return p, err
	}
	p.OrgCode = org.Code
	if p.Identities, err = tx.ExternalIdentities(ctx, u.ID); err != nil {
		return p, err
	}
	q := TicketQuery{RequesterID: u.ID, Limit: 1000}
	for len(p.Tickets) < maxPersonalTickets {
		page, err := tx.Tickets(ctx, q)
		if err != nil {
			return p, err
		}
		p.Tickets = append(p.Tickets, page...)
		if len(page) < q.Limit {
			break
		}
		q.Before = page[len(page)-1].ID
	}
	for i := range p.Tickets {
		if p.Tickets[i].Protocol, err = tx.TicketProtocol(ctx, p.Tickets[i].ID); err != nil {
			return p, err
		}
	}
	for _, t := range p.Tickets {
		p.ticketByID[t.ID] = t
		p.ownTicketIDs[t.ID] = true
		p.ticketIDs = append(p.ticketIDs, t.ID)
	}
	msgs, err := tx.MessagesByAuthor(ctx, u.ID, u.Email)
	if err != nil {
		return p, err
	}
	for _, m := range msgs {
		t, ok := p.ticketByID[m.TicketID]
		if !ok {
			if t, err = tx.TicketByID(ctx, m.TicketID); err != nil {
				return p, err
			}
			p.ticketByID[t.ID] = t
			p.ticketIDs = append(p.ticketIDs, t.ID)
		}
		p.ownMessages[m.ID] = true
		p.Messages = append(p.Messages, PersonalMessage{Message: m, TicketNumber: t.Number})
	}
	for _, id := range p.ticketIDs {
		atts, err := tx.Attachments(ctx, id)
		if err != nil {
			return p, err
		}
		for _, at := range atts {
			// Files on the person's own request (sent with it), and
			// files of the messages they wrote.
			if (at.MessageID == 0 && p.ownTicketIDs[id]) || p.ownMessages[at.MessageID] {
				pa := PersonalAttachment{Attachment: at, TicketNumber: p.ticketByID[id].Number}
				if p.ticketByID[id].Channel == ChannelPEC && (at.MessageID == 0 || messageChannel(p.Messages, at.MessageID) == ChannelPEC) {
					pa.Exempt = ExemptPEC
				}
				p.Attachments = append(p.Attachments, pa)
			}
		}
	}
	if p.Mail, err = tx.PersonalMail(ctx, u.Email, p.ticketIDs); err != nil {
		return p, err
	}
	for i := range p.Mail {
		if p.Mail[i].PEC {
			p.Mail[i].Exempt = ExemptPEC
		}
	}
	if p.Audit, err = tx.AuditEntries(ctx, AuditFilter{ActorID: u.ID, Limit: 10_000}); err != nil {
		return p, err
	}
	about, err := tx.AuditEntries(ctx, AuditFilter{Target: userTarget(u.ID), Limit: 10_000})
	if err != nil {
		return p, err
	}
	seen := map[int64]bool{}
	for _, e := range p.Audit {
		seen[e.ID] = true
	}
	for _, e := range about {
		if !seen[e.ID] {
			p.Audit = append(p.Audit, e)
		}
	}
	slices.SortFunc(p.Audit, func(a, b AuditEntry) int { return int(b.ID - a.ID) })
	if p.Redactions, err = tx.Redactions(ctx, u.ID); err != nil {
		return p, err
	}
	for _, r := range p.Redactions {
		ex, err := tx.Exemptions(ctx, r.ID)
		if err != nil {
			return p, err
		}
		p.Exemptions = append(p.Exemptions, ex...)
	}
	return p, nil
}

func messageChannel(ms []PersonalMessage, id int64) Channel {
	for _, m := range ms {
		if m.ID == id {
			return m.Channel
		}
	}
	return ""
}

// PersonalData gathers everything held about a person (by e-mail, or
// "user:ID" once erased): account, external identities, tickets requested,
// messages written, attachments, mail from and to them, audit entries and
// past erasures. Only administrators of the person's organisation may ask;
// the request itself is audited.
func (d *Desk) PersonalData(ctx context.Context, a Actor, who string) (PersonalData, error) {
	var p PersonalData
	err := d.store.View(ctx, func(tx Tx) error {
		u, err := personFor(ctx, tx, a, who)
		if err != nil {
			return err
		}
		p, err = d.collect(ctx, tx, u)
		return err
	})
	if err != nil {
		return PersonalData{}, err
	}
	if err := d.Audit(ctx, a, AuditEntry{OrgID: p.User.OrgID, Action: "export.personal_data", Target: userTarget(p.User.ID),
		Detail: fmt.Sprintf("%d tickets, %d messages, %d mails", len(p.Tickets), len(p.Messages), len(p.Mail))}); err != nil {
		return PersonalData{}, err
	}
	return p, nil
}

// ErasureReport says what an erasure did.
type ErasureReport struct {
	RedactionID   int64       `json:"redaction_id"`
	UserID        int64       `json:"user_id"`
	At            time.Time   `json:"at"`
	Tickets       int         `json:"tickets"`
	Messages      int         `json:"messages"`
	OtherMessages int         `json:"other_messages_scrubbed"`
	Attachments   int         `json:"attachments"`
	BlobsDeleted  int         `json:"blobs_deleted"`
	MailIn        int         `json:"mail_in"`
	MailOut       int         `json:"mail_out"`
	SupplierCalls int         `json:"supplier_calls"`
	Identities    int         `json:"identities"`
	Tokens        int         `json:"tokens_revoked"`
	Exempt        []Exemption `json:"exempt"`
}

// ErasePerson erases a person's personal data by redaction, keeping the
// tickets, their history's shape and every statistic: the account is
// anonymised and disabled; on the tickets they requested the requester's
// contact and the description are replaced by RedactedMarker, and their
// name, e-mail and phone are replaced wherever else they appear in those
// tickets' texts; the messages they wrote are blanked; their attachments'
// contents are deleted; the raw bytes of mail from or to them are cleared;
// supplier-call contacts naming them are replaced; their external
// identities and API tokens go. What the law requires to keep (PEC
// evidence) is kept and listed as exempt. Each ticket's history records
// that a redaction happened, and the search index is rebuilt. Only
// administrators of the person's organisation may do it, never on
// themselves.
func (d *Desk) ErasePerson(ctx context.Context, a Actor, who string) (ErasureReport, error) {
	var rep ErasureReport
	var touched []int64
	err := d.store.Update(ctx, func(tx Tx) error {
		rep = ErasureReport{Exempt: []Exemption{}}
		u, err := personFor(ctx, tx, a, who)
		if err != nil {
			return err
		}
		if u.ID == a.UserID {
			return Errorf(EForbidden, "administrators cannot erase their own account")
		}
		if u.InstallationAdmin && !(a.System || a.InstallationAdmin) {
			return Errorf(EForbidden, "only installation administrators can erase an installation administrator")
		}
		p, err := d.collect(ctx, tx, u)
		if err != nil {
			return err
		}
		now := d.Now()
		rep.UserID, rep.At = u.ID, now
		scrub := scrubber(u)

		// Tickets: the requester's own, and every ticket they wrote on.
		for _, id := range p.ticketIDs {
			t := p.ticketByID[id]
			next := RedactedTicket{ID: t.ID, Subject: scrub(t.Subject), Description: scrub(t.Description), Cause: scrub(t.Cause.Text),
				Requester: t.Requester}
			if p.ownTicketIDs[id] {
				next.Description = RedactedMarker
				next.Requester = Contact{Name: RedactedMarker}
				rep.Tickets++
				if t.Protocol != "" {
					rep.Exempt = append(rep.Exempt, Exemption{Kind: "protocol", RefID: t.ID, Reason: ExemptProtocol})
				}
			}
			if next.Subject == "" {
				next.Subject = RedactedMarker
			}
			if err := tx.RedactTicket(ctx, next); err != nil {
				return err
			}
			msgs, err := tx.Messages(ctx, id, true)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				rm := RedactedMessage{ID: m.ID, Body: scrub(m.Body), AuthorName: m.AuthorName, AuthorEmail: m.AuthorEmail}
				if p.ownMessages[m.ID] {
					rm = RedactedMessage{ID: m.ID, Body: RedactedMarker, AuthorName: RedactedMarker}
					rep.Messages++
				} else if rm.Body == m.Body {
					continue
				} else {
					rep.OtherMessages++
				}
				if err := tx.RedactMessage(ctx, rm); err != nil {
					return err
				}
			}
			touched = append(touched, id)
		}
		for _, at := range p.Attachments {
			if at.Exempt != "" {
				rep.Exempt = append(rep.Exempt, Exemption{Kind: "attachment", RefID: at.ID, Reason: at.Exempt})
				continue
			}
			deleted, err := tx.RedactAttachment(ctx, at.ID, RedactedMarker)
			if err != nil {
				return err
			}
			rep.Attachments++
			if deleted {
				rep.BlobsDeleted++
			}
		}
		for _, m := range p.Mail {
			if m.Exempt != "" {
				rep.Exempt = append(rep.Exempt, Exemption{Kind: "mail_" + m.Direction, RefID: m.ID, Reason: m.Exempt})
				continue
			}
			if err := tx.RedactMail(ctx, m.Direction, m.ID, RedactedMarker); err != nil {
				return err
			}
			if m.Direction == "in" {
				rep.MailIn++
			} else {
				rep.MailOut++
			}
		}
		if rep.SupplierCalls, err = tx.RedactSupplierContacts(ctx, needles(u), RedactedMarker); err != nil {
			return err
		}
		if rep.Identities, err = tx.DeleteExternalIdentities(ctx, u.ID); err != nil {
			return err
		}
		toks, err := tx.Tokens(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, tk := range toks {
			if tk.Revoked.IsZero() {
				if err := tx.RevokeToken(ctx, tk.ID, now); err != nil {
					return err
				}
				hash := tk.Hash
				d.dropTokens(func(h string, _ cachedToken) bool { return h == hash })
				rep.Tokens++
			}
		}
		next := u
		next.Email = fmt.Sprintf("oscurato-%d@redacted.invalid", u.ID)
		next.Name, next.Phone, next.PasswordHash = RedactedMarker, "", ""
		next.Active, next.Redacted = false, true
		if err := tx.UpdateUser(ctx, &next); err != nil {
			return err
		}
		summary, _ := json.Marshal(rep)
		r := Redaction{UserID: u.ID, ActorID: a.UserID, At: now, Summary: string(summary)}
		if err := tx.InsertRedaction(ctx, &r, rep.Exempt); err != nil {
			return err
		}
		rep.RedactionID = r.ID
		evs := make([]Event, 0, len(touched))
		for _, id := range touched {
			evs = append(evs, Event{TicketID: id, ActorID: a.UserID, ActorName: actorName(a), At: now, Field: "redaction",
				New: fmt.Sprintf("personal data of user:%d", u.ID)})
		}
		if err := tx.InsertEvents(ctx, evs); err != nil {
			return err
		}
		for _, id := range touched {
			if err := tx.Reindex(ctx, id); err != nil {
				return err
			}
		}
		return d.AuditTx(ctx, tx, a, AuditEntry{OrgID: u.OrgID, Action: "redact", Target: userTarget(u.ID),
			Detail: fmt.Sprintf("personal data erased: %d tickets, %d messages, %d attachments, %d mails in, %d mails out, %d kept as exempt",
				rep.Tickets, rep.Messages, rep.Attachments, rep.MailIn, rep.MailOut, len(rep.Exempt))})
	})
	if err != nil {
		return ErasureReport{}, err
	}
	for _, id := range touched {
		d.changed(id)
	}
	return rep, nil
}

// needles are the strings that identify a person in free text.
func needles(u User) []string {
	var out []string
	for _, s := range []string{u.Email, u.Name, u.Phone} {
		if s = strings.TrimSpace(s); len([]rune(s)) >= 4 && s != RedactedMarker {
			out = append(out, s)
		}
	}
	return out
}

// scrubber returns a function replacing the person's name, e-mail and
// phone in a text with RedactedMarker (case-insensitive; a phone number
// matches whatever spaces, dots or dashes separate its digits).
func scrubber(u User) func(string) string {
	var parts []string
	for _, n := range needles(u) {
		if n == u.Phone {
			var digits []string
			for _, r := range n {
				if r >= '0' && r <= '9' || r == '+' {
					digits = append(digits, regexp.QuoteMeta(string(r)))
				}
			}
			if len(digits) >= 6 {
				parts = append(parts, strings.Join(digits, `[\s./-]*`))
			}
			continue
		}
		parts = append(parts, regexp.QuoteMeta(n))
	}
	if len(parts) == 0 {
		return func(s string) string { return s }
	}
	re := regexp.MustCompile(`(?i)` + strings.Join(parts, "|"))
	return func(s string) string { return re.ReplaceAllString(s, RedactedMarker) }
}

// RedactedTicket is the new text of a ticket under erasure.
type RedactedTicket struct {
	ID                   int64
	Subject, Description string
	Cause                string
	Requester            Contact
}

// RedactedMessage is the new text of a message under erasure.
type RedactedMessage struct {
	ID                      int64
	Body                    string
	AuthorName, AuthorEmail string
}

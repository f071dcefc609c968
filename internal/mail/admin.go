package mail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/route"
)

// MailboxInput is what an administrator gives to connect a mailbox.
type MailboxInput struct {
	// Address is the mailbox's address (the desk address it serves).
	Address string
	// IMAP and SMTP are URLs with the password inline (percent-encoded)
	// or as env:NAME.
	IMAP, SMTP string
	// Folder overrides the folder of the IMAP URL (default INBOX).
	Folder string
	// MoveTo is the folder processed mail is moved to ("" leaves it in
	// Folder, marked \Seen). It is created on the server when missing.
	MoveTo string
	PEC    bool
	// Org is the organisation's code; default: the organisation that
	// serves Address, else the default organisation.
	Org string
	// Serves lists more desk addresses delivered to this mailbox.
	Serves []string
	// Retired lists retired addresses delivered to this mailbox, each
	// optionally with the date retirement takes effect: ADDR or
	// ADDR@YYYY-MM-DD.
	Retired []string
	// ClosedReply is followup (default) or reopen.
	ClosedReply string
}

// ParseRetired splits "addr@domain@2020-10-12" into the address and date.
func ParseRetired(s string) (string, time.Time, error) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '@'); i > 0 && strings.Count(s, "@") > 1 {
		d, err := time.ParseInLocation("2006-01-02", s[i+1:], rome())
		if err != nil {
			return "", time.Time{}, fmt.Errorf("retired address %q: the date must be YYYY-MM-DD", s)
		}
		return mailbox.NormAddress(s[:i]), d.UTC(), nil
	}
	return mailbox.NormAddress(s), time.Time{}, nil
}

func rome() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.UTC
}

// SaveMailbox connects a mailbox, or updates the one with that address.
// Passwords are sealed with the secret key; an IMAP or SMTP URL without
// password keeps the stored one when user and server are unchanged. It
// returns the mailbox (without clear passwords) and whether it is new.
func SaveMailbox(ctx context.Context, st desk.Store, sealer *mailbox.Sealer, in MailboxInput, now time.Time) (mailbox.Mailbox, bool, error) {
	addr := mailbox.NormAddress(in.Address)
	if !desk.ValidEmail(addr) {
		return mailbox.Mailbox{}, false, desk.FieldError("address", "invalid e-mail address %q", in.Address)
	}
	imapEP, imapPass, err := mailbox.ParseURL(in.IMAP, "imap")
	if err != nil {
		return mailbox.Mailbox{}, false, desk.FieldError("imap", "%v", err)
	}
	smtpEP, smtpPass, err := mailbox.ParseURL(in.SMTP, "smtp")
	if err != nil {
		return mailbox.Mailbox{}, false, desk.FieldError("smtp", "%v", err)
	}
	closed := mailbox.ClosedReply(in.ClosedReply)
	if closed == "" {
		closed = mailbox.FollowUp
	}
	if !closed.Valid() {
		return mailbox.Mailbox{}, false, desk.FieldError("closed", "use followup or reopen, not %q", in.ClosedReply)
	}
	type retiredAddr struct {
		addr string
		at   time.Time
	}
	var retired []retiredAddr
	for _, r := range in.Retired {
		if strings.TrimSpace(r) == "" {
			continue
		}
		a, at, err := ParseRetired(r)
		if err != nil {
			return mailbox.Mailbox{}, false, desk.FieldError("retired", "%v", err)
		}
		if !desk.ValidEmail(a) {
			return mailbox.Mailbox{}, false, desk.FieldError("retired", "invalid e-mail address %q", r)
		}
		retired = append(retired, retiredAddr{a, at})
	}
	var serves []string
	for _, s := range in.Serves {
		if s = mailbox.NormAddress(s); s == "" {
			continue
		}
		if !desk.ValidEmail(s) {
			return mailbox.Mailbox{}, false, desk.FieldError("serves", "invalid e-mail address %q", s)
		}
		serves = append(serves, s)
	}
	folder := firstNonEmpty(in.Folder, imapEP.Folder, "INBOX")
	moveTo := strings.TrimSpace(in.MoveTo)
	if moveTo != "" && (moveTo == folder || strings.EqualFold(moveTo, "INBOX") && strings.EqualFold(folder, "INBOX") ||
		strings.ContainsFunc(moveTo, func(r rune) bool { return r < ' ' || r == 0x7f || r == '*' || r == '%' }) || len(moveTo) > 200) {
		return mailbox.Mailbox{}, false, desk.FieldError("move_to", "the folder for processed mail must be another folder than the one read, without control characters, * or %%")
	}
	var mb mailbox.Mailbox
	created := false
	err = mailbox.Update(ctx, st, func(tx mailbox.Tx) error {
		existing, err := tx.MailboxByAddress(ctx, addr)
		found := err == nil
		if err != nil && !desk.IsNotFound(err) {
			return err
		}
		var org desk.Organisation
		switch {
		case in.Org != "":
			if org, err = tx.OrgByCode(ctx, in.Org); err != nil {
				return desk.FieldError("org", "unknown organisation %q", in.Org)
			}
		case found:
			if org, err = tx.OrgByID(ctx, existing.OrgID); err != nil {
				return err
			}
		default:
			a, err := tx.AddressByEmail(ctx, addr)
			switch {
			case err == nil:
				org, err = tx.OrgByID(ctx, a.OrgID)
			case desk.IsNotFound(err):
				org, err = desk.DefaultOrg(ctx, tx)
			}
			if err != nil {
				return err
			}
		}
		mb = mailbox.Mailbox{ID: existing.ID, OrgID: org.ID, Address: addr, IMAP: imapEP, SMTP: smtpEP, Folder: folder, MoveTo: moveTo, PEC: in.PEC,
			ClosedReply: closed, Active: true, Created: now, Updated: now}
		if found {
			mb.Created = existing.Created
			keep := func(e *mailbox.Endpoint, pass mailbox.Secret, old mailbox.Endpoint) {
				if pass == "" && e.Secret == "" && e.User == old.User && e.Host == old.Host && e.Port == old.Port {
					e.Secret = old.Secret
				}
			}
			keep(&mb.IMAP, imapPass, existing.IMAP)
			keep(&mb.SMTP, smtpPass, existing.SMTP)
		}
		if err := mb.SetPasswords(sealer, imapPass, smtpPass); err != nil {
			return err
		}
		if found {
			if err := tx.UpdateMailbox(ctx, &mb); err != nil {
				return err
			}
		} else {
			if err := tx.InsertMailbox(ctx, &mb); err != nil {
				return err
			}
			created = true
		}
		kind := mailbox.KindDesk
		if in.PEC {
			kind = mailbox.KindPEC
		}
		for _, a := range append([]string{addr}, serves...) {
			if err := tx.PutAddress(ctx, mailbox.Address{Address: a, OrgID: org.ID, Kind: kind, Created: now}); err != nil {
				return err
			}
		}
		for _, r := range retired {
			if err := tx.PutAddress(ctx, mailbox.Address{Address: r.addr, OrgID: org.ID, Kind: mailbox.KindRetired, RetiredAt: r.at, Created: now}); err != nil {
				return err
			}
		}
		return nil
	})
	return mb, created, err
}

// RemoveMailbox disconnects a mailbox: it stops being read within seconds.
// Its history (received and sent mail) is kept, and adding it again
// reconnects it.
func RemoveMailbox(ctx context.Context, st desk.Store, address string, now time.Time) error {
	addr := mailbox.NormAddress(address)
	return mailbox.Update(ctx, st, func(tx mailbox.Tx) error {
		mb, err := tx.MailboxByAddress(ctx, addr)
		if err != nil {
			return err
		}
		if !mb.Active {
			return desk.Errorf(desk.ENotFound, "mailbox %s is not connected", addr)
		}
		mb.Active, mb.Updated = false, now
		return tx.UpdateMailbox(ctx, &mb)
	})
}

// SetRules validates and replaces an organisation's routing rules.
func SetRules(ctx context.Context, st desk.Store, orgCode string, rules []route.Rule, now time.Time) error {
	for i := range rules {
		if err := rules[i].Validate(); err != nil {
			return desk.FieldError(fmt.Sprintf("rules[%d]", i), "rule %q: %v", rules[i].Name, err)
		}
	}
	return mailbox.Update(ctx, st, func(tx mailbox.Tx) error {
		org, err := tx.OrgByCode(ctx, orgCode)
		if err != nil {
			return desk.FieldError("org", "unknown organisation %q", orgCode)
		}
		for i, r := range rules {
			if r.Then.Service != "" {
				if _, err := tx.ServiceByCode(ctx, org.ID, r.Then.Service); err != nil {
					return desk.FieldError(fmt.Sprintf("rules[%d].then.service", i), "rule %q: unknown service %q", r.Name, r.Then.Service)
				}
			}
			if r.Then.Queue != "" {
				if _, err := tx.QueueByCode(ctx, org.ID, r.Then.Queue); err != nil {
					return desk.FieldError(fmt.Sprintf("rules[%d].then.queue", i), "rule %q: unknown queue %q", r.Name, r.Then.Queue)
				}
			}
		}
		return tx.ReplaceRules(ctx, org.ID, rules, now)
	})
}

// Rules returns an organisation's routing rules.
func Rules(ctx context.Context, st desk.Store, orgCode string) ([]route.Rule, error) {
	var rules []route.Rule
	err := mailbox.View(ctx, st, func(tx mailbox.Tx) error {
		org, err := tx.OrgByCode(ctx, orgCode)
		if err != nil {
			return desk.FieldError("org", "unknown organisation %q", orgCode)
		}
		rules, err = tx.Rules(ctx, org.ID)
		return err
	})
	return rules, err
}

// PutOffices adds or replaces directory entries.
func PutOffices(ctx context.Context, st desk.Store, offices []route.Office, now time.Time) error {
	for i := range offices {
		if err := offices[i].Validate(); err != nil {
			return desk.FieldError("offices", "office %s: %v", offices[i].Code, err)
		}
	}
	return mailbox.Update(ctx, st, func(tx mailbox.Tx) error {
		for i := range offices {
			if err := tx.PutOffice(ctx, &offices[i], now); err != nil {
				return err
			}
		}
		return nil
	})
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// scope returns the organisations whose mail an actor may see: nil for
// all (installation administrators and the system), the actor's own for an
// organisation's administrator; EForbidden for everyone else.
func scope(a desk.Actor) ([]int64, error) {
	switch {
	case a.System || a.InstallationAdmin:
		return nil, nil
	case a.Role == desk.RoleAdmin && a.OrgID != 0:
		return []int64{a.OrgID}, nil
	}
	return nil, desk.Errorf(desk.EForbidden, "only administrators see the mail log")
}

// MailLog lists received mail (without raw bytes), newest first, as an
// administrator may see it: what each message became (ticket, retired
// address answered, quarantined with the reason…). Filter with
// q.Outcomes (such as mailbox.OutQuarantined or mailbox.OutRetired),
// q.MailboxID and the q.Before cursor.
func MailLog(ctx context.Context, st desk.Store, a desk.Actor, q mailbox.LogQuery) ([]mailbox.Inbound, error) {
	orgs, err := scope(a)
	if err != nil {
		return nil, err
	}
	q.OrgIDs = orgs
	var out []mailbox.Inbound
	err = mailbox.View(ctx, st, func(tx mailbox.Tx) error {
		var err error
		out, err = tx.MailLog(ctx, q)
		return err
	})
	return out, err
}

// RawMessage returns a received message with its raw bytes (to download a
// quarantined message, or PEC evidence), if the actor administers its
// mailbox's organisation. Others get ENotFound.
func RawMessage(ctx context.Context, st desk.Store, a desk.Actor, id int64) (mailbox.Inbound, error) {
	if _, err := scope(a); err != nil {
		return mailbox.Inbound{}, err
	}
	var in mailbox.Inbound
	err := mailbox.View(ctx, st, func(tx mailbox.Tx) error {
		var err error
		if in, err = tx.InboundByID(ctx, id); err != nil {
			return err
		}
		mb, err := tx.MailboxByID(ctx, in.MailboxID)
		if err != nil {
			return err
		}
		if !desk.CanAdminOrg(a, mb.OrgID) {
			return desk.Errorf(desk.ENotFound, "received message not found")
		}
		return nil
	})
	return in, err
}

// Mailboxes lists the mailboxes an administrator may see, with their
// health (passwords are never included: endpoints print as ***).
func Mailboxes(ctx context.Context, st desk.Store, a desk.Actor) ([]mailbox.Mailbox, error) {
	orgs, err := scope(a)
	if err != nil {
		return nil, err
	}
	var out []mailbox.Mailbox
	err = mailbox.View(ctx, st, func(tx mailbox.Tx) error {
		all, err := tx.Mailboxes(ctx, false)
		for _, m := range all {
			if orgs == nil || m.OrgID == orgs[0] {
				out = append(out, m)
			}
		}
		return err
	})
	return out, err
}

// TicketMail lists the mail sent for a ticket with what happened to each
// message afterwards (bounces, PEC receipts), for the ticket page. The
// caller checks that the actor may see the ticket.
func TicketMail(ctx context.Context, st desk.Store, ticketID int64) ([]mailbox.Outbound, map[int64][]mailbox.OutEvent, error) {
	var outs []mailbox.Outbound
	events := map[int64][]mailbox.OutEvent{}
	err := mailbox.View(ctx, st, func(tx mailbox.Tx) error {
		var err error
		if outs, err = tx.Outbounds(ctx, ticketID, nil, 0, 200); err != nil {
			return err
		}
		for _, o := range outs {
			evs, err := tx.OutEvents(ctx, o.ID)
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				events[o.ID] = evs
			}
		}
		return nil
	})
	return outs, events, err
}

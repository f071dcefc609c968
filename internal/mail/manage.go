package mail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/parse"
	"github.com/sportello/sportello/internal/mail/route"
)

// Admin is the e-mail channel's administration as the web pages use it:
// every method authorises the actor (installation administrators
// everything; an organisation's administrators their organisation's
// mailboxes, rules and addresses; the office directory is installation-wide,
// readable by every administrator and changed by installation
// administrators) and records changes in the audit log in the same
// transaction.
type Admin struct {
	Desk   *desk.Desk
	Sealer *mailbox.Sealer
}

// NewAdmin returns the administration of the e-mail channel.
func NewAdmin(d *desk.Desk, key []byte) (*Admin, error) {
	s, err := mailbox.NewSealer(key)
	if err != nil {
		return nil, err
	}
	return &Admin{Desk: d, Sealer: s}, nil
}

func (m *Admin) st() desk.Store { return m.Desk.Store() }

// orgOf resolves the organisation an administrator works on ("" is their
// own, or the default one for installation administrators).
func orgOf(ctx context.Context, tx mailbox.Tx, a desk.Actor, code string) (desk.Organisation, error) {
	if _, err := scope(a); err != nil {
		return desk.Organisation{}, err
	}
	var o desk.Organisation
	var err error
	switch {
	case code != "":
		if o, err = tx.OrgByCode(ctx, code); err != nil {
			return o, desk.FieldError("org", "unknown organisation %q", code)
		}
	case a.OrgID != 0:
		o, err = tx.OrgByID(ctx, a.OrgID)
	default:
		o, err = desk.DefaultOrg(ctx, tx)
	}
	if err != nil {
		return o, err
	}
	if !desk.CanAdminOrg(a, o.ID) {
		return o, desk.Errorf(desk.EForbidden, "you do not administer organisation %s", o.Code)
	}
	return o, nil
}

// Mailboxes lists the mailboxes the actor administers, with their health.
func (m *Admin) Mailboxes(ctx context.Context, a desk.Actor) ([]mailbox.Mailbox, error) {
	return Mailboxes(ctx, m.st(), a)
}

// Quarantined counts, up to limit, the quarantined messages of a mailbox.
func (m *Admin) Quarantined(ctx context.Context, a desk.Actor, mailboxID int64, limit int) (int, error) {
	log, err := MailLog(ctx, m.st(), a, mailbox.LogQuery{MailboxID: mailboxID, Outcomes: []mailbox.Outcome{mailbox.OutQuarantined}, Limit: limit})
	return len(log), err
}

// SaveMailbox connects a mailbox (or changes the one with that address).
// An organisation's administrator connects mailboxes of their organisation
// only, and cannot take over an address another organisation uses.
func (m *Admin) SaveMailbox(ctx context.Context, a desk.Actor, in MailboxInput) (mailbox.Mailbox, bool, error) {
	var orgCode string
	err := mailbox.View(ctx, m.st(), func(tx mailbox.Tx) error {
		o, err := orgOf(ctx, tx, a, in.Org)
		if err != nil {
			return err
		}
		orgCode = o.Code
		addr := mailbox.NormAddress(in.Address)
		if mb, err := tx.MailboxByAddress(ctx, addr); err == nil && !desk.CanAdminOrg(a, mb.OrgID) {
			return &desk.Error{Code: desk.EConflict, Field: "address", Message: "another organisation uses " + addr}
		}
		if ad, err := tx.AddressByEmail(ctx, addr); err == nil && !desk.CanAdminOrg(a, ad.OrgID) {
			return &desk.Error{Code: desk.EConflict, Field: "address", Message: "another organisation uses " + addr}
		}
		return nil
	})
	if err != nil {
		return mailbox.Mailbox{}, false, err
	}
	in.Org = orgCode
	addr := mailbox.NormAddress(in.Address)
	st := afterStore{m.st(), func(ctx context.Context, tx desk.Tx) error {
		mb, err := mailbox.Of(tx).MailboxByAddress(ctx, addr)
		if err != nil {
			return err
		}
		action := "mailbox.update"
		if mb.Created.Equal(mb.Updated) {
			action = "mailbox.create"
		}
		return m.Desk.RecordAdmin(ctx, tx, a, mb.OrgID, action, fmt.Sprintf("mailbox:%d", mb.ID),
			fmt.Sprintf("%s imap %s smtp %s pec=%t", mb.Address, mb.IMAP.String(), mb.SMTP.String(), mb.PEC))
	}}
	return SaveMailbox(ctx, st, m.Sealer, in, m.Desk.Now())
}

// afterStore runs after inside the same write transaction, once fn
// succeeded: the audit entry commits with the change it describes.
type afterStore struct {
	desk.Store
	after func(ctx context.Context, tx desk.Tx) error
}

func (s afterStore) Update(ctx context.Context, fn func(desk.Tx) error) error {
	return s.Store.Update(ctx, func(tx desk.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.after(ctx, tx)
	})
}

// RemoveMailbox disconnects a mailbox the actor administers.
func (m *Admin) RemoveMailbox(ctx context.Context, a desk.Actor, address string) error {
	addr := mailbox.NormAddress(address)
	err := mailbox.View(ctx, m.st(), func(tx mailbox.Tx) error {
		if _, err := scope(a); err != nil {
			return err
		}
		mb, err := tx.MailboxByAddress(ctx, addr)
		if err != nil {
			return err
		}
		if !desk.CanAdminOrg(a, mb.OrgID) {
			return desk.Errorf(desk.ENotFound, "mailbox not found")
		}
		return nil
	})
	if err != nil {
		return err
	}
	st := afterStore{m.st(), func(ctx context.Context, tx desk.Tx) error {
		mb, err := mailbox.Of(tx).MailboxByAddress(ctx, addr)
		if err != nil {
			return err
		}
		return m.Desk.RecordAdmin(ctx, tx, a, mb.OrgID, "mailbox.remove", fmt.Sprintf("mailbox:%d", mb.ID), mb.Address)
	}}
	return RemoveMailbox(ctx, st, addr, m.Desk.Now())
}

// Rules returns the routing rules of an organisation the actor administers.
func (m *Admin) Rules(ctx context.Context, a desk.Actor, orgCode string) (desk.Organisation, []route.Rule, error) {
	var o desk.Organisation
	var rules []route.Rule
	err := mailbox.View(ctx, m.st(), func(tx mailbox.Tx) error {
		var err error
		if o, err = orgOf(ctx, tx, a, orgCode); err != nil {
			return err
		}
		rules, err = tx.Rules(ctx, o.ID)
		return err
	})
	return o, rules, err
}

// SetRules validates and replaces the ordered routing rules of an
// organisation the actor administers.
func (m *Admin) SetRules(ctx context.Context, a desk.Actor, orgCode string, rules []route.Rule, why string) error {
	var o desk.Organisation
	err := mailbox.View(ctx, m.st(), func(tx mailbox.Tx) error {
		var err error
		o, err = orgOf(ctx, tx, a, orgCode)
		return err
	})
	if err != nil {
		return err
	}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
	}
	st := afterStore{m.st(), func(ctx context.Context, tx desk.Tx) error {
		return m.Desk.RecordAdmin(ctx, tx, a, o.ID, "rule.update", "rules:"+o.Code,
			fmt.Sprintf("%s; %d rules: %s", why, len(rules), strings.Join(names, ", ")))
	}}
	return SetRules(ctx, st, o.Code, rules, m.Desk.Now())
}

// RulePreview is what the rules would do with a message.
type RulePreview struct {
	From       string
	Recipients []string
	Subject    string
	Body       string
	// Retired is set when the message goes to a retired address: it is
	// answered and opens no ticket, whatever the rules say.
	Retired  string
	Decision route.Decision
}

// maxPreview bounds a pasted message.
const maxPreview = 2 << 20

// TestRules parses a pasted message with the real parser and evaluates
// rules on it as the intake would (the stored rules when rules is nil),
// without storing or sending anything.
func (m *Admin) TestRules(ctx context.Context, a desk.Actor, orgCode string, raw []byte, rules []route.Rule) (RulePreview, error) {
	if len(raw) > maxPreview {
		return RulePreview{}, desk.Errorf(desk.ETooLarge, "the message is larger than 2 MB")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return RulePreview{}, desk.FieldError("message", "paste a message with its headers")
	}
	msg, err := parse.Parse(raw, parse.Options{})
	if err != nil {
		return RulePreview{}, desk.FieldError("message", "the message cannot be read: %v", err)
	}
	var p RulePreview
	err = mailbox.View(ctx, m.st(), func(tx mailbox.Tx) error {
		o, err := orgOf(ctx, tx, a, orgCode)
		if err != nil {
			return err
		}
		if rules == nil {
			if rules, err = tx.Rules(ctx, o.ID); err != nil {
				return err
			}
		}
		now := m.Desk.Now()
		for _, r := range msg.Recipients {
			if ad, err := tx.AddressByEmail(ctx, r); err == nil && ad.RetiredNow(now) && desk.CanAdminOrg(a, ad.OrgID) {
				p.Retired = r
				break
			}
		}
		return nil
	})
	if err != nil {
		return RulePreview{}, err
	}
	body := strings.TrimSpace(msg.Text)
	p.From, p.Recipients, p.Subject, p.Body = msg.From.Email, msg.Recipients, msg.Subject, body
	p.Decision = route.Evaluate(rules, route.Input{Recipients: msg.Recipients, Sender: msg.From.Email, Subject: msg.Subject, Body: body})
	return p, nil
}

// Addresses lists the desk, PEC and retired addresses of an organisation.
func (m *Admin) Addresses(ctx context.Context, a desk.Actor, orgCode string) ([]mailbox.Address, error) {
	var out []mailbox.Address
	err := mailbox.View(ctx, m.st(), func(tx mailbox.Tx) error {
		o, err := orgOf(ctx, tx, a, orgCode)
		if err != nil {
			return err
		}
		out, err = tx.Addresses(ctx, o.ID)
		return err
	})
	return out, err
}

// RetireAddress marks an address of an organisation as retired from the
// date given (zero: now): mail to it is answered politely and opens no ticket.
func (m *Admin) RetireAddress(ctx context.Context, a desk.Actor, orgCode, address string, from time.Time) error {
	addr := mailbox.NormAddress(address)
	if !desk.ValidEmail(addr) {
		return desk.FieldError("address", "invalid e-mail address %q", address)
	}
	return mailbox.Update(ctx, m.st(), func(tx mailbox.Tx) error {
		o, err := orgOf(ctx, tx, a, orgCode)
		if err != nil {
			return err
		}
		if ad, err := tx.AddressByEmail(ctx, addr); err == nil && ad.OrgID != o.ID {
			return &desk.Error{Code: desk.EConflict, Field: "address", Message: "another organisation uses " + addr}
		}
		if mb, err := tx.MailboxByAddress(ctx, addr); err == nil && mb.Active {
			return &desk.Error{Code: desk.EConflict, Field: "address", Message: addr + " is a connected mailbox: disconnect it first"}
		}
		if err := tx.PutAddress(ctx, mailbox.Address{Address: addr, OrgID: o.ID, Kind: mailbox.KindRetired, RetiredAt: from, Created: m.Desk.Now()}); err != nil {
			return err
		}
		detail := addr
		if !from.IsZero() {
			detail += " from " + from.Format("2006-01-02")
		}
		return m.Desk.RecordAdmin(ctx, tx, a, o.ID, "address.retire", "address:"+addr, detail)
	})
}

// RemoveAddress forgets a retired address (mail to it is then treated as
// mail to any unknown address of the mailbox).
func (m *Admin) RemoveAddress(ctx context.Context, a desk.Actor, address string) error {
	addr := mailbox.NormAddress(address)
	return mailbox.Update(ctx, m.st(), func(tx mailbox.Tx) error {
		if _, err := scope(a); err != nil {
			return err
		}
		ad, err := tx.AddressByEmail(ctx, addr)
		if err != nil {
			return err
		}
		if !desk.CanAdminOrg(a, ad.OrgID) {
			return desk.Errorf(desk.ENotFound, "address not found")
		}
		if ad.Kind != mailbox.KindRetired {
			return &desk.Error{Code: desk.EConflict, Field: "address", Message: addr + " is not a retired address"}
		}
		if err := tx.DeleteAddress(ctx, addr); err != nil {
			return err
		}
		return m.Desk.RecordAdmin(ctx, tx, a, ad.OrgID, "address.remove", "address:"+addr, "retired address removed")
	})
}

// Offices lists the directory of offices (every kind).
func (m *Admin) Offices(ctx context.Context, a desk.Actor) ([]route.Office, error) {
	if _, err := scope(a); err != nil {
		return nil, err
	}
	var out []route.Office
	err := mailbox.View(ctx, m.st(), func(tx mailbox.Tx) error {
		var err error
		out, err = tx.Offices(ctx, "")
		return err
	})
	return out, err
}

// OfficeChange is one line of a directory import preview.
type OfficeChange struct {
	Office route.Office
	Old    route.Office // for changed entries
	Kind   string       // "new", "changed" or "same"
}

// OfficePreview is what importing a CSV file would change.
type OfficePreview struct {
	Changes      []OfficeChange
	New, Changed int
	Same         int
	Errors       []string // rows skipped, with the reason
	Offices      []route.Office
}

// maxDirectory bounds an uploaded directory file.
const maxDirectory = 20 << 20

// PreviewOffices reads a directory CSV (Sportello's columns or the IPA
// open-data files, see route.ImportCSV) and compares it with the stored
// directory, changing nothing. Only installation administrators manage the
// directory, which every organisation shares.
func (m *Admin) PreviewOffices(ctx context.Context, a desk.Actor, r io.Reader, opts route.ImportOptions) (OfficePreview, error) {
	if !(a.System || a.InstallationAdmin) {
		return OfficePreview{}, desk.Errorf(desk.EForbidden, "only installation administrators manage the office directory")
	}
	data, err := io.ReadAll(io.LimitReader(r, maxDirectory+1))
	if err != nil {
		return OfficePreview{}, err
	}
	if len(data) > maxDirectory {
		return OfficePreview{}, desk.Errorf(desk.ETooLarge, "the file is larger than 20 MB")
	}
	offices, errs := route.ImportCSV(bytes.NewReader(data), opts)
	var p OfficePreview
	for _, e := range errs {
		p.Errors = append(p.Errors, e.Error())
	}
	if len(offices) == 0 {
		if len(errs) == 0 {
			return p, desk.FieldError("file", "the file holds no offices")
		}
		return p, desk.FieldError("file", "no usable office in the file: %s", strings.Join(p.Errors, "; "))
	}
	current, err := m.Offices(ctx, a)
	if err != nil {
		return p, err
	}
	byCode := map[string]route.Office{}
	for _, o := range current {
		byCode[o.Code] = o
	}
	for _, o := range offices {
		old, ok := byCode[o.Code]
		old.ID = 0
		c := OfficeChange{Office: o}
		switch {
		case !ok:
			c.Kind = "new"
			p.New++
		case old != o:
			c.Kind, c.Old = "changed", old
			p.Changed++
		default:
			c.Kind = "same"
			p.Same++
		}
		p.Changes = append(p.Changes, c)
	}
	sort.SliceStable(p.Changes, func(i, j int) bool { return rank(p.Changes[i].Kind) < rank(p.Changes[j].Kind) })
	p.Offices = offices
	return p, nil
}

func rank(kind string) int {
	switch kind {
	case "new":
		return 0
	case "changed":
		return 1
	}
	return 2
}

// ApplyOffices writes the offices of a previewed import (new and changed
// entries; entries not in the file are kept).
func (m *Admin) ApplyOffices(ctx context.Context, a desk.Actor, p OfficePreview) error {
	if !(a.System || a.InstallationAdmin) {
		return desk.Errorf(desk.EForbidden, "only installation administrators manage the office directory")
	}
	var write []route.Office
	for _, c := range p.Changes {
		if c.Kind != "same" {
			write = append(write, c.Office)
		}
	}
	st := afterStore{m.st(), func(ctx context.Context, tx desk.Tx) error {
		return m.Desk.RecordAdmin(ctx, tx, a, 0, "directory.import", "directory",
			fmt.Sprintf("%d new, %d changed, %d unchanged, %d rows skipped", p.New, p.Changed, p.Same, len(p.Errors)))
	}}
	if len(write) == 0 {
		return nil
	}
	return PutOffices(ctx, st, write, m.Desk.Now())
}

// MailLog lists received mail for the actor (see MailLog).
func (m *Admin) MailLog(ctx context.Context, a desk.Actor, q mailbox.LogQuery) ([]mailbox.Inbound, error) {
	return MailLog(ctx, m.st(), a, q)
}

package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"
)

// Limits of user input, enforced in the domain so that every channel gets them.
const (
	MaxSubject        = 300
	MaxBody           = 200_000
	DefaultAttachment = 25 << 20
	DefaultTriage     = "triage"
)

// Opts configures a Desk.
type Opts struct {
	Store Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxAttachment is the largest accepted attachment in bytes.
	MaxAttachment int64
	// Hasher hashes and verifies local passwords.
	Hasher PasswordHasher
	// Notify, when set, is called after a commit that changed a ticket.
	Notify func(ticketID int64)
	// OnCreated, when set, is called after a ticket is registered.
	OnCreated func(Ticket)
}

// PasswordHasher hashes and verifies passwords (argon2id in package auth).
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) (bool, error)
}

// Desk holds the business rules for tickets and people. Web pages, the REST
// API and inbound mail all go through it.
type Desk struct {
	store     Store
	now       func() time.Time
	maxAtt    int64
	hasher    PasswordHasher
	notify    func(int64)
	onCreated func(Ticket)

	// dummyHash is verified when an account does not exist, so that a
	// log-in for an unknown e-mail takes as long as a real one.
	dummyOnce sync.Once
	dummyHash string

	// tokens caches resolved API tokens by hash (see tokenCacheTTL).
	tokens sync.Map
	// serviceChange follows a change of service (SetServiceChange).
	serviceChange ServiceChange
	// tokenLookups shares one token lookup among concurrent requests;
	// tokenGen counts changes that drop cached tokens (dropTokens).
	tokenLookups singleflight.Group
	tokenGen     atomic.Uint64

	// Hooks set once at wiring time, before serving (see SetHooks).
	guard       TransitionGuard
	afterCreate []func(context.Context, Ticket)
	txHooks     TxHooks
	fieldCheck  FieldChecker
}

// TxHooks run inside the transaction of a change, so that what they write
// (the outbox row of an e-mail) commits or rolls back with it.
type TxHooks struct {
	// OnMessage runs after a reply or note is stored.
	OnMessage func(ctx context.Context, tx Tx, t Ticket, m Message) error
	// OnStatus runs after a ticket's status changed.
	OnStatus func(ctx context.Context, tx Tx, prev, next Ticket) error
}

// SetTxHooks installs the in-transaction hooks. Call it before the desk is shared.
func (d *Desk) SetTxHooks(h TxHooks) { d.txHooks = h }

// Bound returns a desk with the same rules and hooks working on another
// store (a transaction already open, in the workflow engine) and reporting
// changes to notify.
func (d *Desk) Bound(st Store, notify func(int64)) *Desk {
	return &Desk{store: st, now: d.now, maxAtt: d.maxAtt, hasher: d.hasher, notify: notify,
		guard: d.guard, txHooks: d.txHooks, fieldCheck: d.fieldCheck}
}

func (d *Desk) statusHook(ctx context.Context, tx Tx, prev, next Ticket) error {
	if d.txHooks.OnStatus == nil || prev.Status == next.Status {
		return nil
	}
	return d.txHooks.OnStatus(ctx, tx, prev, next)
}

// TransitionGuard may refuse a status change inside its transaction (the
// workflow's approval gates); it returns nil or a *Error.
type TransitionGuard func(ctx context.Context, tx Tx, t Ticket, to Status) error

// SetHooks installs the guard consulted by every status change and
// functions run after a ticket is registered (outside its transaction; they
// log their own errors). It must be called before the desk is shared.
// ServiceChange is told, inside the transaction of desk.Update, that a
// ticket's service changes from prev's to next's; it may refuse, or do
// what follows from it (the workflow replaces the old service's phases)
// and return history entries to record with the change.
type ServiceChange func(ctx context.Context, tx Tx, prev, next Ticket) ([]Event, error)

// SetServiceChange installs the hook run when a ticket's service changes.
func (d *Desk) SetServiceChange(fn ServiceChange) { d.serviceChange = fn }

func (d *Desk) SetHooks(guard TransitionGuard, afterCreate ...func(context.Context, Ticket)) {
	d.guard = guard
	d.afterCreate = append(d.afterCreate, afterCreate...)
}

// New returns a Desk.
func New(o Opts) *Desk {
	d := &Desk{store: o.Store, now: o.Now, maxAtt: o.MaxAttachment, hasher: o.Hasher, notify: o.Notify, onCreated: o.OnCreated}
	if d.now == nil {
		d.now = time.Now
	}
	if d.maxAtt <= 0 {
		d.maxAtt = DefaultAttachment
	}
	return d
}

// Store exposes the underlying store to adapters that need plain reads.
func (d *Desk) Store() Store { return d.store }

// SetClock replaces the desk's clock. Only for work done before the desk
// serves anyone: the demo loader registers its tickets over past weeks.
func (d *Desk) SetClock(now func() time.Time) { d.now = now }

// Now returns the desk's clock reading, truncated to microseconds as stored.
func (d *Desk) Now() time.Time { return d.now().UTC().Truncate(time.Microsecond) }

// NewTicket is the input to CreateTicket.
type NewTicket struct {
	OrgCode     string // empty: the actor's organisation
	Subject     string
	Description string
	Service     string // service code, optional
	Queue       string // queue code, optional (default: the service's, else triage)
	Channel     Channel
	Priority    Priority
	Requester   Contact
	Attachments []NewAttachment
	// Tags label the ticket (see NormTags).
	Tags []string
	// Fields are values of the service's own fields, by code (see
	// FieldValue and checkFields).
	Fields map[string]string
}

// NewAttachment is a file to store with a message or ticket.
type NewAttachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// FormatNumber renders a ticket number.
func FormatNumber(year int, seq int64) string { return fmt.Sprintf("%d-%06d", year, seq) }

// ValidNumber reports whether s looks like a ticket number.
func ValidNumber(s string) bool {
	if len(s) < 8 || len(s) > 20 || s[4] != '-' {
		return false
	}
	if _, err := strconv.Atoi(s[:4]); err != nil {
		return false
	}
	_, err := strconv.ParseInt(s[5:], 10, 64)
	return err == nil
}

func cleanText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.ReplaceAll(s, "\x00", "")
	if required && s == "" {
		return "", FieldError(field, "%s is required", field)
	}
	if utf8.RuneCountInString(s) > max {
		return "", FieldError(field, "%s is longer than %d characters", field, max)
	}
	return s, nil
}

func cleanLine(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "")), " ")
}

// CreateTicket registers a request. It validates everything before writing,
// so a refused request leaves nothing behind.
func (d *Desk) CreateTicket(ctx context.Context, a Actor, in NewTicket) (Ticket, error) {
	var err error
	t := Ticket{Status: StatusNew, Level: LevelFirst, Channel: in.Channel, Priority: in.Priority}
	if t.Subject, err = cleanText("subject", cleanLine(in.Subject), MaxSubject, true); err != nil {
		return Ticket{}, err
	}
	if t.Description, err = cleanText("description", in.Description, MaxBody, false); err != nil {
		return Ticket{}, err
	}
	if t.Channel == "" {
		t.Channel = ChannelAPI
	}
	if !t.Channel.Valid() {
		return Ticket{}, FieldError("channel", "unknown channel %q", in.Channel)
	}
	if t.Priority == "" {
		t.Priority = PriorityNormal
	}
	if !t.Priority.Valid() {
		return Ticket{}, FieldError("priority", "unknown priority %q", in.Priority)
	}
	if t.Tags, err = NormTags(in.Tags); err != nil {
		return Ticket{}, err
	}
	if len(t.Tags) > 0 && !a.System && !a.IsStaff() {
		return Ticket{}, FieldError("tags", "only staff can tag tickets")
	}
	if a.Role == RoleRequester && !a.System && (t.Channel == ChannelPhone || t.Channel == ChannelInPerson) {
		return Ticket{}, FieldError("channel", "requesters cannot register %s requests", t.Channel)
	}
	req := Contact{Email: NormEmail(in.Requester.Email), Name: cleanLine(in.Requester.Name), Phone: cleanLine(in.Requester.Phone)}
	if req.Email != "" && !ValidEmail(req.Email) {
		return Ticket{}, FieldError("requester.email", "invalid e-mail address %q", in.Requester.Email)
	}
	for _, f := range in.Attachments {
		if int64(len(f.Data)) > d.maxAtt {
			return Ticket{}, &Error{Code: ETooLarge, Field: "attachments", Message: fmt.Sprintf("attachment %q is larger than %d bytes", f.Name, d.maxAtt)}
		}
	}
	now := d.Now()
	t.Created, t.Updated = now, now

	// References are resolved on the read side, which runs in parallel;
	// the write transaction (one writer on SQLite) then only writes. Codes
	// and ids of organisations, services and queues do not change once made.
	var org Organisation
	var svc Service
	var queue Queue
	var known User // the requester, when already registered
	var fields []FieldValue
	err = d.store.View(ctx, func(tx Tx) error {
		var err error
		if org, err = d.orgFor(ctx, tx, a, in.OrgCode); err != nil {
			return err
		}
		if in.Service != "" {
			svc, err = tx.ServiceByCode(ctx, org.ID, in.Service)
			if err != nil || !svc.Active {
				return FieldError("service", "unknown service %q", in.Service)
			}
		}
		if fields, err = d.checkFields(ctx, tx, svc, in); err != nil {
			return err
		}
		switch {
		case in.Queue != "":
			queue, err = tx.QueueByCode(ctx, org.ID, in.Queue)
			if err != nil {
				return FieldError("queue", "unknown queue %q", in.Queue)
			}
		case svc.QueueID != 0:
			queue, err = tx.QueueByID(ctx, svc.QueueID)
		default:
			queue, err = tx.QueueByCode(ctx, org.ID, DefaultTriage)
		}
		if err != nil {
			return fmt.Errorf("queue of %s: %w", org.Code, err)
		}
		// Who is asking: a requester asks for themselves; staff and the
		// system register on behalf of a contact, creating the person if new.
		switch {
		case !a.System && a.Role == RoleRequester:
			known, err = tx.UserByID(ctx, a.UserID)
		case req.Email != "":
			known, err = tx.UserByEmail(ctx, req.Email)
			if IsNotFound(err) {
				err = nil
			}
		}
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	t.OrgID, t.ServiceID, t.QueueID = org.ID, svc.ID, queue.ID
	update := d.updateGrouped // short and re-runnable: committed with concurrent creates
	if len(in.Attachments) > 0 {
		update = d.store.Update // large writes go alone
	}
	err = update(ctx, func(tx Tx) error {
		switch {
		case !a.System && a.Role == RoleRequester:
			t.RequesterID = known.ID
			t.Requester = Contact{Email: known.Email, Name: known.Name, Phone: firstNonEmpty(req.Phone, known.Phone)}
		case req.Email != "":
			u := known
			if u.ID == 0 {
				// Not registered when read above: register now (a
				// concurrent registration is found by createRequester).
				var err error
				if u, err = d.createRequester(ctx, tx, org.ID, req, now); err != nil {
					return err
				}
			}
			t.RequesterID = u.ID
			t.Requester = Contact{Email: u.Email, Name: firstNonEmpty(req.Name, u.Name), Phone: firstNonEmpty(req.Phone, u.Phone)}
		default:
			t.Requester = req
		}
		created := Event{ActorID: a.UserID, ActorName: actorName(a), At: now, Field: "created", New: string(t.Channel)}
		if err := tx.InsertNewTicket(ctx, &t, created); err != nil {
			return err
		}
		if len(in.Attachments) > 0 {
			if err := d.storeAttachments(ctx, tx, t.ID, 0, in.Attachments, now); err != nil {
				return err
			}
		}
		if len(fields) > 0 {
			if err := tx.SetTicketFields(ctx, t.ID, fields); err != nil {
				return err
			}
			t.Fields = fields
		}
		// Display fields from what was read above, instead of reading
		// the row back: this runs inside the single SQLite writer.
		t.OrgCode, t.OrgName = org.Code, org.Name
		t.ServiceCode, t.ServiceName = svc.Code, svc.Name
		t.QueueCode, t.QueueName = queue.Code, queue.Name
		return nil
	})
	if err != nil {
		return Ticket{}, err
	}
	d.changed(t.ID)
	if d.onCreated != nil {
		d.onCreated(t)
	}
	for _, fn := range d.afterCreate {
		fn(ctx, t)
	}
	return t, nil
}

func (d *Desk) changed(id int64) {
	if d.notify != nil {
		d.notify(id)
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func actorName(a Actor) string {
	if a.Name != "" {
		return a.Name
	}
	if a.Email != "" {
		return a.Email
	}
	if a.System {
		return "Sportello"
	}
	return ""
}

// orgFor resolves the organisation a new record belongs to: the one named, if
// the actor may act there, else the actor's own.
func (d *Desk) orgFor(ctx context.Context, tx Tx, a Actor, code string) (Organisation, error) {
	if code == "" {
		if a.OrgID != 0 {
			return tx.OrgByID(ctx, a.OrgID)
		}
		return DefaultOrg(ctx, tx)
	}
	o, err := tx.OrgByCode(ctx, code)
	if err != nil {
		return Organisation{}, FieldError("organisation", "unknown organisation %q", code)
	}
	if !(o.ID == a.OrgID || CanWorkOrg(a, o.ID) || CanAdminOrg(a, o.ID)) {
		return Organisation{}, FieldError("organisation", "unknown organisation %q", code)
	}
	return o, nil
}

// createRequester registers a person as a requester of the organisation,
// or returns the person registered meanwhile with that e-mail.
func (d *Desk) createRequester(ctx context.Context, tx Tx, orgID int64, c Contact, now time.Time) (User, error) {
	u := User{OrgID: orgID, Email: c.Email, Name: c.Name, Phone: c.Phone, Role: RoleRequester, Active: true, Created: now}
	if u.Name == "" {
		u.Name = c.Email
	}
	if err := tx.CreateUser(ctx, &u); err != nil {
		if ErrorCode(err) == EConflict {
			// Registered meanwhile by a concurrent request.
			return tx.UserByEmail(ctx, c.Email)
		}
		return User{}, err
	}
	return u, nil
}

func (d *Desk) storeAttachments(ctx context.Context, tx Tx, ticketID, messageID int64, files []NewAttachment, now time.Time) error {
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		h := hex.EncodeToString(sum[:])
		if err := tx.PutBlob(ctx, h, f.Data); err != nil {
			return err
		}
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		at := Attachment{TicketID: ticketID, MessageID: messageID, Name: SafeFileName(f.Name), ContentType: ct,
			Size: int64(len(f.Data)), SHA256: h, Created: now}
		if err := tx.InsertAttachment(ctx, &at); err != nil {
			return err
		}
	}
	return nil
}

// Ticket returns a ticket the actor may see. Tickets the actor may not see
// are reported as not found, so that their existence does not leak.
func (d *Desk) Ticket(ctx context.Context, a Actor, number string) (Ticket, error) {
	var t Ticket
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		if t, err = d.visibleTicket(ctx, tx, a, number); err != nil {
			return err
		}
		if t.Fields, err = tx.TicketFields(ctx, t.ID); err != nil {
			return err
		}
		t.Protocol, err = tx.TicketProtocol(ctx, t.ID)
		return err
	})
	return t, err
}

func (d *Desk) visibleTicket(ctx context.Context, tx Tx, a Actor, number string) (Ticket, error) {
	if !ValidNumber(number) {
		return Ticket{}, Errorf(ENotFound, "ticket %s not found", number)
	}
	t, err := tx.TicketByNumber(ctx, number)
	if err != nil {
		return Ticket{}, err
	}
	if !CanSeeTicket(a, &t) {
		return Ticket{}, Errorf(ENotFound, "ticket %s not found", number)
	}
	return t, nil
}

// ListQuery is what a caller may filter a list by.
type ListQuery struct {
	Text      string
	Statuses  []Status
	Queue     string
	Service   string
	Assignee  string // e-mail, or "me", or "none"
	Channel   Channel
	OrgCode   string
	Cursor    string
	Limit     int
	MaxLimit  int
	OnlyOpen  bool
	Requester string // e-mail
	Tag       string // tickets carrying this tag
	// Order sorts the list (OrderNewest when empty); a cursor belongs to
	// the order it was made in.
	Order Order
}

// Page is one page of tickets and the cursor for the next.
type Page struct {
	Items []Ticket
	Next  string // "" when there is no more
}

// ListTickets lists tickets visible to the actor, newest first.
func (d *Desk) ListTickets(ctx context.Context, a Actor, in ListQuery) (Page, error) {
	q := TicketQuery{Scope: TicketScope(a), Statuses: in.Statuses, Channel: in.Channel, Text: strings.TrimSpace(in.Text), Limit: in.Limit}
	if q.Scope.None {
		return Page{}, Errorf(EForbidden, "not allowed")
	}
	max := in.MaxLimit
	if max <= 0 {
		max = 200
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.Limit > max {
		return Page{}, FieldError("limit", "limit must be between 1 and %d", max)
	}
	for _, s := range q.Statuses {
		if !s.Valid() {
			return Page{}, FieldError("status", "unknown status %q", s)
		}
	}
	if in.OnlyOpen && len(q.Statuses) == 0 {
		for _, s := range Statuses {
			if s.Open() {
				q.Statuses = append(q.Statuses, s)
			}
		}
	}
	if q.Channel != "" && !q.Channel.Valid() {
		return Page{}, FieldError("channel", "unknown channel %q", in.Channel)
	}
	if in.Tag != "" {
		tag, err := NormTag(in.Tag)
		if err != nil {
			return Page{}, FieldError("tag", "%s", ErrorMessage(err))
		}
		q.Tag = tag
	}
	if !in.Order.Valid() {
		return Page{}, FieldError("order", "unknown order %q", in.Order)
	}
	q.Order = in.Order
	startRank := 0
	if in.Cursor != "" {
		var err error
		if startRank, err = applyOrderCursor(in.Order, in.Cursor, &q); err != nil {
			return Page{}, err
		}
	}
	var page Page
	err := d.store.View(ctx, func(tx Tx) error {
		orgID := a.OrgID
		if in.OrgCode != "" {
			o, err := tx.OrgByCode(ctx, in.OrgCode)
			if err != nil {
				return FieldError("organisation", "unknown organisation %q", in.OrgCode)
			}
			q.OrgID, orgID = o.ID, o.ID
		}
		if orgID == 0 {
			o, err := DefaultOrg(ctx, tx)
			if err != nil {
				return err
			}
			orgID = o.ID
		}
		if in.Queue != "" {
			qu, err := tx.QueueByCode(ctx, orgID, in.Queue)
			if err != nil {
				return FieldError("queue", "unknown queue %q", in.Queue)
			}
			q.QueueID = qu.ID
		}
		if in.Service != "" {
			s, err := tx.ServiceByCode(ctx, orgID, in.Service)
			if err != nil {
				return FieldError("service", "unknown service %q", in.Service)
			}
			q.ServiceID = s.ID
		}
		switch in.Assignee {
		case "":
		case "none":
			q.Unassigned = true
		case "me":
			q.AssigneeID = a.UserID
			if a.UserID == 0 {
				q.Unassigned = true
			}
		default:
			u, err := tx.UserByEmail(ctx, NormEmail(in.Assignee))
			if err != nil {
				return FieldError("assignee", "unknown assignee %q", in.Assignee)
			}
			q.AssigneeID = u.ID
		}
		if in.Requester != "" {
			u, err := tx.UserByEmail(ctx, NormEmail(in.Requester))
			if err != nil {
				return nil // nobody by that address: empty page
			}
			q.RequesterID = u.ID
		}
		lim := q.Limit
		q.Limit = lim + 1
		items, err := ticketsInOrder(ctx, tx, q, startRank)
		if err != nil {
			return err
		}
		if len(items) > lim {
			items = items[:lim]
			page.Next = encodeOrderCursor(in.Order, items[lim-1])
		}
		page.Items = items
		return nil
	})
	return page, err
}

// EncodeCursor and DecodeCursor turn a ticket id into an opaque cursor.
func EncodeCursor(id int64) string { return "t" + strconv.FormatInt(id, 36) }

func DecodeCursor(s string) (int64, error) {
	if len(s) < 2 || s[0] != 't' {
		return 0, fmt.Errorf("bad cursor")
	}
	id, err := strconv.ParseInt(s[1:], 36, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("bad cursor")
	}
	return id, nil
}

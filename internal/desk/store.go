package desk

import (
	"context"
	"time"
)

// Store gives transactional access to the desk's data. Update runs fn in one
// write transaction: if fn returns an error nothing it wrote is kept. View
// runs fn against a consistent read-only view. Implementations may batch
// several Update calls into one commit (group commit); fn must therefore not
// assume it runs alone on a connection, only that its writes are atomic.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
}

// TicketQuery selects tickets, newest first.
type TicketQuery struct {
	Scope       Scope
	Statuses    []Status
	QueueID     int64
	ServiceID   int64
	OrgID       int64
	AssigneeID  int64
	Unassigned  bool
	RequesterID int64
	Channel     Channel
	Text        string // search expression (see package search)
	Tag         string // a normalised tag the tickets carry
	Before      int64  // cursor: only tickets with id < Before
	Limit       int
	// Priority keeps only tickets of that priority.
	Priority Priority
	// Order is the sort order (OrderNewest when empty). OrderOldest pages
	// with After (id > After); OrderUpdated with BeforeUpdated (Unix
	// microseconds) and Before: tickets updated earlier, or at the same
	// time with a smaller id.
	Order         Order
	After         int64
	BeforeUpdated int64
}

// Tx is the set of operations available inside a transaction. Getters return
// an ENotFound *Error when nothing matches, never a zero value and nil.
type Tx interface {
	// Settings are installation-wide key/value pairs.
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	// Organisations.
	CreateOrg(ctx context.Context, o *Organisation) error
	OrgByID(ctx context.Context, id int64) (Organisation, error)
	OrgByCode(ctx context.Context, code string) (Organisation, error)
	Orgs(ctx context.Context) ([]Organisation, error)

	// Users and tokens.
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	FindUsers(ctx context.Context, orgIDs []int64, text string, limit int) ([]User, error)
	CreateToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	RevokeToken(ctx context.Context, id int64, at time.Time) error
	Tokens(ctx context.Context, userID int64) ([]Token, error)

	// Queues and services.
	CreateQueue(ctx context.Context, q *Queue) error
	QueueByID(ctx context.Context, id int64) (Queue, error)
	QueueByCode(ctx context.Context, orgID int64, code string) (Queue, error)
	Queues(ctx context.Context, orgID int64) ([]Queue, error)
	CreateService(ctx context.Context, s *Service) error
	UpdateService(ctx context.Context, s *Service) error
	ServiceByID(ctx context.Context, id int64) (Service, error)
	ServiceByCode(ctx context.Context, orgID int64, code string) (Service, error)
	Services(ctx context.Context, orgID int64) ([]Service, error)

	// Tickets.
	// InsertNewTicket registers a new ticket: it gives it the next number
	// of its creation year, inserts it with its "created" history entry,
	// its search document and its counters. It sets t.ID and t.Number.
	InsertNewTicket(ctx context.Context, t *Ticket, created Event) error
	NextTicketSeq(ctx context.Context, year int) (int64, error)
	InsertTicket(ctx context.Context, t *Ticket) error
	// UpdateTicket writes next over prev; prev is what was read, so that
	// maintained counters can be adjusted without re-reading.
	UpdateTicket(ctx context.Context, prev, next *Ticket) error
	TicketByNumber(ctx context.Context, number string) (Ticket, error)
	TicketByID(ctx context.Context, id int64) (Ticket, error)
	// TicketProtocol returns a ticket's protocol number ("" when none);
	// SetTicketProtocol sets it ("" clears it).
	TicketProtocol(ctx context.Context, ticketID int64) (string, error)
	SetTicketProtocol(ctx context.Context, ticketID int64, protocol string, now time.Time) error
	Tickets(ctx context.Context, q TicketQuery) ([]Ticket, error)
	// CountTickets counts tickets per organisation, queue and status for
	// the organisations given (nil: all), from maintained counters.
	CountTickets(ctx context.Context, orgIDs []int64) ([]Count, error)
	// Reindex rebuilds the search document of a ticket from its subject,
	// description and messages.
	Reindex(ctx context.Context, ticketID int64) error
	// IndexNew writes the search document of a ticket just inserted, which
	// has no messages yet (cheaper than Reindex on the create path).
	IndexNew(ctx context.Context, t *Ticket) error

	InsertMessage(ctx context.Context, m *Message) error
	Messages(ctx context.Context, ticketID int64, internal bool) ([]Message, error)
	MoveMessages(ctx context.Context, fromTicket, toTicket int64) error

	InsertEvents(ctx context.Context, evs []Event) error
	Events(ctx context.Context, ticketID int64) ([]Event, error)

	PutBlob(ctx context.Context, sha256 string, data []byte) error
	Blob(ctx context.Context, sha256 string) ([]byte, error)
	InsertAttachment(ctx context.Context, a *Attachment) error
	AttachmentByID(ctx context.Context, id int64) (Attachment, error)
	Attachments(ctx context.Context, ticketID int64) ([]Attachment, error)

	InsertLink(ctx context.Context, l Link) error
	Links(ctx context.Context, ticketID int64) ([]Link, error)

	// Tenancy (see policy.go and tenancy.go).
	// OrgSubtree returns the organisations given and all their descendants.
	OrgSubtree(ctx context.Context, ids []int64) ([]int64, error)
	// Memberships lists a user's memberships with their display codes.
	Memberships(ctx context.Context, userID int64) ([]Membership, error)
	// InsertMembership adds one; an identical one is EConflict.
	InsertMembership(ctx context.Context, m *Membership) error
	DeleteMembership(ctx context.Context, id int64) error

	// SetTicketFields stores the values of a ticket's service fields;
	// TicketFields returns them (none: an empty list).
	SetTicketFields(ctx context.Context, ticketID int64, fs []FieldValue) error
	TicketFields(ctx context.Context, ticketID int64) ([]FieldValue, error)

	// CountView sums the maintained counters by organisation, queue,
	// service, assignee and status that match f, for the organisations
	// given (nil: all).
	CountView(ctx context.Context, orgIDs []int64, f ViewFilter) (int64, error)
	// Saved views of the workspace list (see SavedView).
	InsertSavedView(ctx context.Context, v *SavedView) error
	SavedViews(ctx context.Context, orgID, ownerID int64) ([]SavedView, error)
	SavedViewByID(ctx context.Context, id int64) (SavedView, error)
	DeleteSavedView(ctx context.Context, id int64) error

	// Audit log (append-only).
	InsertAudit(ctx context.Context, e *AuditEntry) error
	AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// External identities (LDAP, OpenID Connect) and personal-data
	// requests (external.go, privacy.go).
	ExternalIdentity(ctx context.Context, source, subject string) (ExternalIdentity, error)
	SaveExternalIdentity(ctx context.Context, e *ExternalIdentity) error
	ExternalIdentities(ctx context.Context, userID int64) ([]ExternalIdentity, error)
	DeleteExternalIdentities(ctx context.Context, userID int64) (int, error)
	// MessagesByAuthor lists messages written by the user or sent from the e-mail address.
	MessagesByAuthor(ctx context.Context, userID int64, email string) ([]Message, error)
	// PersonalMail lists mail received from or sent to the address, and
	// mail on the tickets given whose raw bytes carry it.
	PersonalMail(ctx context.Context, email string, ticketIDs []int64) ([]PersonalMail, error)
	RedactTicket(ctx context.Context, t RedactedTicket) error
	RedactMessage(ctx context.Context, m RedactedMessage) error
	// RedactAttachment empties an attachment and deletes its content when
	// no other attachment shares it (reported as true).
	RedactAttachment(ctx context.Context, id int64, marker string) (bool, error)
	// RedactMail clears the raw bytes and addresses of a mail_in ("in") or
	// mail_out ("out") row; an unsent outbound message is given up.
	RedactMail(ctx context.Context, direction string, id int64, marker string) error
	RedactSupplierContacts(ctx context.Context, needles []string, marker string) (int, error)
	InsertRedaction(ctx context.Context, r *Redaction, exempt []Exemption) error
	Redactions(ctx context.Context, userID int64) ([]Redaction, error)
	Exemptions(ctx context.Context, redactionID int64) ([]Exemption, error)
}

// Token is an API bearer token. Only its SHA-256 is stored.
type Token struct {
	ID      int64
	UserID  int64
	Name    string
	Hash    string
	Created time.Time
	Expires time.Time // zero: never
	Revoked time.Time // zero: valid
	LastUse time.Time
	// Scopes the token carries (stored as names; see ParseScopes).
	Scopes TokenScope
}

// Count is a maintained ticket count.
type Count struct {
	OrgID   int64
	QueueID int64
	Status  Status
	N       int64
}

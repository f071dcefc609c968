package desk

import (
	"slices"
	"strings"
	"time"
)

// Status is a ticket's lifecycle state. The identifiers are part of the API contract.
type Status string

const (
	StatusNew              Status = "new"
	StatusOpen             Status = "open"
	StatusWaitingRequester Status = "waiting_requester"
	StatusWaitingSupplier  Status = "waiting_supplier"
	StatusResolved         Status = "resolved"
	StatusClosed           Status = "closed"
	StatusCancelled        Status = "cancelled"
	StatusRedirected       Status = "redirected"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusNew, StatusOpen, StatusWaitingRequester, StatusWaitingSupplier,
	StatusResolved, StatusClosed, StatusCancelled, StatusRedirected}

func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Final reports whether no work is expected on a ticket in this state.
func (s Status) Final() bool {
	return s == StatusClosed || s == StatusCancelled || s == StatusRedirected
}

// Open reports whether the ticket still needs the desk's attention (not
// resolved and not final).
func (s Status) Open() bool { return !s.Final() && s != StatusResolved }

// Channel is where a request came in.
type Channel string

const (
	ChannelWeb      Channel = "web"
	ChannelEmail    Channel = "email"
	ChannelPEC      Channel = "pec"
	ChannelPhone    Channel = "phone"
	ChannelInPerson Channel = "in_person"
	ChannelAPI      Channel = "api"
)

var Channels = []Channel{ChannelWeb, ChannelEmail, ChannelPEC, ChannelPhone, ChannelInPerson, ChannelAPI}

func (c Channel) Valid() bool { return slices.Contains(Channels, c) }

// Priority of a ticket.
type Priority string

const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

var Priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

func (p Priority) Valid() bool { return slices.Contains(Priorities, p) }

// Level is the support level working a ticket.
type Level int

const (
	LevelFirst  Level = 1
	LevelSecond Level = 2
)

func (l Level) Valid() bool { return l == LevelFirst || l == LevelSecond }

// Role of a user. Roles are ordered: each includes what the previous may do
// on tickets, except that requesters only ever see their own requests.
type Role string

const (
	RoleRequester Role = "requester"
	RoleAgent     Role = "agent"
	RoleApprover  Role = "approver"
	RoleAdmin     Role = "admin"
)

var Roles = []Role{RoleRequester, RoleAgent, RoleApprover, RoleAdmin}

func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Staff reports whether the role works tickets (agent, approver, admin).
func (r Role) Staff() bool { return r == RoleAgent || r == RoleApprover || r == RoleAdmin }

// Organisation owns users, tickets and services. ParentID builds an optional
// hierarchy (a ministry, its prefectures, the stations they serve).
type Organisation struct {
	ID       int64
	Code     string
	Name     string
	ParentID int64
	Province string // two-letter code, used to find competent offices
	Created  time.Time
}

// User is a person known to the desk: staff or requester.
type User struct {
	ID           int64
	OrgID        int64
	Email        string
	Name         string
	Phone        string
	Role         Role
	PasswordHash string
	// InstallationAdmin administers every organisation of the installation.
	InstallationAdmin bool
	Active            bool
	Redacted          bool
	Created           time.Time
}

// Queue groups tickets for a team of agents.
type Queue struct {
	ID    int64
	OrgID int64
	Code  string
	Name  string
}

// Service is a catalogue entry (a "procedimento") as far as tickets need it.
// The full catalogue, with transparency fields and phases, lives in the
// catalog package.
type Service struct {
	ID      int64
	OrgID   int64
	Code    string
	Name    string
	QueueID int64
	Active  bool
}

// Contact is how the desk reaches a requester. It is copied onto the ticket
// so that it can be redacted without touching history rows.
type Contact struct {
	Email string
	Name  string
	Phone string
}

// Ticket is a registered request.
type Ticket struct {
	ID          int64
	Number      string
	OrgID       int64
	Subject     string
	Description string
	Status      Status
	Priority    Priority
	Channel     Channel
	Level       Level
	ServiceID   int64
	QueueID     int64
	RequesterID int64
	Requester   Contact
	AssigneeID  int64
	Team        string
	Cause       Cause
	MergedInto  int64
	// Tags are normalised lower-case words, sorted (see NormTags).
	Tags     []string
	Created  time.Time
	Updated  time.Time
	Resolved time.Time
	// Display fields, filled by the store from joined rows on reads.
	OrgCode, OrgName         string
	ServiceCode, ServiceName string
	QueueCode, QueueName     string
	AssigneeEmail            string
	AssigneeName             string
	// Fields are the values of the service's own fields; filled by the
	// desk's single-ticket reads (Ticket, Timeline), not by lists.
	Fields []FieldValue
	// Protocol is the number the ticket was registered under in the
	// organisation's protocol register; filled by Desk.Ticket, Timeline
	// and Update (not in lists).
	Protocol string
}

// Cause records the identified cause of a resolved problem (the seeds'
// "identificazione delle cause").
type Cause struct {
	Category string
	Text     string
}

// CauseCategories are the suggested cause categories.
var CauseCategories = []string{"hardware", "software", "network", "account", "configuration", "user_error", "supplier", "other"}

// MessageKind distinguishes what a timeline entry is.
type MessageKind string

const (
	MessageIncoming MessageKind = "incoming" // from the requester (any channel)
	MessageReply    MessageKind = "reply"    // public reply from staff
	MessageNote     MessageKind = "note"     // internal note, never shown to requesters
	MessageSystem   MessageKind = "system"   // automatic message sent to the requester
)

// Message is a reply, note or incoming message on a ticket.
type Message struct {
	ID          int64
	TicketID    int64
	Kind        MessageKind
	AuthorID    int64
	AuthorName  string
	AuthorEmail string
	Body        string
	Channel     Channel
	Internal    bool
	Created     time.Time
	Attachments []Attachment
}

// Attachment is a file on a ticket; contents are stored once per SHA-256.
type Attachment struct {
	ID          int64
	TicketID    int64
	MessageID   int64
	Name        string
	ContentType string
	Size        int64
	SHA256      string
	Created     time.Time
}

// Event is one immutable history entry: who changed what, when, from what to what.
type Event struct {
	ID        int64
	TicketID  int64
	ActorID   int64
	ActorName string
	At        time.Time
	Field     string
	Old       string
	New       string
}

// LinkKind describes how two tickets relate.
type LinkKind string

const (
	LinkRelated   LinkKind = "related"
	LinkDuplicate LinkKind = "duplicate"
	LinkParent    LinkKind = "parent"
	LinkFollowUp  LinkKind = "follow_up"
	LinkMerged    LinkKind = "merged"
)

func (k LinkKind) Valid() bool {
	switch k {
	case LinkRelated, LinkDuplicate, LinkParent, LinkFollowUp, LinkMerged:
		return true
	}
	return false
}

// Link relates two tickets.
type Link struct {
	FromID   int64
	ToID     int64
	ToNumber string
	Kind     LinkKind
	Created  time.Time
}

// NormEmail lower-cases and trims an e-mail address.
func NormEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

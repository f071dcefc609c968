// Package mailbox holds what the e-mail channel stores: connected
// mailboxes with their IMAP and SMTP endpoints and sealed passwords, the
// addresses a desk answers on (including retired ones), the record of every
// message received and sent, and the Tx interface the store implements for
// them. It does no I/O of its own.
//
// Secrets never appear in a String, an error or a log line: endpoints
// print without password, and passwords are a Secret whose String is
// "***".
package mailbox

import (
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// ClosedReply says what a reply to a closed ticket does.
type ClosedReply string

const (
	// FollowUp opens one new ticket linked to the closed one (default).
	FollowUp ClosedReply = "followup"
	// Reopen puts the closed ticket back to open.
	Reopen ClosedReply = "reopen"
)

// Valid reports whether c is a known policy.
func (c ClosedReply) Valid() bool { return c == FollowUp || c == Reopen }

// Mailbox is a connected mailbox: where the desk reads requests (IMAP) and
// sends its answers (SMTP).
type Mailbox struct {
	ID    int64
	OrgID int64
	// Address is the mailbox's own address, the From of mail sent through it.
	Address string
	IMAP    Endpoint
	SMTP    Endpoint
	// Folder is the IMAP folder read (default INBOX).
	Folder string
	// MoveTo, when set, is the folder messages are moved to once their
	// effect on the desk is committed (they are marked \Seen either way).
	MoveTo string
	// PEC marks a certified-mail mailbox: envelopes are opened, receipts
	// are attached to the messages they certify.
	PEC         bool
	ClosedReply ClosedReply
	Active      bool
	// Version changes with every configuration change, so that a reader
	// restarts with the new settings.
	Version int64
	Created time.Time
	Updated time.Time
	Health  Health
	// UIDValidity and Watermark are the reader's position: the folder's
	// UIDVALIDITY and the highest UID already taken (see package intake).
	UIDValidity uint32
	Watermark   uint32
}

// Health is what administrators and alerts see about a mailbox reader.
type Health struct {
	LastOK      time.Time // last successful read of the folder
	LastError   string    // last error, redacted; "" after a success
	LastErrorAt time.Time
}

// AddressKind says what a desk address is.
type AddressKind string

const (
	// KindDesk is an ordinary desk address.
	KindDesk AddressKind = "desk"
	// KindPEC is a certified-mail desk address.
	KindPEC AddressKind = "pec"
	// KindRetired is an address no longer used: mail to it gets a polite
	// automatic answer pointing to the desk and opens no ticket.
	KindRetired AddressKind = "retired"
)

// Valid reports whether k is a known kind.
func (k AddressKind) Valid() bool { return k == KindDesk || k == KindPEC || k == KindRetired }

// Address is an address a desk answers on.
type Address struct {
	Address string
	OrgID   int64
	Kind    AddressKind
	// RetiredAt is when a retired address stops being served (zero: it
	// already is retired). Before that date it behaves as a desk address.
	RetiredAt time.Time
	Created   time.Time
}

// RetiredNow reports whether the address is retired at time now.
func (a Address) RetiredNow(now time.Time) bool {
	return a.Kind == KindRetired && (a.RetiredAt.IsZero() || !now.Before(a.RetiredAt))
}

// Outcome is what became of a received message.
type Outcome string

const (
	OutTicket      Outcome = "ticket"      // opened a new ticket
	OutMessage     Outcome = "message"     // added to an existing ticket
	OutFollowUp    Outcome = "followup"    // reply to a closed ticket: opened a linked follow-up
	OutReopened    Outcome = "reopened"    // reply to a closed or resolved ticket: reopened it
	OutConfirmed   Outcome = "confirmed"   // the requester confirmed a resolution: closed
	OutRetired     Outcome = "retired"     // sent to a retired address: answered, no ticket
	OutAnswered    Outcome = "answered"    // a rule answered it without opening a ticket
	OutRedirected  Outcome = "redirected"  // answered with the competent office; ticket closed as redirected
	OutRobot       Outcome = "robot"       // automatic mail (out of office, list, bulk): no ticket, no answer
	OutBounce      Outcome = "bounce"      // delivery report, recorded on the message it is about
	OutReceipt     Outcome = "receipt"     // PEC receipt, recorded on the message it certifies
	OutDuplicate   Outcome = "duplicate"   // the same message (Message-ID and bytes) was already taken
	OutQuarantined Outcome = "quarantined" // could not be processed: kept with the reason
)

// Inbound is a received message as recorded.
type Inbound struct {
	ID          int64
	MailboxID   int64
	UIDValidity uint32
	UID         uint32
	MessageID   string
	SHA256      string
	Size        int64
	Raw         []byte // nil in listings
	From        string
	Recipient   string // the desk address it was sent to, when known
	Subject     string
	Outcome     Outcome
	Detail      string
	TicketID    int64
	MessageRef  int64 // the desk message it became
	HTML        string
	Received    time.Time
	// TicketNumber is filled on reads.
	TicketNumber string
	// MailboxAddress is filled on reads.
	MailboxAddress string
}

// OutState is where an outbound message is.
type OutState string

const (
	OutPending OutState = "pending" // waiting to be sent (or to be retried)
	OutSending OutState = "sending" // claimed by a sender until next_at
	OutSent    OutState = "sent"
	OutFailed  OutState = "failed"  // given up
	OutBounced OutState = "bounced" // sent, then a bounce came back
)

// Outbound is a message in the outbox.
type Outbound struct {
	ID         int64
	MailboxID  int64
	TicketID   int64
	MessageRef int64
	// Kind is the template it was made from (ack, reply, resolved…).
	Kind string
	// Auto marks automatic mail (counts for the per-sender rate limit).
	Auto      bool
	MessageID string // without angle brackets
	From      string
	To        []string
	Subject   string
	Raw       []byte
	State     OutState
	Attempts  int
	NextAt    time.Time
	ClaimedBy string
	LastError string
	Created   time.Time
	Sent      time.Time
	// TicketNumber is filled on reads.
	TicketNumber string
}

// OutEvent is something that happened to a sent message afterwards.
type OutEvent struct {
	ID     int64
	OutID  int64
	InID   int64
	Kind   string // bounce, delayed, pec:accettazione, pec:avvenuta-consegna…
	Detail string
	At     time.Time
}

// Thread records which mailbox and desk address a ticket's mail uses.
type Thread struct {
	TicketID  int64
	MailboxID int64
	Address   string
}

// LogQuery selects entries of the mail log, newest first.
type LogQuery struct {
	MailboxID int64
	Outcomes  []Outcome
	OrgIDs    []int64 // nil: all organisations
	Before    int64   // id cursor
	Limit     int
}

// NormAddress lower-cases and trims an address.
func NormAddress(s string) string { return desk.NormEmail(strings.Trim(strings.TrimSpace(s), "<>")) }

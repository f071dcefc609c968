package mailbox

import (
	"context"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/route"
)

// Tx is what the e-mail channel needs from a store transaction, beyond
// desk.Tx. The store's transactions implement it: mail code type-asserts
// the desk.Tx it gets inside desk.Store.Update or View (see Of). Getters
// return an ENotFound *desk.Error when nothing matches.
type Tx interface {
	desk.Tx

	// InsertMailbox adds a mailbox; EConflict if its address is taken.
	InsertMailbox(ctx context.Context, m *Mailbox) error
	// UpdateMailbox writes the configuration fields and increments Version.
	UpdateMailbox(ctx context.Context, m *Mailbox) error
	MailboxByID(ctx context.Context, id int64) (Mailbox, error)
	MailboxByAddress(ctx context.Context, address string) (Mailbox, error)
	// Mailboxes lists active mailboxes, or all with all set.
	Mailboxes(ctx context.Context, all bool) ([]Mailbox, error)
	SetMailboxHealth(ctx context.Context, id int64, h Health) error
	// SetMailboxPosition records the folder's UIDVALIDITY and the highest
	// UID taken. Within one UIDVALIDITY the watermark only grows.
	SetMailboxPosition(ctx context.Context, id int64, uidValidity, watermark uint32) error

	// PutAddress adds or replaces a desk address.
	PutAddress(ctx context.Context, a Address) error
	DeleteAddress(ctx context.Context, address string) error
	AddressByEmail(ctx context.Context, address string) (Address, error)
	// Addresses lists the addresses of an organisation (0: all).
	Addresses(ctx context.Context, orgID int64) ([]Address, error)

	// ClaimLease takes or renews the named lease for holder until the
	// given time, if it is free, expired at now, or already held by holder.
	ClaimLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
	// ReleaseLease gives a lease up if holder holds it.
	ReleaseLease(ctx context.Context, name, holder string) error

	// InboundTaken returns which of the UIDs are already recorded.
	InboundTaken(ctx context.Context, mailboxID int64, uidValidity uint32, uids []uint32) ([]uint32, error)
	// SameInbound returns the id of a recorded message with that
	// Message-ID and the same raw SHA-256, or 0.
	SameInbound(ctx context.Context, messageID, sha256 string) (int64, error)
	// KnownMessageIDs looks Message-IDs up in one go (a batch's worth):
	// for each id recorded as received, the first record's id for each
	// raw SHA-256; and which ids are the desk's own sent messages. Maps
	// are keyed by the ids as given.
	KnownMessageIDs(ctx context.Context, ids []string) (inbound map[string]map[string]int64, outbound map[string]bool, err error)
	// InsertInbound records a received message; EConflict if its
	// (mailbox, UIDVALIDITY, UID) is already recorded.
	InsertInbound(ctx context.Context, m *Inbound) error
	// InboundByID returns a received message with its raw bytes.
	InboundByID(ctx context.Context, id int64) (Inbound, error)
	// TicketsByMessageID maps those of the Message-IDs that belong to mail
	// received or sent on a ticket to that ticket's id.
	TicketsByMessageID(ctx context.Context, ids []string) (map[string]int64, error)
	// ThreadIDs returns the Message-IDs of a ticket's mail, in and out,
	// oldest first, at most limit (the first one and the latest ones).
	ThreadIDs(ctx context.Context, ticketID int64, limit int) ([]string, error)
	// MailLog lists received messages (without raw bytes), newest first.
	MailLog(ctx context.Context, q LogQuery) ([]Inbound, error)

	PutThread(ctx context.Context, th Thread) error
	ThreadOf(ctx context.Context, ticketID int64) (Thread, error)

	// InsertOutbound adds a message to the outbox.
	InsertOutbound(ctx context.Context, m *Outbound) error
	// ClaimOutbound takes up to limit messages due at now (pending, or
	// claimed by a sender whose claim expired), marking them sending by
	// holder until now+lease. On PostgreSQL concurrent claimers skip each
	// other's rows (FOR UPDATE SKIP LOCKED).
	ClaimOutbound(ctx context.Context, holder string, now time.Time, lease time.Duration, limit int) ([]Outbound, error)
	// FinishOutbound records the result of a send attempt, if holder still
	// holds the claim (false otherwise).
	FinishOutbound(ctx context.Context, id int64, holder string, state OutState, nextAt time.Time, lastError string, sent time.Time) (bool, error)
	OutboundByMessageID(ctx context.Context, messageID string) (Outbound, error)
	OutboundByID(ctx context.Context, id int64) (Outbound, error)
	// Outbounds lists outbox messages (without raw bytes), newest first:
	// of a ticket when ticketID is set.
	Outbounds(ctx context.Context, ticketID int64, states []OutState, before int64, limit int) ([]Outbound, error)
	InsertOutEvent(ctx context.Context, e *OutEvent) error
	OutEvents(ctx context.Context, outID int64) ([]OutEvent, error)
	// SetOutboundState changes the state of a sent message (bounced).
	SetOutboundState(ctx context.Context, id int64, state OutState, lastError string) error
	// CountAuto counts automatic messages to an address created since.
	CountAuto(ctx context.Context, rcpt string, since time.Time) (int, error)
	// CountAutoMany is CountAuto for several addresses at once (a batch's
	// senders); addresses with none are absent from the map.
	CountAutoMany(ctx context.Context, rcpts []string, since time.Time) (map[string]int, error)
	// LastOutbound returns the latest outbox message of a kind for a ticket.
	LastOutbound(ctx context.Context, ticketID int64, kind string) (Outbound, error)

	// Rules lists an organisation's routing rules in order.
	Rules(ctx context.Context, orgID int64) ([]route.Rule, error)
	// ReplaceRules replaces an organisation's rules with these, in order.
	ReplaceRules(ctx context.Context, orgID int64, rules []route.Rule, now time.Time) error
	// PutOffice adds or replaces (by code) a directory entry.
	PutOffice(ctx context.Context, o *route.Office, now time.Time) error
	DeleteOffice(ctx context.Context, code string) error
	// Offices lists directory entries of a kind ("" for all).
	Offices(ctx context.Context, kind string) ([]route.Office, error)

	// Savepoint, RollbackTo and Release isolate part of a transaction, so
	// that one message of a batch can fail without the others (name is a
	// lower-case identifier).
	Savepoint(ctx context.Context, name string) error
	RollbackTo(ctx context.Context, name string) error
	Release(ctx context.Context, name string) error
}

// Of returns the mail view of a store transaction. It panics if the store
// does not implement Tx, which is a wiring error caught by the first test.
func Of(tx desk.Tx) Tx {
	m, ok := tx.(Tx)
	if !ok {
		panic("mailbox: the store transaction does not implement mailbox.Tx")
	}
	return m
}

// Update runs fn in a write transaction of st with the mail view.
func Update(ctx context.Context, st desk.Store, fn func(Tx) error) error {
	return st.Update(ctx, func(tx desk.Tx) error { return fn(Of(tx)) })
}

// View runs fn in a read transaction of st with the mail view.
func View(ctx context.Context, st desk.Store, fn func(Tx) error) error {
	return st.View(ctx, func(tx desk.Tx) error { return fn(Of(tx)) })
}

// AfterCommitter is implemented by store transactions that can run code
// after they commit.
type AfterCommitter interface{ AfterCommit(fn func()) }

// AfterCommit runs fn after tx commits, or at once when tx cannot defer it.
func AfterCommit(tx desk.Tx, fn func()) {
	if ac, ok := tx.(AfterCommitter); ok {
		ac.AfterCommit(fn)
		return
	}
	fn()
}

// Bind returns a desk.Store bound to a transaction that is already open: a
// desk.Desk built on it runs its business rules inside that transaction
// instead of opening its own, so that a ticket change and the mail it
// causes (or the record of the message that caused it) commit together.
//
// The desk validates before it writes; when one of its calls fails on a
// bound store, return the error so that the whole transaction rolls back,
// and nothing half-written is ever committed.
func Bind(tx desk.Tx) desk.Store { return boundStore{tx} }

type boundStore struct{ tx desk.Tx }

func (s boundStore) Update(_ context.Context, fn func(desk.Tx) error) error { return fn(s.tx) }
func (s boundStore) View(_ context.Context, fn func(desk.Tx) error) error   { return fn(s.tx) }

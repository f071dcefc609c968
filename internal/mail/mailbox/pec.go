package mailbox

import (
	"context"
	"fmt"
	"reflect"
	"time"
)

// PECCert is the certification data of a received PEC message (transport
// envelope, anomaly envelope or provider receipt), stored next to the raw
// signed message (Inbound.Raw, unchanged, and its SHA-256) as evidence.
type PECCert struct {
	InID       int64
	TicketID   int64
	MessageRef int64 // the desk message an envelope became
	OutID      int64 // for receipts: the sent message certified
	// Kind is "envelope", "anomaly" or "receipt" (pec.Kind).
	Kind string
	// Tipo is daticert tipo: posta-certificata for envelopes, the
	// receipt type for receipts, "" for anomalies without daticert.
	Tipo string
	// Sender is the certified sender (daticert mittente).
	Sender string
	// Daticert is daticert.xml field by field; nil for anomalies that
	// carry none.
	Daticert *Daticert
	Signed   bool
	// SigStatus is "" (not verified: no trust anchors configured),
	// "verified" or "failed"; SigSigner names the signer certificate.
	SigStatus, SigSigner, SigError string
	SHA256                         string
	Received                       time.Time
}

// Certified reports whether the message has legal value: a transport
// envelope or a receipt (an anomaly envelope certifies nothing).
func (c PECCert) Certified() bool { return c.Kind != "anomaly" }

// Daticert is the stored form of daticert.xml (see pec.Daticert).
type Daticert struct {
	Tipo         string         `json:"tipo"`
	Errore       string         `json:"errore,omitempty"`
	Mittente     string         `json:"mittente"`
	Destinatari  []PECRecipient `json:"destinatari"`
	Risposte     string         `json:"risposte,omitempty"`
	Oggetto      string         `json:"oggetto,omitempty"`
	Gestore      string         `json:"gestore_emittente"`
	Data         time.Time      `json:"data"` // with the zone of data@zona
	Zona         string         `json:"zona"` // "+0100"
	ID           string         `json:"identificativo"`
	MsgID        string         `json:"msgid,omitempty"`
	RicevutaTipo string         `json:"ricevuta_tipo,omitempty"`
	Consegna     string         `json:"consegna,omitempty"`
	Ricezione    []string       `json:"ricezione,omitempty"`
	ErroreEsteso string         `json:"errore_esteso,omitempty"`
}

// PECRecipient is one daticert destinatari: a certified (PEC) or external
// (ordinary e-mail) recipient.
type PECRecipient struct {
	Address string `json:"address"`
	Kind    string `json:"kind"` // certificato | esterno
}

// DeliveryState is where a message sent through a PEC mailbox is for one
// recipient.
type DeliveryState string

const (
	DelSent      DeliveryState = "sent"      // queued or submitted, no receipt yet
	DelAccepted  DeliveryState = "accepted"  // accettazione from our provider
	DelDelivered DeliveryState = "delivered" // avvenuta-consegna (deposited, not read)
	DelWarned    DeliveryState = "warned"    // preavviso-errore-consegna: not delivered in 12 hours
	DelFailed    DeliveryState = "failed"    // non-accettazione, errore-consegna, rilevazione-virus
)

// Final reports whether no further receipt is expected.
func (s DeliveryState) Final() bool { return s == DelDelivered || s == DelFailed }

// PECDelivery is the state of a sent PEC message for one recipient.
type PECDelivery struct {
	OutID     int64
	Recipient string
	State     DeliveryState
	Detail    string
	InID      int64 // the receipt that last changed it
	Updated   time.Time
}

// PECAlert tells the assignee that a message sent by PEC was not accepted,
// not delivered, or is still undelivered after 24 hours.
type PECAlert struct {
	ID         int64
	TicketID   int64
	OutID      int64
	AssigneeID int64
	// Kind is the receipt type that raised it, or "overdue".
	Kind      string
	Recipient string
	Detail    string
	Created   time.Time
	// TicketNumber and Subject are filled on reads.
	TicketNumber string
	Subject      string
}

// AlertOverdue is the kind of the alert raised when a message sent by PEC
// has no delivery receipt for every recipient 24 hours after sending.
const AlertOverdue = "overdue"

// AlertNotSent is the kind of the alert raised when the PEC provider's
// submission server refused a message for good (the outbox gave up).
const AlertNotSent = "not-sent"

// PECTx is what the PEC channel needs from a store transaction beyond Tx.
// The store's transactions implement it (see PECOf).
type PECTx interface {
	Tx
	// InsertPECCert records certification data (its InID is the received
	// message, already inserted).
	InsertPECCert(ctx context.Context, c *PECCert) error
	// PECCertsOfTicket lists the certification data of a ticket's
	// received PEC messages and of the receipts about its sent mail,
	// oldest first.
	PECCertsOfTicket(ctx context.Context, ticketID int64) ([]PECCert, error)
	// PECCert returns the certification data of a received message.
	PECCert(ctx context.Context, inID int64) (PECCert, error)
	// PutDelivery adds or replaces the state of a sent message for one
	// recipient.
	PutDelivery(ctx context.Context, d PECDelivery) error
	// Deliveries lists the per-recipient states of a sent message, in
	// recipient order.
	Deliveries(ctx context.Context, outID int64) ([]PECDelivery, error)
	// InsertPECAlert adds an alert; it returns false (and no error) when
	// the same (message, kind, recipient) was already raised.
	InsertPECAlert(ctx context.Context, a *PECAlert) (bool, error)
	// PECAlerts lists alerts newest first: of a ticket when ticketID is
	// set, else those of tickets in the organisations given (nil: all)
	// and, when assigneeID is set, assigned to that user or to no one,
	// leaving out delay warnings and overdue alerts whose recipients were
	// delivered since.
	PECAlerts(ctx context.Context, ticketID int64, orgIDs []int64, assigneeID int64, limit int) ([]PECAlert, error)
	// OverduePEC returns the sent messages of PEC mailboxes sent between
	// from and to that still have a recipient not delivered nor failed
	// and no overdue alert.
	OverduePEC(ctx context.Context, from, to time.Time, limit int) ([]Outbound, error)
	// UnsentPEC returns the messages of PEC mailboxes created since that
	// the outbox gave up sending (failed) and have no not-sent alert.
	UnsentPEC(ctx context.Context, since time.Time, limit int) ([]Outbound, error)
}

// PECOf returns the PEC view of a store transaction. Wrappers of a Tx
// (a per-batch cache, say) are looked through: those with an Unwrap() Tx
// method, and structs that embed the Tx they wrap. It panics if no store
// transaction implementing PECTx is found (a wiring error the first test
// catches).
func PECOf(tx Tx) PECTx {
	for range 8 {
		if p, ok := tx.(PECTx); ok {
			return p
		}
		inner := unwrapTx(tx)
		if inner == nil {
			break
		}
		tx = inner
	}
	panic(fmt.Sprintf("mailbox: the store transaction %T does not implement mailbox.PECTx", tx))
}

var txType = reflect.TypeFor[Tx]()

// unwrapTx returns the Tx that tx wraps, or nil.
func unwrapTx(tx Tx) Tx {
	if u, ok := tx.(interface{ Unwrap() Tx }); ok {
		return u.Unwrap()
	}
	v := reflect.ValueOf(tx)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	for i := 0; i < v.NumField(); i++ {
		if f := v.Type().Field(i); f.Anonymous && f.Type == txType && f.IsExported() {
			inner, _ := v.Field(i).Interface().(Tx)
			return inner
		}
	}
	return nil
}

// TicketPEC is what a ticket page shows of the PEC channel: the
// certification data of its PEC messages and of the receipts about its
// sent mail (each downloadable as evidence by its InID), the mail sent
// through a PEC mailbox with its per-recipient delivery state, and the
// alerts raised.
type TicketPEC struct {
	// PEC is true when the ticket came from a certified message.
	PEC bool
	// CertifiedSender is the daticert mittente of the first envelope.
	CertifiedSender string
	Certs           []PECCert
	Sent            []PECSent
	Alerts          []PECAlert
}

// PECSent is a message sent through a PEC mailbox and its receipts.
type PECSent struct {
	Outbound   Outbound
	Deliveries []PECDelivery
	// Receipts are the InIDs of the receipts about it, oldest first.
	Receipts []int64
}

// Status sums up a sent PEC message for the ticket page: pending (not
// yet submitted), failed (the provider refused it or it could not be
// submitted), sent (no receipt yet), accepted, delivered (to every
// recipient) or partial (some delivered, some failed or waiting).
func (s PECSent) Status() string {
	switch s.Outbound.State {
	case OutPending, OutSending:
		return "pending"
	case OutFailed:
		return "failed"
	}
	n := map[DeliveryState]int{}
	for _, d := range s.Deliveries {
		n[d.State]++
	}
	total := len(s.Deliveries)
	switch {
	case total == 0:
		return "sent"
	case n[DelDelivered] == total:
		return "delivered"
	case n[DelFailed] == total:
		return "failed"
	case n[DelDelivered] > 0 || n[DelFailed] > 0:
		return "partial"
	case n[DelAccepted]+n[DelWarned] > 0:
		return "accepted"
	}
	return "sent"
}

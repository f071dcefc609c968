package pec

import (
	"net/textproto"
	"strings"
)

// Kind is what a message received in a PEC mailbox is, decided from its
// top-level headers only.
type Kind string

// The kinds of message found in a PEC mailbox.
const (
	// KindNone is an ordinary message: no PEC marker header.
	KindNone Kind = ""
	// KindEnvelope is a transport envelope ("busta di trasporto"):
	// X-Trasporto: posta-certificata and no X-Ricevuta. The real message
	// is the enclosed postacert.eml.
	KindEnvelope Kind = "envelope"
	// KindAnomaly is an anomaly envelope ("busta di anomalia"):
	// X-Trasporto: errore. Ordinary mail wrapped by the provider, with no
	// legal value.
	KindAnomaly Kind = "anomaly"
	// KindReceipt is a provider receipt or notice: X-Ricevuta is present.
	// It certifies a message we sent and must never open a ticket.
	KindReceipt Kind = "receipt"
)

// ReceiptType is the value of the X-Ricevuta header and of the daticert
// postacert@tipo attribute.
type ReceiptType string

// Receipt and notice types of DM 2 Nov 2005 (RFC 6109 §3).
const (
	ReceiptAccettazione            ReceiptType = "accettazione"
	ReceiptNonAccettazione         ReceiptType = "non-accettazione"
	ReceiptPresaInCarico           ReceiptType = "presa-in-carico"
	ReceiptAvvenutaConsegna        ReceiptType = "avvenuta-consegna"
	ReceiptErroreConsegna          ReceiptType = "errore-consegna"
	ReceiptPreavvisoErroreConsegna ReceiptType = "preavviso-errore-consegna"
	ReceiptRilevazioneVirus        ReceiptType = "rilevazione-virus"
	// ReceiptPostaCertificata is not a receipt: it is the daticert tipo of
	// a transport envelope. Parsed.Receipt carries it for envelopes.
	ReceiptPostaCertificata ReceiptType = "posta-certificata"
)

// ReceiptTypes lists the receipt types a provider may send (X-Ricevuta
// values), in the order of a message's life. It is informative (tests,
// menus): validation uses ReceiptType.IsReceipt.
var ReceiptTypes = []ReceiptType{
	ReceiptAccettazione,
	ReceiptNonAccettazione,
	ReceiptPresaInCarico,
	ReceiptAvvenutaConsegna,
	ReceiptPreavvisoErroreConsegna,
	ReceiptErroreConsegna,
	ReceiptRilevazioneVirus,
}

// IsReceipt reports whether r is one of the X-Ricevuta values (it is false
// for ReceiptPostaCertificata and for unknown values).
func (r ReceiptType) IsReceipt() bool {
	switch r {
	case ReceiptAccettazione, ReceiptNonAccettazione, ReceiptPresaInCarico, ReceiptAvvenutaConsegna,
		ReceiptErroreConsegna, ReceiptPreavvisoErroreConsegna, ReceiptRilevazioneVirus:
		return true
	}
	return false
}

// IsFailure reports whether the receipt tells that a message was not, or
// may not be, delivered: the caller should alert someone.
func (r ReceiptType) IsFailure() bool {
	switch r {
	case ReceiptNonAccettazione, ReceiptErroreConsegna, ReceiptPreavvisoErroreConsegna, ReceiptRilevazioneVirus:
		return true
	}
	return false
}

// Classify tells what a message is from its top-level headers. It accepts
// any header map (net/mail.Header, net/textproto.MIMEHeader, the
// enmime root part header …); keys are matched case-insensitively.
//
// The rules are those of the PEC technical rules and nothing else: the
// subject, body and attachments are never looked at, because anybody can
// write "POSTA CERTIFICATA:" in a subject.
//
//   - X-Ricevuta present (whatever its value): KindReceipt
//   - X-Trasporto: posta-certificata: KindEnvelope
//   - X-Trasporto: errore: KindAnomaly
//   - otherwise: KindNone
func Classify(h map[string][]string) Kind {
	if _, ok := lookup(h, "X-Ricevuta"); ok {
		return KindReceipt
	}
	v, _ := lookup(h, "X-Trasporto")
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "posta-certificata":
		return KindEnvelope
	case "errore":
		return KindAnomaly
	}
	return KindNone
}

// lookup returns the first value of key in h, matching the key
// case-insensitively, and whether the key is present at all.
func lookup(h map[string][]string, key string) (string, bool) {
	if v, ok := h[textproto.CanonicalMIMEHeaderKey(key)]; ok {
		if len(v) == 0 {
			return "", true
		}
		return v[0], true
	}
	for k, v := range h {
		if strings.EqualFold(strings.TrimSpace(k), key) {
			if len(v) == 0 {
				return "", true
			}
			return v[0], true
		}
	}
	return "", false
}

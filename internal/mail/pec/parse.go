package pec

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by Parse and ParseDaticert, always wrapped with detail:
// test them with errors.Is. Any of them means the message should be
// quarantined (the caller keeps the raw bytes).
var (
	// ErrMalformed: the MIME structure cannot be followed (a multipart
	// without a usable boundary, an undecodable opaque signature, parts
	// that make the message ambiguous such as two postacert.eml).
	ErrMalformed = errors.New("pec: malformed message")
	// ErrNoDaticert: an envelope or receipt without daticert.xml.
	ErrNoDaticert = errors.New("pec: daticert.xml missing")
	// ErrBadDaticert: daticert.xml cannot be decoded, is not well-formed
	// XML, or does not follow the daticert DTD.
	ErrBadDaticert = errors.New("pec: daticert.xml invalid")
	// ErrNoPostacert: a transport envelope without postacert.eml.
	ErrNoPostacert = errors.New("pec: postacert.eml missing")
	// ErrInconsistent: the headers and daticert.xml disagree (X-Ricevuta
	// is not daticert tipo, an envelope whose daticert is a receipt) or
	// X-Ricevuta holds an unknown value.
	ErrInconsistent = errors.New("pec: headers and daticert.xml disagree")
)

// Options tune Parse.
type Options struct {
	// TrustAnchors are the roots the provider signature must chain to
	// (the AgID list of PEC providers, or a test CA). When nil the
	// signature is not verified: Parsed.Signed still tells whether one is
	// present and Parsed.Signature is nil.
	TrustAnchors *x509.CertPool
	// Now is the time at which certificates must be valid; nil means
	// time.Now.
	Now func() time.Time
}

// Parsed is a PEC message taken apart.
type Parsed struct {
	Kind Kind // from the top-level headers (see Classify)
	// Receipt is the receipt type: X-Ricevuta for receipts (checked
	// against daticert tipo), ReceiptPostaCertificata for envelopes, ""
	// otherwise.
	Receipt ReceiptType
	// RefMessageID is the Message-ID (without < >) of the message this one
	// is about: X-Riferimento-Message-ID, falling back to daticert msgid.
	// For a receipt it is our outbound message; for an envelope, the
	// enclosed original.
	RefMessageID string
	// Daticert is the certification data. It is nil only for KindNone and
	// for anomaly envelopes, which normally carry no daticert.xml (one that
	// is present but invalid is ignored there).
	Daticert *Daticert
	// Original holds the bytes of postacert.eml (the message/rfc822 part,
	// transfer-decoded if the provider encoded it), ready for a MIME
	// parser. Always set for envelopes; set for "completa" delivery
	// receipts and anomaly envelopes when they carry one; nil otherwise.
	// It may share memory with the raw input: do not modify it.
	Original []byte
	// Signed reports an S/MIME signature wrapping the content
	// (multipart/signed, or an opaque application/pkcs7-mime).
	Signed bool
	// Signature is the verification result; nil when the message is not
	// signed or Options.TrustAnchors is nil.
	Signature *SignatureResult
	// SHA256 is Evidence(raw): the digest of the raw message as received.
	SHA256 string
}

// Evidence returns the lower-case hex SHA-256 of a raw message. PEC
// messages and receipts are legal evidence: store the raw bytes unchanged
// and this digest next to them.
func Evidence(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// Parse classifies a raw message (RFC 5322 bytes as fetched from the
// mailbox) and takes a PEC message apart. It never modifies raw.
//
// Ordinary messages (KindNone) are not an error: the result only has Kind,
// SHA256 and the signature fields. Envelopes need daticert.xml and
// postacert.eml; receipts need daticert.xml whose tipo matches X-Ricevuta;
// anomaly envelopes need nothing.
//
// A bad or untrusted signature is not an error: it is recorded in
// Signature for the caller to store as evidence.
//
// On error the result is still returned when the message could be
// classified, holding what was found so far (Kind, SHA256, signature), so
// that the quarantine record can say what the message claimed to be.
func Parse(raw []byte, opts Options) (*Parsed, error) {
	top := parseEntity(raw)
	p := &Parsed{
		Kind:         Classify(top.header),
		SHA256:       Evidence(raw),
		RefMessageID: StripAngles(top.header.get("X-Riferimento-Message-ID")),
	}
	switch p.Kind {
	case KindEnvelope:
		p.Receipt = ReceiptPostaCertificata
	case KindReceipt:
		p.Receipt = ReceiptType(strings.ToLower(strings.TrimSpace(top.header.get("X-Ricevuta"))))
	}

	content, sig, err := unwrapSignature(top, opts)
	if sig != nil {
		p.Signed = true
		if opts.TrustAnchors != nil {
			p.Signature = sig.result
		}
	}
	if err != nil {
		if p.Kind == KindNone {
			// Not ours to judge: an ordinary message with an odd
			// signature structure is still an ordinary message.
			return p, nil
		}
		return p, err
	}
	if p.Kind == KindNone {
		return p, nil
	}

	found, err := findParts(content)
	if err != nil {
		return p, err
	}

	if found.daticert != nil {
		d, err := readDaticert(found.daticert)
		switch {
		case err == nil:
			p.Daticert = d
		case p.Kind == KindAnomaly:
			// An anomaly envelope certifies nothing; a stray, broken
			// daticert.xml is no reason to hold back the wrapped mail.
		default:
			return p, err
		}
	} else if p.Kind != KindAnomaly {
		return p, fmt.Errorf("%w: no daticert.xml part in the %s", ErrNoDaticert, p.Kind)
	}
	if p.Kind == KindReceipt && !p.Receipt.IsReceipt() {
		return p, fmt.Errorf("%w: unknown X-Ricevuta %q", ErrInconsistent, p.Receipt)
	}

	if found.postacert != nil {
		orig, err := found.postacert.decodedBody()
		switch {
		case err == nil && len(orig) > 0:
			p.Original = orig
		case p.Kind != KindEnvelope:
			// Only the envelope needs its original; a receipt or an
			// anomaly with an unreadable copy is still usable.
		case err != nil:
			return p, fmt.Errorf("%w: postacert.eml: %v", ErrMalformed, err)
		default:
			return p, fmt.Errorf("%w: postacert.eml is empty", ErrNoPostacert)
		}
	} else if p.Kind == KindEnvelope {
		return p, fmt.Errorf("%w: no message/rfc822 postacert.eml part in the envelope", ErrNoPostacert)
	}

	if d := p.Daticert; d != nil {
		switch p.Kind {
		case KindEnvelope:
			if d.Tipo != string(ReceiptPostaCertificata) {
				return p, fmt.Errorf("%w: envelope with daticert tipo %q", ErrInconsistent, d.Tipo)
			}
		case KindReceipt:
			if d.Tipo != string(p.Receipt) {
				return p, fmt.Errorf("%w: X-Ricevuta %q, daticert tipo %q", ErrInconsistent, p.Receipt, d.Tipo)
			}
		}
		if p.RefMessageID == "" {
			p.RefMessageID = d.MsgID
		}
	}
	return p, nil
}

// readDaticert decodes and parses a daticert.xml part.
func readDaticert(e *entity) (*Daticert, error) {
	data, err := e.decodedBody()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDaticert, err)
	}
	_, params := e.mediaType()
	return parseDaticert(data, params["charset"])
}

// pecParts are the parts of a PEC message that Parse needs.
type pecParts struct {
	daticert  *entity
	postacert *entity
}

// findParts walks the signed content (any nesting of multiparts, never
// inside a message/rfc822, whose own attachments belong to the original)
// looking for daticert.xml and postacert.eml. A part named daticert.xml
// (or postacert.eml) wins over an unnamed application/xml (or
// message/rfc822) part; two candidates of the same rank are ambiguous.
func findParts(root *entity) (*pecParts, error) {
	var (
		named, unnamed struct{ daticert, postacert []*entity }
		visited        int
	)
	var walk func(e *entity, depth int) error
	walk = func(e *entity, depth int) error {
		visited++
		if visited > maxParts {
			return fmt.Errorf("%w: more than %d MIME parts", ErrMalformed, maxParts)
		}
		if depth > maxDepth {
			return fmt.Errorf("%w: MIME nesting deeper than %d", ErrMalformed, maxDepth)
		}
		mt, _ := e.mediaType()
		name := e.filename()
		switch {
		case name == "daticert.xml":
			named.daticert = append(named.daticert, e)
			return nil
		case name == "postacert.eml":
			named.postacert = append(named.postacert, e)
			return nil
		case name == "" && (mt == "application/xml" || mt == "text/xml"):
			unnamed.daticert = append(unnamed.daticert, e)
			return nil
		case mt == "message/rfc822":
			if name == "" {
				unnamed.postacert = append(unnamed.postacert, e)
			}
			return nil
		case strings.HasPrefix(mt, "multipart/"):
			kids, err := e.children()
			if err != nil {
				if depth == 0 {
					return fmt.Errorf("%w: %s: %v", ErrMalformed, mt, err)
				}
				return nil // a broken nested part (say, in the notice) hides nothing we need
			}
			for _, k := range kids {
				if err := walk(k, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	pick := func(what string, named, unnamed []*entity) (*entity, error) {
		cands := named
		if len(cands) == 0 {
			cands = unnamed
		}
		if len(cands) > 1 {
			return nil, fmt.Errorf("%w: %d candidate %s parts", ErrMalformed, len(cands), what)
		}
		if len(cands) == 1 {
			return cands[0], nil
		}
		return nil, nil
	}
	var (
		out pecParts
		err error
	)
	if out.daticert, err = pick("daticert.xml", named.daticert, unnamed.daticert); err != nil {
		return nil, err
	}
	if out.postacert, err = pick("postacert.eml", named.postacert, unnamed.postacert); err != nil {
		return nil, err
	}
	return &out, nil
}

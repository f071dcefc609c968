package parse

import (
	"bytes"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
)

// DefaultMaxSize is the size limit applied when [Options.MaxSize] is not set.
const DefaultMaxSize int64 = 64 << 20

// Limits on the MIME structure. They protect the intake from messages built
// to exhaust memory or CPU (millions of empty parts, thousands of nested
// multiparts); no real mail comes near them.
const (
	// maxBoundaries is the number of distinct multipart boundaries declared
	// anywhere in the message (including inside forwarded messages).
	maxBoundaries = 256
	// maxParts is the number of boundary delimiter lines.
	maxParts = 5000
	// maxMultiparts bounds the number of multipart containers that are
	// parsed. Further ones are kept whole as opaque attachments. It bounds
	// the nesting depth, and enmime's cost grows with depth: linearly in
	// the bytes (one boundary reader per level, about 25 ms per MiB per
	// level) but also doubling with every level even for a tiny message
	// (measured: 8 ms at 12 levels, 120 ms at 16, 13 s at 30, which let a
	// 2 KB message hold a worker for seconds — found by FuzzParse). Real
	// mail rarely nests more than five or six.
	maxMultiparts = 12
	// maxWarnings bounds Message.Warnings.
	maxWarnings = 50
	// maxPartErrors bounds the problems enmime records per part.
	maxPartErrors = 20
)

var (
	// ErrTooLarge is returned when the raw message exceeds Options.MaxSize.
	ErrTooLarge = errors.New("message too large")
	// ErrMalformed is returned, wrapped with details, for input that is not
	// a usable message: no header block, no From address, or a MIME
	// structure that cannot be read.
	ErrMalformed = errors.New("malformed message")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Options configures [Parse].
type Options struct {
	// MaxSize is the largest raw message accepted, in bytes. Zero or negative
	// means DefaultMaxSize.
	MaxSize int64
	// CIDURL maps the Content-ID of an inline part (without angle brackets)
	// to the URL the sanitised HTML should use for it, such as the desk's
	// attachment download URL. The id comes from the message and is
	// untrusted: escape it (url.PathEscape) or look it up. Only relative
	// and http(s) results are used. If CIDURL is nil or returns "", images
	// referring to cid: URLs are removed. See [Sanitize].
	CIDURL func(contentID string) string
	// RemoteImages keeps images with absolute http(s) URLs in the HTML
	// instead of replacing them with their alt text: for a viewer that
	// blocks them until the user asks (the web UI's mail frame). The
	// intake leaves it false, so stored HTML never refers to other servers.
	RemoteImages bool
}

// Address is a mailbox: a display name and an e-mail address.
type Address struct {
	Name  string // decoded display name, may be empty
	Email string // addr-spec, lower-cased
}

// String formats the address for display, e.g. `Mario Rossi <m.rossi@example.it>`.
func (a Address) String() string {
	if a.Name == "" {
		return a.Email
	}
	return a.Name + " <" + a.Email + ">"
}

// Attachment is any part of the message that is not the text or HTML body:
// files, inline images, forwarded messages (message/rfc822, kept whole),
// TNEF winmail.dat, signatures, delivery reports.
type Attachment struct {
	// Name is a safe file name: never empty, no path separators, control or
	// bidirectional-override characters. Parts without a name are called
	// "allegato" with an extension taken from the content type.
	Name string
	// ContentType is the lower-case media type without parameters.
	ContentType string
	// ContentID is the Content-ID without angle brackets ("" if none); HTML
	// refers to it as cid:ContentID.
	ContentID string
	// Inline is true for parts meant to be shown in the body (typically
	// images referenced by the HTML) rather than offered as downloads.
	Inline bool
	// Data is the decoded content (transfer encoding removed). text/*
	// attachments are converted to UTF-8 by the MIME decoder.
	Data []byte
}

// Message is the parsed, domain-neutral form of an e-mail.
type Message struct {
	// MessageID is the Message-ID without angle brackets, "" if absent.
	MessageID string
	// InReplyTo and References hold message ids without brackets, in header
	// order and without duplicates.
	InReplyTo  []string
	References []string

	From    Address
	ReplyTo []Address
	To, Cc  []Address
	// Recipients is every recipient address found in the envelope-like
	// headers, lower-cased and de-duplicated, in this order: X-Original-To,
	// Envelope-To, X-Envelope-To, Delivered-To, To, Cc, Bcc, Resent-To,
	// Resent-Cc. It serves routing when several desk addresses are delivered
	// to one mailbox.
	Recipients []string

	// Subject is decoded (RFC 2047), valid UTF-8, with runs of white space
	// collapsed to one space and trimmed.
	Subject string
	// Date is the Date header, zero if missing or unparseable.
	Date time.Time

	// Text is the plain-text body with LF line endings; for HTML-only mail it
	// is converted from the sanitised HTML.
	Text string
	// HTML is the SANITISED HTML body ("" if the message has none).
	HTML string
	// Attachments are the non-body parts in document order.
	Attachments []Attachment

	// Robot says why this is automatic mail, RobotNone for mail from people.
	Robot RobotKind
	// Bounce is set for delivery status notifications.
	Bounce *Bounce

	// Headers holds the values of selected headers: PEC certification
	// (X-Trasporto, X-Ricevuta, X-Riferimento-Message-ID, X-TipoRicevuta,
	// X-VerificaSicurezza, X-Mittente), automatic mail (Auto-Submitted,
	// Precedence, X-Auto-Response-Suppress, X-Autoreply, X-Autorespond,
	// X-Autoresponder, List-Id, List-Unsubscribe, List-Post, Return-Path),
	// delivery (Delivered-To, X-Original-To, Envelope-To, Sender,
	// Authentication-Results, Disposition-Notification-To) and threading
	// and priority (Thread-Index, Thread-Topic, X-Priority, Importance,
	// Priority). Values are not RFC 2047-decoded; they are unfolded and
	// cleaned to valid UTF-8. Keys are canonical as produced by
	// textproto.CanonicalMIMEHeaderKey, e.g. "X-Riferimento-Message-Id";
	// use Header for a case-insensitive lookup.
	Headers map[string][]string

	// Warnings lists non-fatal problems met while parsing.
	Warnings []string
}

// Header returns the first value of the selected header name (any case), or "".
func (m *Message) Header(name string) string {
	if m == nil {
		return ""
	}
	if v := m.Headers[textproto.CanonicalMIMEHeaderKey(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// selectedHeaders are copied into Message.Headers.
var selectedHeaders = []string{
	// PEC (posta elettronica certificata)
	"X-Trasporto", "X-Ricevuta", "X-Riferimento-Message-ID", "X-TipoRicevuta",
	"X-VerificaSicurezza", "X-Mittente",
	// automatic mail
	"Auto-Submitted", "Precedence", "X-Auto-Response-Suppress", "X-Autoreply",
	"X-Autorespond", "X-Autoresponder", "List-Id", "List-Unsubscribe", "List-Post",
	"Return-Path",
	// delivery
	"Delivered-To", "X-Original-To", "Envelope-To", "Sender",
	"Authentication-Results", "Disposition-Notification-To",
	// threading and priority
	"Thread-Index", "Thread-Topic", "X-Priority", "Importance", "Priority",
}

// Parse decodes a raw RFC 5322 message. It never panics. It returns an error
// wrapping ErrTooLarge or ErrMalformed when the input cannot be used; see the
// package documentation.
func Parse(raw []byte, opts Options) (msg *Message, err error) {
	if recoverPanics {
		defer func() {
			if r := recover(); r != nil {
				msg, err = nil, malformed("internal parser failure: %v", r)
			}
		}()
	}
	limit := opts.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), limit)
	}
	raw = trimPreamble(raw)
	if err := checkHeaderBlock(raw); err != nil {
		return nil, err
	}
	if err := checkStructure(raw); err != nil {
		return nil, err
	}

	parser, cut := newMIMEParser()
	root, err := parser.ReadParts(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: MIME: %w", ErrMalformed, err)
	}

	w := &warnings{}
	if *cut {
		w.addf("more than %d multipart containers: the rest is kept as attachments", maxMultiparts)
	}
	m := &Message{}
	if err := readHeaders(m, root.Header, w); err != nil {
		return nil, err
	}
	readBody(m, root, opts, w)
	readRobot(m, root)

	_ = root.DepthMatchAll(func(p *enmime.Part) bool {
		for _, e := range p.Errors {
			w.add(e.Name + ": " + e.Detail)
		}
		return false
	})
	if w.dropped > 0 {
		w.list = append(w.list, fmt.Sprintf("%d more warnings not shown", w.dropped))
	}
	m.Warnings = w.list
	return m, nil
}

// recoverPanics turns an unexpected panic into an ErrMalformed error. The
// fuzz test switches it off so that bugs are seen.
var recoverPanics = true

// newMIMEParser returns an enmime parser configured for tolerance. A new one
// is made per message because it counts multipart containers; *cut tells
// whether the limit was reached.
func newMIMEParser() (p *enmime.Parser, cut *bool) {
	// enmime parses the Content-Type of each container twice.
	calls, limit := 0, 2*maxMultiparts
	cut = new(bool)
	return enmime.NewParser(
		enmime.SkipMalformedParts(true),
		enmime.MultipartWOBoundaryAsSinglePart(true),
		enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
		enmime.MaxStoredPartErrors(maxPartErrors),
		// Trust a declared charset; guess only when none is declared.
		enmime.DisableCharacterDetection(true),
		// We convert HTML to text ourselves, from the sanitised HTML.
		enmime.DisableTextConversion(true),
		enmime.SetCustomParseMediaType(func(ctype string) (string, map[string]string, []string, error) {
			mtype, params, invalid, err := mediatype.Parse(ctype)
			if err == nil && strings.HasPrefix(mtype, "multipart/") {
				calls++
				if calls > limit {
					*cut = true
					// Too deep or too many: keep the rest as opaque data.
					delete(params, "boundary")
					return "application/octet-stream", params, invalid, nil
				}
			}
			return mtype, params, invalid, err
		}),
	), cut
}

// trimPreamble drops a UTF-8 byte order mark and an mbox "From " line.
func trimPreamble(raw []byte) []byte {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(raw, []byte("From ")) {
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			raw = raw[i+1:]
		} else {
			raw = nil
		}
	}
	return raw
}

// checkHeaderBlock verifies that the message starts with a header field.
func checkHeaderBlock(raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return malformed("empty message")
	}
	line := raw
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return malformed("no header block: the first line is not a header field")
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return malformed("no header block: empty header name")
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return malformed("no header block: invalid header name %q", name)
		}
	}
	return nil
}

// checkStructure bounds the number of MIME parts and boundaries before the
// message is handed to enmime, which would otherwise allocate per part
// without limit.
func checkStructure(raw []byte) error {
	boundaries := map[string]struct{}{}
	lower := []byte("oundary")
	rest := raw
	for {
		i := indexFold(rest, lower)
		if i < 0 {
			break
		}
		if i == 0 || (rest[i-1] != 'b' && rest[i-1] != 'B') {
			rest = rest[i+len(lower):]
			continue
		}
		rest = rest[i+len(lower):]
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		if j < len(rest) && rest[j] == '*' {
			// RFC 2231 continuation: the boundary cannot be known here,
			// count every delimiter-looking line instead.
			boundaries = nil
			break
		}
		if j >= len(rest) || rest[j] != '=' {
			continue
		}
		j++
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		var b []byte
		if j < len(rest) && rest[j] == '"' {
			end := bytes.IndexByte(rest[j+1:], '"')
			if end < 0 {
				continue
			}
			b = rest[j+1 : j+1+end]
		} else {
			end := j
			for end < len(rest) && !bytes.ContainsRune([]byte("; \t\r\n\""), rune(rest[end])) {
				end++
			}
			b = rest[j:end]
		}
		if len(b) == 0 {
			continue
		}
		boundaries[string(b)] = struct{}{}
		if len(boundaries) > maxBoundaries {
			return malformed("more than %d multipart boundaries", maxBoundaries)
		}
	}
	parts := 0
	for line := range bytes.Lines(raw) {
		if len(line) < 3 || line[0] != '-' || line[1] != '-' {
			continue
		}
		if boundaries != nil {
			cand := bytes.TrimRight(line[2:], " \t\r\n")
			_, ok := boundaries[string(cand)]
			if !ok && bytes.HasSuffix(cand, []byte("--")) {
				_, ok = boundaries[string(cand[:len(cand)-2])]
			}
			if !ok {
				continue
			}
		}
		parts++
		if parts > maxParts {
			return malformed("more than %d MIME parts", maxParts)
		}
	}
	return nil
}

// indexFold is bytes.Index for an ASCII lower-case needle starting with a
// letter, ignoring case. It runs in linear time.
func indexFold(s, lowerNeedle []byte) int {
	n := len(lowerNeedle)
	lo, up := lowerNeedle[0], lowerNeedle[0]-'a'+'A'
	nextLo, nextUp := -1, -1 // positions of the next lo / up byte, -1 unknown
	for i := 0; i+n <= len(s); {
		if nextLo < i {
			nextLo = indexFrom(s, lo, i)
		}
		if nextUp < i {
			nextUp = indexFrom(s, up, i)
		}
		j := min(nextLo, nextUp)
		if j+n > len(s) {
			return -1
		}
		if bytes.EqualFold(s[j:j+n], lowerNeedle) {
			return j
		}
		i = j + 1
	}
	return -1
}

// indexFrom returns the index of c in s at or after from, or len(s).
func indexFrom(s []byte, c byte, from int) int {
	if k := bytes.IndexByte(s[from:], c); k >= 0 {
		return from + k
	}
	return len(s)
}

// warnings collects distinct warning strings up to maxWarnings.
type warnings struct {
	list    []string
	dropped int
}

func (w *warnings) add(s string) {
	s = cleanLine(s)
	if s == "" {
		return
	}
	for _, x := range w.list {
		if x == s {
			return
		}
	}
	if len(w.list) >= maxWarnings {
		w.dropped++
		return
	}
	w.list = append(w.list, s)
}

func (w *warnings) addf(format string, args ...any) { w.add(fmt.Sprintf(format, args...)) }

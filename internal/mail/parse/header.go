package parse

import (
	"errors"
	"io"
	"mime"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
	htmlcharset "golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// maxReferences bounds Message.References; the first id (thread root) and
// the most recent ones are kept.
const maxReferences = 100

// maxIDLength is the longest message id accepted (the RFC 5322 line limit).
const maxIDLength = 998

// recipientHeaders are read, in this order, into Message.Recipients.
var recipientHeaders = []string{
	"X-Original-To", "Envelope-To", "X-Envelope-To", "Delivered-To",
	"To", "Cc", "Bcc", "Resent-To", "Resent-Cc",
}

func readHeaders(m *Message, h textproto.MIMEHeader, w *warnings) error {
	froms := parseAddresses(h.Values("From"), w)
	if len(froms) == 0 {
		froms = parseAddresses(h.Values("Sender"), w)
		if len(froms) == 0 {
			return malformed("no From address")
		}
		w.add("no usable From address: using Sender")
	}
	m.From = froms[0]
	m.ReplyTo = parseAddresses(h.Values("Reply-To"), w)
	m.To = parseAddresses(h.Values("To"), w)
	m.Cc = parseAddresses(h.Values("Cc"), w)

	seen := map[string]bool{}
	for _, name := range recipientHeaders {
		for _, a := range parseAddresses(h.Values(name), w) {
			if !seen[a.Email] {
				seen[a.Email] = true
				m.Recipients = append(m.Recipients, a.Email)
			}
		}
	}

	ids := h.Values("Message-Id")
	if len(ids) > 1 {
		w.addf("%d Message-ID headers: using the first", len(ids))
	}
	if len(ids) > 0 {
		if list := parseIDs(ids[:1]); len(list) > 0 {
			m.MessageID = list[0]
		} else {
			w.add("unparseable Message-ID")
		}
	}
	m.InReplyTo = parseIDs(h.Values("In-Reply-To"))
	m.References = capReferences(parseIDs(h.Values("References")))

	m.Subject = decodeHeaderText(h.Get("Subject"), w)

	if d := strings.TrimSpace(h.Get("Date")); d != "" {
		if t, ok := parseDate(d); ok {
			m.Date = t
		} else {
			w.addf("unparseable Date %q", d)
		}
	}

	for _, name := range selectedHeaders {
		vals := h.Values(name)
		if len(vals) == 0 {
			continue
		}
		if m.Headers == nil {
			m.Headers = make(map[string][]string)
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		for _, v := range vals {
			m.Headers[key] = append(m.Headers[key], cleanLine(v))
		}
	}
	return nil
}

// parseAddresses parses address header values tolerantly, dropping entries
// without a usable address and duplicates.
func parseAddresses(values []string, w *warnings) []Address {
	var out []Address
	seen := map[string]bool{}
	add := func(name, email string) {
		a, ok := makeAddress(name, email, w)
		if ok && !seen[a.Email] {
			seen[a.Email] = true
			out = append(out, a)
		}
	}
	for _, v := range values {
		v = fixUTF8(v)
		if strings.TrimSpace(v) == "" {
			continue
		}
		list, err := enmime.ParseAddressList(v)
		if err == nil {
			for _, a := range list {
				add(a.Name, a.Address)
			}
			continue
		}
		if errors.Is(err, mail.ErrHeaderNotPresent) {
			continue
		}
		for _, a := range scanAddresses(v) {
			add(a.Name, a.Email)
		}
	}
	return out
}

// makeAddress cleans a parsed address; ok is false when there is no usable
// addr-spec.
func makeAddress(name, email string, w *warnings) (Address, bool) {
	email = strings.ToLower(strings.Trim(cleanLine(email), "<> "))
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " ,;<>") {
		return Address{}, false
	}
	name = decodeHeaderText(name, w)
	name = strings.TrimSpace(strings.Trim(name, `"' `))
	if strings.EqualFold(name, email) {
		name = ""
	}
	return Address{Name: name, Email: email}, true
}

// scanAddresses extracts addresses from a header value that the RFC 5322
// parser rejected: "<addr>" forms first, otherwise bare tokens with '@'.
func scanAddresses(v string) []Address {
	var out []Address
	rest := v
	nameStart := 0
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		email := rest[i+1 : i+j]
		name := rest[nameStart:i]
		if k := strings.LastIndexAny(name, ",;"); k >= 0 {
			name = name[k+1:]
		}
		if strings.Contains(email, "@") {
			out = append(out, Address{Name: name, Email: email})
		}
		rest = rest[i+j+1:]
		nameStart = 0
	}
	if len(out) > 0 {
		return out
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ';' || unicode.IsSpace(r)
	}) {
		f = strings.Trim(f, `"'()<>[]:`)
		if strings.Contains(f, "@") {
			out = append(out, Address{Email: f})
		}
	}
	return out
}

// parseIDs extracts message ids (without brackets) from Message-ID,
// In-Reply-To or References values, in order and without duplicates.
func parseIDs(values []string) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		id = strings.Map(func(r rune) rune {
			if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
				return -1
			}
			return r
		}, id)
		if id == "" || len(id) > maxIDLength || seen[id] {
			return
		}
		seen[id] = true
		ids = append(ids, id)
	}
	for _, v := range values {
		v = fixUTF8(v)
		found := false
		rest := v
		for {
			i := strings.IndexByte(rest, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(rest[i+1:], '>')
			if j < 0 {
				break
			}
			if id := strings.TrimSpace(rest[i+1 : i+1+j]); id != "" {
				add(id)
				found = true
			}
			rest = rest[i+1+j+1:]
		}
		if found {
			continue
		}
		fields := strings.Fields(v)
		for _, f := range fields {
			f = strings.Trim(f, `"'<>()[],;`)
			if strings.Contains(f, "@") || len(fields) == 1 {
				add(f)
			}
		}
	}
	return ids
}

func capReferences(ids []string) []string {
	if len(ids) <= maxReferences {
		return ids
	}
	out := make([]string, 0, maxReferences)
	out = append(out, ids[0])
	return append(out, ids[len(ids)-maxReferences+1:]...)
}

var dateLayouts = []string{
	time.RFC3339,
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"Mon, 2 Jan 2006 15:04:05 -0700 MST",
	"Mon, 2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04:05",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
}

// parseDate parses a Date header, with fallbacks for common broken forms.
func parseDate(v string) (time.Time, bool) {
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	// Drop a trailing comment such as "(CET)" and extra white space.
	if i := strings.IndexByte(v, '('); i > 0 {
		v = v[:i]
	}
	v = strings.Join(strings.Fields(v), " ")
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// decodeHeaderText decodes an unstructured header value: raw 8-bit bytes
// (UTF-8, or Windows-1252 when not valid UTF-8) and RFC 2047 encoded words
// in any charset known to the WHATWG encoding standard. The result is one
// clean line.
func decodeHeaderText(s string, w *warnings) string {
	s = fixUTF8(s)
	if strings.Contains(s, "=?") {
		dec := mime.WordDecoder{CharsetReader: func(label string, input io.Reader) (io.Reader, error) {
			if enc, _ := htmlcharset.Lookup(label); enc != nil {
				return transform.NewReader(input, enc.NewDecoder()), nil
			}
			if w != nil {
				w.addf("unknown charset %q in an encoded word: decoded as UTF-8/Windows-1252", label)
			}
			return input, nil // fixUTF8 below repairs what is not UTF-8
		}}
		if d, err := dec.DecodeHeader(s); err == nil {
			s = d
		}
	}
	return cleanLine(s)
}

// fixUTF8 returns s as valid UTF-8: valid sequences are kept and every
// other byte is read as Windows-1252, the usual culprit in Italian mail.
func fixUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			b.WriteRune(charmap.Windows1252.DecodeByte(s[i]))
			i++
			continue
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

// fromC1 maps a C1 control (U+0080–U+009F, what ISO-8859-1 decoding makes
// of Windows-1252 punctuation such as smart quotes and €) to the
// Windows-1252 character; ok is false for anything else.
func fromC1(r rune) (rune, bool) {
	if r < 0x80 || r > 0x9f {
		return r, false
	}
	d := charmap.Windows1252.DecodeByte(byte(r))
	if d >= 0x80 && d <= 0x9f {
		return -1, true // undefined in Windows-1252: drop
	}
	return d, true
}

// isBidiControl reports explicit bidirectional embedding, override and
// isolate controls, which can disguise file names and senders.
func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}

// cleanLine makes s a single clean line: valid UTF-8, C1 punctuation
// repaired, control and bidi-override characters removed, runs of white
// space collapsed, trimmed.
func cleanLine(s string) string {
	s = fixUTF8(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if c, ok := fromC1(r); ok {
			r = c
			if r < 0 {
				continue
			}
		}
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r), isBidiControl(r), r == '\ufeff':
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// cleanText normalises a body: valid UTF-8, C1 punctuation repaired, LF line
// endings, control characters other than tab and newline removed (NUL
// cannot be stored in PostgreSQL text).
func cleanText(s string) string {
	s = fixUTF8(s)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if c, ok := fromC1(r); ok {
			if c < 0 {
				continue
			}
			r = c
		}
		switch {
		case r == '\r':
			if i < len(s) && s[i] == '\n' {
				continue
			}
			b.WriteByte('\n')
		case r == '\n', r == '\t':
			b.WriteRune(r)
		case r == '\ufeff', unicode.IsControl(r):
			// drop
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

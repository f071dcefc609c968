// Package thread keeps e-mail conversations on their tickets. Outgoing mail
// carries the ticket number in the subject ("[#2026-000123]") and a reply
// token signed with the secret key in its Message-ID
// (<t.2026-000123.NONCE.SIG@desk.example.it>) and, optionally, in a
// plus-addressed Reply-To (assistenza+t.2026-000123.SIG@desk.example.it):
// a reply whose In-Reply-To or References still name our message, or that
// is sent to that Reply-To, finds its ticket without a database lookup,
// and a forged token is refused.
package thread

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/parse"
)

// b32 is lower-case base32 without padding: safe in Message-IDs and in the
// local part of addresses, case-insensitive.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// sigLen is the signature length in base32 characters (80 bits).
const sigLen = 16

// Signer makes and checks reply tokens.
type Signer struct{ key []byte }

// NewSigner derives the token key from the installation's secret key.
func NewSigner(secretKey []byte) (Signer, error) {
	k, err := hkdf.Key(sha256.New, secretKey, nil, "sportello reply token v1", 32)
	if err != nil {
		return Signer{}, err
	}
	return Signer{key: k}, nil
}

func (s Signer) sig(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return b32.EncodeToString(m.Sum(nil))[:sigLen]
}

func nonce() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return b32.EncodeToString(b[:])
}

// domainOf returns the domain of an address, "localhost" if none.
func domainOf(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok && d != "" {
		return strings.ToLower(d)
	}
	return "localhost"
}

// MessageID returns a new Message-ID (without angle brackets) for mail
// about a ticket, sent from the address given. Without a ticket number it
// is a plain unique id.
func (s Signer) MessageID(number, from string) string {
	n := nonce()
	if number == "" {
		return "m." + n + "@" + domainOf(from)
	}
	return "t." + number + "." + n + "." + s.sig("mid", number, n) + "@" + domainOf(from)
}

// FromMessageID returns the ticket number of a Message-ID made by
// MessageID, if its signature is valid.
func (s Signer) FromMessageID(id string) (string, bool) {
	id = strings.Trim(strings.TrimSpace(id), "<>")
	local, _, ok := strings.Cut(id, "@")
	if !ok || !strings.HasPrefix(local, "t.") {
		return "", false
	}
	parts := strings.Split(local[2:], ".")
	if len(parts) != 3 || !desk.ValidNumber(parts[0]) {
		return "", false
	}
	want := s.sig("mid", parts[0], parts[1])
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(parts[2]))) {
		return "", false
	}
	return parts[0], true
}

// ReplyAddress returns addr with a signed plus-tag for the ticket:
// assistenza+t.2026-000123.SIG@desk.example.it. Use it as Reply-To only
// when the mail server delivers plus-addressed mail to the mailbox.
func (s Signer) ReplyAddress(addr, number string) string {
	local, dom, ok := strings.Cut(addr, "@")
	if !ok || number == "" {
		return addr
	}
	return local + "+t." + number + "." + s.sig("rt", number) + "@" + dom
}

// FromAddress returns the ticket number of a plus-tagged address made by
// ReplyAddress, and the address without the tag.
func (s Signer) FromAddress(addr string) (number, base string, ok bool) {
	local, dom, found := strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
	if !found {
		return "", addr, false
	}
	user, tag, tagged := strings.Cut(local, "+")
	if !tagged {
		return "", addr, false
	}
	base = user + "@" + dom
	t, ok := strings.CutPrefix(tag, "t.")
	if !ok {
		return "", base, false
	}
	num, sig, ok := strings.Cut(t, ".")
	if !ok || !desk.ValidNumber(num) || !hmac.Equal([]byte(s.sig("rt", num)), []byte(sig)) {
		return "", base, false
	}
	return num, base, true
}

// Tag is the subject tag of a ticket: "[#2026-000123]".
func Tag(number string) string { return "[#" + number + "]" }

// Subject returns subject with the ticket tag, once: reply prefixes and
// any earlier tag of the same ticket are dropped.
func Subject(subject, number string) string {
	s := parse.NormalizeSubject(subject)
	s = strings.TrimSpace(strings.ReplaceAll(s, Tag(number), ""))
	if s == "" {
		return Tag(number)
	}
	return Tag(number) + " " + s
}

// CleanSubject removes reply prefixes and a ticket tag, for the subject of
// a new ticket.
func CleanSubject(subject string) string {
	s := parse.NormalizeSubject(subject)
	if num, ok := parse.FindTicketRef(s); ok {
		s = strings.TrimSpace(strings.ReplaceAll(s, Tag(num), ""))
	}
	return s
}

package parse

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// RobotKind says why a message was sent by a program rather than a person.
// The desk must never answer robots automatically (no mail loops).
type RobotKind string

// Robot kinds. When several signals are present the first kind in this list
// wins.
const (
	// RobotNone is mail from a person.
	RobotNone RobotKind = ""
	// RobotBounce is a delivery report: a multipart/report DSN (failure,
	// delay or success: see Bounce.Failed), or mail from MAILER-DAEMON or
	// postmaster.
	RobotBounce RobotKind = "bounce"
	// RobotAutoReply is an automatic answer such as an out-of-office notice:
	// Auto-Submitted: auto-replied, X-Autoreply, X-Autorespond,
	// Precedence: auto_reply, or an automatic-reply subject on a message
	// that carries another robot signal.
	RobotAutoReply RobotKind = "auto-reply"
	// RobotList is mailing-list traffic: Precedence: list, List-Id, List-Post.
	RobotList RobotKind = "list"
	// RobotBulk is bulk mail such as newsletters: Precedence: bulk or junk,
	// or List-Unsubscribe without List-Id.
	RobotBulk RobotKind = "bulk"
	// RobotAutoSubmitted is any other automatic mail: Auto-Submitted other
	// than "no", X-Auto-Response-Suppress: All or OOF, an empty Return-Path
	// (<>), read receipts (disposition notifications) and PEC receipts
	// (X-Ricevuta).
	RobotAutoSubmitted RobotKind = "auto-submitted"
)

// IsRobot reports whether k is any kind of automatic mail.
func (k RobotKind) IsRobot() bool { return k != RobotNone }

// Bounce describes a delivery status notification (RFC 3464).
type Bounce struct {
	// OriginalMessageID is the Message-ID (without brackets) of the message
	// the report is about, normally one we sent; "" if the report does not
	// include it.
	OriginalMessageID string
	// ReportingMTA is the host that wrote the report, if given.
	ReportingMTA string
	// Recipients are the per-recipient reports, in order.
	Recipients []BounceRecipient
}

// BounceRecipient is the report about one recipient.
type BounceRecipient struct {
	Email      string // Final-Recipient (or Original-Recipient), lower-case
	Action     string // failed, delayed, delivered, relayed or expanded
	Status     string // enhanced status code, e.g. "5.1.1"
	Diagnostic string // Diagnostic-Code without its type, e.g. "550 5.1.1 User unknown"
}

// Failed returns the recipients whose delivery failed for good.
func (b *Bounce) Failed() []BounceRecipient {
	if b == nil {
		return nil
	}
	var out []BounceRecipient
	for _, r := range b.Recipients {
		if r.Action == "failed" {
			out = append(out, r)
		}
	}
	return out
}

// autoReplySubjects are subject prefixes of out-of-office and similar
// replies (lower case), used only when another robot signal is present.
var autoReplySubjects = []string{
	"risposta automatica", "automatic reply", "auto reply", "autoreply",
	"auto:", "fuori sede", "fuori ufficio", "assente", "out of office",
	"absence", "abwesenheit",
}

func readRobot(m *Message, root *enmime.Part) {
	h := root.Header
	var dsn, mdn *enmime.Part
	_ = root.BreadthMatchFirst(func(p *enmime.Part) bool {
		if !strings.EqualFold(p.ContentType, "multipart/report") {
			return false
		}
		switch strings.ToLower(ctParams(p)["report-type"]) {
		case "delivery-status", "global-delivery-status":
			dsn = p
		case "disposition-notification":
			mdn = p
		default:
			if childOfType(p, "message/delivery-status", "message/global-delivery-status") != nil {
				dsn = p
			}
		}
		return dsn != nil || mdn != nil
	})

	if dsn != nil {
		m.Bounce = parseDSN(dsn)
	}
	m.Robot = classifyRobot(h, m, dsn != nil, mdn != nil)
	if m.Robot == RobotBounce && m.Bounce == nil {
		// A non-standard bounce (plain text from MAILER-DAEMON): the
		// original message may still be attached.
		if p := firstOfType(root, "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"); p != nil {
			if id := messageIDIn(p.Content); id != "" {
				m.Bounce = &Bounce{OriginalMessageID: id}
			}
		}
	}
}

func classifyRobot(h textproto.MIMEHeader, m *Message, dsn, mdn bool) RobotKind {
	local, _, _ := strings.Cut(m.From.Email, "@")
	if dsn || local == "mailer-daemon" || local == "postmaster" || local == "mail-daemon" {
		return RobotBounce
	}
	token := func(name string) string {
		v, _, _ := strings.Cut(h.Get(name), ";")
		return strings.ToLower(strings.TrimSpace(v))
	}
	autoSubmitted := token("Auto-Submitted")
	precedence := token("Precedence")
	has := func(name string) bool { return len(h.Values(name)) > 0 }

	if autoSubmitted == "auto-replied" || precedence == "auto_reply" ||
		has("X-Autoreply") || has("X-Autorespond") || has("X-Autoresponder") {
		return RobotAutoReply
	}
	var kind RobotKind
	switch {
	case precedence == "list":
		kind = RobotList
	case precedence == "bulk" || precedence == "junk":
		kind = RobotBulk
	case has("List-Id") || has("List-Post"):
		kind = RobotList
	case has("List-Unsubscribe"):
		kind = RobotBulk
	case autoSubmitted != "" && autoSubmitted != "no",
		suppressesAutoReplies(h.Get("X-Auto-Response-Suppress")),
		strings.TrimSpace(h.Get("Return-Path")) == "<>",
		has("X-Ricevuta"),
		mdn:
		kind = RobotAutoSubmitted
	default:
		return RobotNone
	}
	if kind == RobotAutoSubmitted {
		subj := strings.ToLower(m.Subject)
		for _, p := range autoReplySubjects {
			if strings.HasPrefix(subj, p) {
				return RobotAutoReply
			}
		}
	}
	return kind
}

// suppressesAutoReplies reports whether an X-Auto-Response-Suppress value
// asks for no automatic replies (All or OOF).
func suppressesAutoReplies(v string) bool {
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		if strings.EqualFold(f, "all") || strings.EqualFold(f, "oof") {
			return true
		}
	}
	return false
}

func childOfType(p *enmime.Part, types ...string) *enmime.Part {
	for c := p.FirstChild; c != nil; c = c.NextSibling {
		for _, t := range types {
			if strings.EqualFold(c.ContentType, t) {
				return c
			}
		}
	}
	return nil
}

func firstOfType(p *enmime.Part, types ...string) *enmime.Part {
	return p.DepthMatchFirst(func(c *enmime.Part) bool {
		for _, t := range types {
			if strings.EqualFold(c.ContentType, t) {
				return true
			}
		}
		return false
	})
}

// parseDSN reads a multipart/report; report-type=delivery-status part.
func parseDSN(report *enmime.Part) *Bounce {
	b := &Bounce{}
	if ds := childOfType(report, "message/delivery-status", "message/global-delivery-status"); ds != nil {
		for i, group := range dsnGroups(ds.Content) {
			if i == 0 && group["final-recipient"] == "" && group["original-recipient"] == "" {
				b.ReportingMTA = dsnValue(group["reporting-mta"])
				continue
			}
			email := dsnValue(group["final-recipient"])
			if email == "" {
				email = dsnValue(group["original-recipient"])
			}
			email = strings.ToLower(strings.Trim(email, "<> "))
			if email == "" {
				continue
			}
			b.Recipients = append(b.Recipients, BounceRecipient{
				Email:      email,
				Action:     strings.ToLower(firstToken(group["action"])),
				Status:     firstToken(group["status"]),
				Diagnostic: dsnValue(group["diagnostic-code"]),
			})
		}
	}
	if orig := childOfType(report, "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers"); orig != nil {
		b.OriginalMessageID = messageIDIn(orig.Content)
	}
	if b.OriginalMessageID == "" {
		// Some reporters only quote the headers in the human-readable part.
		if first := report.FirstChild; first != nil && strings.HasPrefix(strings.ToLower(first.ContentType), "text/") {
			b.OriginalMessageID = messageIDInText(first.Content)
		}
	}
	return b
}

// dsnGroups splits a delivery-status body into its blank-line separated
// groups of fields, with lower-case names and unfolded values.
func dsnGroups(data []byte) []map[string]string {
	var groups []map[string]string
	var cur map[string]string
	last := ""
	for line := range bytes.Lines(data) {
		l := cleanText(string(line))
		l = strings.TrimRight(l, "\n")
		if strings.TrimSpace(l) == "" {
			if cur != nil {
				groups = append(groups, cur)
				cur = nil
			}
			continue
		}
		if cur == nil {
			cur = map[string]string{}
			last = ""
		}
		if (l[0] == ' ' || l[0] == '\t') && last != "" {
			cur[last] += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(name))
		if _, dup := cur[last]; !dup {
			cur[last] = strings.TrimSpace(value)
		}
	}
	if cur != nil {
		groups = append(groups, cur)
	}
	return groups
}

// dsnValue strips the type from "rfc822; user@example.it" or
// "smtp; 550 ...", and cleans the rest.
func dsnValue(v string) string {
	if t, rest, ok := strings.Cut(v, ";"); ok && !strings.ContainsAny(t, " @") {
		v = rest
	}
	return cleanLine(v)
}

func firstToken(v string) string {
	f := strings.Fields(cleanLine(v))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// messageIDIn returns the Message-ID of a message or header block.
func messageIDIn(data []byte) string {
	h, err := enmime.ReadHeader(bufio.NewReader(bytes.NewReader(data)), discardErrors{})
	if err != nil || h == nil {
		return messageIDInText(data)
	}
	if ids := parseIDs(h.Values("Message-Id")); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// messageIDInText finds a "Message-ID: <...>" line in free text.
func messageIDInText(data []byte) string {
	for line := range bytes.Lines(data) {
		l := strings.TrimSpace(string(line))
		if len(l) > 11 && strings.EqualFold(l[:11], "message-id:") {
			if ids := parseIDs([]string{l[11:]}); len(ids) > 0 {
				return ids[0]
			}
		}
	}
	return ""
}

type discardErrors struct{}

func (discardErrors) AddError(string, string, ...any)   {}
func (discardErrors) AddWarning(string, string, ...any) {}

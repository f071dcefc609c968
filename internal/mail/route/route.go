// Package route decides what happens to a new request that arrives by
// e-mail: ordered rules whose conditions look at the recipient address, the
// sender and its domain, words of the subject (application acronyms such as
// BDNA, matched as whole words in any case) and the body, and whose actions
// set the service, queue, priority and tags, answer with a template, open no
// ticket, or answer with the competent office from a directory and close the
// request as redirected.
//
// The package is pure: rules are evaluated on values, and the directory and
// province detection work on data passed in.
package route

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sportello/sportello/internal/desk"
)

// Field is what a condition looks at.
type Field string

const (
	// FieldRecipient is any recipient address (To, Cc, Delivered-To,
	// X-Original-To…). Values are addresses, or @domain / domain.
	FieldRecipient Field = "recipient"
	// FieldSender is the From address. Values are addresses, or @domain /
	// domain (subdomains included).
	FieldSender Field = "sender"
	// FieldSubject is the subject, matched by words.
	FieldSubject Field = "subject"
	// FieldBody is the new text of the message, matched by words.
	FieldBody Field = "body"
	// FieldText is the subject and the body together.
	FieldText Field = "text"
)

// Op is how a condition compares.
type Op string

const (
	// OpWords (the default for subject, body and text) matches a phrase of
	// whole words, ignoring case and accents: "bdna" matches "BDNA - errore"
	// but not "BDNA2"; "informazioni nuovo service desk" matches that run
	// of words. A word ending in * matches as a prefix ("certificat*").
	OpWords Op = "words"
	// OpContains matches a substring, ignoring case.
	OpContains Op = "contains"
	// OpEquals (the default for addresses) matches the whole value,
	// ignoring case; for addresses, "@example.it" or "example.it" matches
	// the domain and its subdomains.
	OpEquals Op = "equals"
)

// Condition is one test. It holds when any of its values matches (or, with
// Not, when none does).
type Condition struct {
	Field Field    `json:"field"`
	Op    Op       `json:"op,omitempty"`
	Any   []string `json:"any"`
	Not   bool     `json:"not,omitempty"`
}

// Action is what a matching rule does. Empty fields are left to later rules
// (when the rule says continue) or to the defaults.
type Action struct {
	// Service is a service code of the organisation; its queue is used
	// unless Queue is set.
	Service string `json:"service,omitempty"`
	// Queue is a queue code.
	Queue string `json:"queue,omitempty"`
	// Priority is low, normal, high or urgent.
	Priority string `json:"priority,omitempty"`
	// Tags label the ticket (lower-case words; see desk.NormTag). Tags of
	// every matching rule are added together.
	Tags []string `json:"tags,omitempty"`
	// Reply names the template of the automatic answer: "ack" (the
	// request was registered), "ack_triage" (registered; which application
	// is it about?), "info" (a fixed answer, see Text), or "none".
	// Default: ack_triage when the request landed in triage, else ack.
	Reply string `json:"reply,omitempty"`
	// Text is added to the automatic answer (Italian and English as the
	// administrator writes it).
	Text string `json:"text,omitempty"`
	// NoTicket answers (with Reply, default "info") and records the
	// message in the mail log without opening a ticket.
	NoTicket bool `json:"no_ticket,omitempty"`
	// Redirect names a kind of office in the directory (such as
	// "prefettura"): the answer gives the competent office's address, found
	// from the province named in the message or the requester's
	// organisation, and the ticket is closed as redirected. When no office
	// is found the ticket stays open for an agent.
	Redirect string `json:"redirect,omitempty"`
	// ForwardPEC, with Redirect, also forwards the request to the
	// competent office's PEC address from the organisation's PEC mailbox
	// (its receipts are tracked on the ticket like a reply's).
	ForwardPEC bool `json:"forward_pec,omitempty"`
}

// Rule is an ordered routing rule.
type Rule struct {
	ID       int64  `json:"id,omitempty"`
	OrgID    int64  `json:"-"`
	Position int    `json:"-"`
	Name     string `json:"name"`
	// Disabled rules are kept but skipped.
	Disabled bool `json:"disabled,omitempty"`
	// When lists conditions that must all hold. A rule without
	// conditions matches every message (a catch-all, to put last).
	When []Condition `json:"when,omitempty"`
	Then Action      `json:"then"`
	// Continue keeps evaluating later rules after this one matched;
	// fields a later rule sets are used only where this one left them
	// empty.
	Continue bool `json:"continue,omitempty"`
}

// Templates an Action may name in Reply.
var Templates = []string{"ack", "ack_triage", "info", "none"}

// Priorities allowed in Action.Priority.
var Priorities = []string{"low", "normal", "high", "urgent"}

// Validate checks a rule and says what is wrong in terms an administrator
// understands. It normalises the rule's tags (lower case, sorted).
func (r *Rule) Validate() error {
	var errs []error
	if strings.TrimSpace(r.Name) == "" {
		errs = append(errs, errors.New("name is required"))
	}
	for i, c := range r.When {
		switch c.Field {
		case FieldRecipient, FieldSender, FieldSubject, FieldBody, FieldText:
		default:
			errs = append(errs, fmt.Errorf("when[%d]: unknown field %q (recipient, sender, subject, body, text)", i, c.Field))
		}
		switch c.Op {
		case "", OpWords, OpContains, OpEquals:
		default:
			errs = append(errs, fmt.Errorf("when[%d]: unknown op %q (words, contains, equals)", i, c.Op))
		}
		if len(c.Any) == 0 {
			errs = append(errs, fmt.Errorf("when[%d]: any must list at least one value", i))
		}
		for _, v := range c.Any {
			if strings.TrimSpace(v) == "" {
				errs = append(errs, fmt.Errorf("when[%d]: empty value", i))
			}
		}
	}
	a := r.Then
	if a.Priority != "" && !contains(Priorities, a.Priority) {
		errs = append(errs, fmt.Errorf("then.priority: %q is not one of %s", a.Priority, strings.Join(Priorities, ", ")))
	}
	if a.Reply != "" && !contains(Templates, a.Reply) {
		errs = append(errs, fmt.Errorf("then.reply: %q is not one of %s", a.Reply, strings.Join(Templates, ", ")))
	}
	if a.NoTicket && (a.Service != "" || a.Queue != "" || a.Redirect != "" || len(a.Tags) > 0) {
		errs = append(errs, errors.New("then: no_ticket cannot be combined with service, queue, tags or redirect"))
	}
	if tags, err := desk.NormTags(a.Tags); err != nil {
		errs = append(errs, fmt.Errorf("then.tags: %s", desk.ErrorMessage(err)))
	} else if len(a.Tags) > 0 {
		r.Then.Tags = tags
	}
	if utf8.RuneCountInString(a.Text) > 10000 {
		errs = append(errs, errors.New("then.text is longer than 10000 characters"))
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Input is what rules look at.
type Input struct {
	Recipients []string // lower-case addresses
	Sender     string   // lower-case address
	Subject    string
	Body       string // the new text (quoted history removed)

	subjectWords, bodyWords []string
	prepared                bool
}

// Decision is the outcome of evaluating the rules.
type Decision struct {
	Action
	// Matched names the rules that matched, in order.
	Matched []string
	// Default is true when no rule decided (the built-in default applies:
	// triage and an acknowledgement asking which application is meant).
	Default bool
}

// Evaluate runs the rules in order on the input. The first matching rule
// without Continue ends the evaluation; actions of earlier matching rules
// that continued fill what it leaves empty.
func Evaluate(rules []Rule, in Input) Decision {
	in.prepare()
	var d Decision
	decided := false
	for i := range rules {
		r := &rules[i]
		if r.Disabled || !r.matches(&in) {
			continue
		}
		d.Matched = append(d.Matched, r.Name)
		d.Action = merge(d.Action, r.Then)
		if !r.Continue {
			decided = true
			break
		}
	}
	d.Default = !decided
	if d.Reply == "" {
		switch {
		case d.NoTicket:
			d.Reply = "info"
		case d.Service == "" && d.Queue == "":
			d.Reply = "ack_triage"
		default:
			d.Reply = "ack"
		}
	}
	return d
}

// merge fills the empty fields of a with b's.
func merge(a, b Action) Action {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&a.Service, b.Service)
	set(&a.Queue, b.Queue)
	set(&a.Priority, b.Priority)
	set(&a.Reply, b.Reply)
	set(&a.Text, b.Text)
	set(&a.Redirect, b.Redirect)
	for _, t := range b.Tags {
		if !contains(a.Tags, t) {
			a.Tags = append(a.Tags, t)
		}
	}
	a.NoTicket = a.NoTicket || b.NoTicket
	a.ForwardPEC = a.ForwardPEC || b.ForwardPEC
	return a
}

func (r *Rule) matches(in *Input) bool {
	for i := range r.When {
		if !r.When[i].holds(in) {
			return false
		}
	}
	return true
}

func (c *Condition) holds(in *Input) bool {
	any := false
	for _, v := range c.Any {
		if c.match(in, v) {
			any = true
			break
		}
	}
	return any != c.Not
}

func (c *Condition) match(in *Input, v string) bool {
	switch c.Field {
	case FieldRecipient:
		for _, r := range in.Recipients {
			if matchAddress(c.Op, r, v) {
				return true
			}
		}
		return false
	case FieldSender:
		return matchAddress(c.Op, in.Sender, v)
	case FieldSubject:
		return matchText(c.Op, in.Subject, in.subjectWords, v)
	case FieldBody:
		return matchText(c.Op, in.Body, in.bodyWords, v)
	case FieldText:
		return matchText(c.Op, in.Subject, in.subjectWords, v) || matchText(c.Op, in.Body, in.bodyWords, v)
	}
	return false
}

func matchAddress(op Op, addr, v string) bool {
	addr = strings.ToLower(strings.TrimSpace(addr))
	v = strings.ToLower(strings.TrimSpace(v))
	if addr == "" {
		return false
	}
	if op == OpContains {
		return strings.Contains(addr, v)
	}
	if strings.HasPrefix(v, "@") || !strings.Contains(v, "@") {
		dom := strings.TrimPrefix(v, "@")
		_, host, ok := strings.Cut(addr, "@")
		return ok && (host == dom || strings.HasSuffix(host, "."+dom))
	}
	return addr == v
}

func matchText(op Op, text string, words []string, v string) bool {
	switch op {
	case OpContains:
		return strings.Contains(fold(text), fold(v))
	case OpEquals:
		return fold(strings.TrimSpace(text)) == fold(strings.TrimSpace(v))
	}
	return containsPhrase(words, Words(v))
}

func (in *Input) prepare() {
	if in.prepared {
		return
	}
	in.subjectWords = Words(in.Subject)
	in.bodyWords = Words(in.Body)
	in.prepared = true
}

// fold lower-cases and removes accents.
func fold(s string) string {
	s = norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Words splits text into lower-case words without accents: runs of letters
// and digits ("*" is kept at the end of a word, for prefix patterns).
func Words(s string) []string {
	s = fold(s)
	var out []string
	start := -1
	for i, r := range s {
		word := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			end := i
			if r == '*' {
				end = i + 1
			}
			out = append(out, s[start:end])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// containsPhrase reports whether pat occurs as a run of whole words in
// words. A pattern word ending in * matches words with that prefix.
func containsPhrase(words, pat []string) bool {
	if len(pat) == 0 {
		return false
	}
	for i := 0; i+len(pat) <= len(words); i++ {
		ok := true
		for j, p := range pat {
			w := words[i+j]
			if pre, isPrefix := strings.CutSuffix(p, "*"); isPrefix {
				if !strings.HasPrefix(w, pre) {
					ok = false
					break
				}
			} else if w != p {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

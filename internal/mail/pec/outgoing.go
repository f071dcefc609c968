package pec

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Errors returned by CheckOutgoing, joined when several rules are broken:
// test them with errors.Is.
var (
	ErrFromNotMailbox = errors.New("pec: From must be the PEC mailbox address")
	ErrBccNotAllowed  = errors.New("pec: Bcc is not allowed in PEC")
	ErrNoRecipients   = errors.New("pec: no recipients in To or Cc")
	ErrBadAddress     = errors.New("pec: invalid address")
	ErrTooLarge       = errors.New("pec: message exceeds the provider size limit")
)

// CheckOutgoing checks a reply about to be submitted through a PEC mailbox
// against the rules of the PEC service: the From address (and so the SMTP
// envelope sender) must be the mailbox itself, Bcc is forbidden, there must
// be at least one To or Cc recipient, every address must parse, and the
// message size must not exceed limit (limit <= 0 means no limit is known).
// Addresses may carry display names ("Ufficio <x@pec.example.it>");
// comparisons ignore case. It returns nil or all the violations joined.
//
// The RCPT TO list must then be exactly Recipients(to, cc).
func CheckOutgoing(from, mailbox string, to, cc, bcc []string, size, limit int64) error {
	var errs []error
	box, err := bareAddress(mailbox)
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: mailbox %q: %v", ErrBadAddress, mailbox, err))
	}
	sender, err := bareAddress(from)
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: From %q: %v", ErrBadAddress, from, err))
	}
	if box != "" && sender != "" && box != sender {
		errs = append(errs, fmt.Errorf("%w: From is %s, the mailbox is %s", ErrFromNotMailbox, sender, box))
	}
	if n := nonBlank(bcc); n > 0 {
		errs = append(errs, fmt.Errorf("%w: %d Bcc recipient(s); put them in To or Cc or send separately", ErrBccNotAllowed, n))
	}
	if rcpt, err := Recipients(to, cc); err != nil {
		errs = append(errs, err)
	} else if len(rcpt) == 0 {
		errs = append(errs, ErrNoRecipients)
	}
	if limit > 0 && size > limit {
		errs = append(errs, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, limit))
	}
	return errors.Join(errs...)
}

// Recipients returns the SMTP RCPT TO list for a PEC message: the bare
// addresses of To and Cc, lower-cased, without duplicates, in order. PEC
// requires the RCPT list to equal the To and Cc headers. Blank entries are
// skipped; an unparseable address is an ErrBadAddress.
func Recipients(to, cc []string) ([]string, error) {
	var (
		out  []string
		seen = map[string]bool{}
		errs []error
	)
	for _, list := range [][]string{to, cc} {
		for _, a := range list {
			if strings.TrimSpace(a) == "" {
				continue
			}
			addr, err := bareAddress(a)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %q: %v", ErrBadAddress, a, err))
				continue
			}
			if !seen[addr] {
				seen[addr] = true
				out = append(out, addr)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// bareAddress parses one RFC 5322 address and returns it lower-cased.
func bareAddress(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("empty address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return strings.ToLower(a.Address), nil
}

func nonBlank(list []string) int {
	n := 0
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			n++
		}
	}
	return n
}

package mail_test

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// requireDovecot gates the tests against the real Dovecot that
// scripts/dovecot-test.sh starts: skipped on a laptop without it, failed
// in CI, where a missing server must never pass silently.
func requireDovecot(t *testing.T) {
	t.Helper()
	if os.Getenv("SPORTELLO_TEST_DOVECOT") != "1" {
		if os.Getenv("CI") != "" {
			t.Fatal(`SPORTELLO_TEST_DOVECOT is not set: CI must run eval "$(scripts/dovecot-test.sh env)" first`)
		}
		t.Skip(`SPORTELLO_TEST_DOVECOT not set: run eval "$(scripts/dovecot-test.sh env)" (as root) to test against Dovecot`)
	}
}

// lmtpDeliver delivers a message through Dovecot's LMTP.
func lmtpDeliver(t *testing.T, addr, rcpt string, raw []byte) {
	t.Helper()
	lmtpDeliverFrom(t, addr, "sender@example.org", rcpt, raw)
}

// lmtpDeliverFrom delivers a message through Dovecot's LMTP with the
// envelope sender given.
func lmtpDeliverFrom(t *testing.T, addr, from, rcpt string, raw []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("Dovecot LMTP at %q: %v", addr, err)
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		t.Fatalf("LMTP RCPT %s: %v", rcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("LMTP delivery: %v", err)
	}
}

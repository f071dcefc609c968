package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// TestMailboxMoveToOverHTTP: the mailbox list shows the folder processed
// mail is moved to.
func TestMailboxMoveToOverHTTP(t *testing.T) {
	e, _, _ := newPECEnv(t)
	sealer, err := mailbox.NewSealer([]byte("0123456789abcdef0123456789abcdef-api-test"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mail.SaveMailbox(context.Background(), e.fx.DB, sealer, mail.MailboxInput{Address: "assistenza@example.it",
		IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1", MoveTo: "Elaborati"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	code, body := e.do("admin", "GET", "/api/v1/mailboxes", nil)
	if code != 200 {
		t.Fatalf("admin: %d %v", code, body)
	}
	found := false
	for _, it := range body["items"].([]any) {
		m := it.(map[string]any)
		if m["address"] == "assistenza@example.it" {
			found = m["move_to"] == "Elaborati"
		} else if _, ok := m["move_to"]; ok {
			t.Errorf("mailbox %v has a move_to", m["address"])
		}
	}
	if !found {
		t.Fatalf("move_to not shown: %v", body["items"])
	}
}

package web

import (
	"net/http"
	"net/url"
	"testing"
)

// TestAdminMailboxMoveTo: the mailbox form sets the folder processed mail
// is moved to, the list shows it, and the folder read is refused as one.
func TestAdminMailboxMoveTo(t *testing.T) {
	h := newAdminHarness(t)
	c := h.client()
	c.login("admin@example.it")
	form := url.Values{"address": {"casella@example.it"}, "imap": {"imap://u@127.0.0.1:1/INBOX"}, "smtp": {"smtp://127.0.0.1:25"},
		"move_to": {"Elaborati"}}
	if res := c.post("/admin/caselle", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, c.get("/admin/caselle").Body, "INBOX → Elaborati")
	form.Set("move_to", "INBOX")
	res := c.post("/admin/caselle", form)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("moving to the folder read: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `id="move_to-error"`, `aria-invalid="true"`)
}

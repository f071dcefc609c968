package outbox

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"
)

// TestHostileTextStaysInert: what people type (subjects, names, bodies)
// can neither add headers nor become HTML in the e-mails the desk sends.
func TestHostileTextStaysInert(t *testing.T) {
	raw, err := Encode(Mail{FromName: "Desk\r\nBcc: evil@example.com", From: "assistenza@desk.example.it",
		To:        []mail.Address{{Name: `"><script>alert(1)</script>`, Address: "utente@example.it"}},
		Subject:   "Re: <script>alert(1)</script>\r\nBcc: evil@example.com\nX-Injected: yes",
		Text:      "<img src=x onerror=alert(1)>\r\n<a href=\"javascript:alert(1)\">clic</a>",
		MessageID: "abc@desk.example.it\r\nX-Injected: yes", Date: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if env.GetHeader("Bcc") != "" || env.GetHeader("X-Injected") != "" {
		t.Fatalf("a header was injected:\n%s", raw)
	}
	if s := env.GetHeader("Subject"); strings.ContainsAny(s, "\r\n") || !strings.Contains(s, "<script>") {
		t.Fatalf("subject %q", s)
	}
	if env.HTML != "" || !strings.HasPrefix(env.Root.ContentType, "text/plain") {
		t.Fatalf("the message is not plain text only: %s %q", env.Root.ContentType, env.HTML)
	}
	if !strings.Contains(env.Text, "<img src=x onerror=alert(1)>") {
		t.Fatalf("text body changed: %q", env.Text)
	}
}

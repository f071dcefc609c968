package mailbox

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw, kind  string
		want, pass string
		addr       string
	}{
		{"imap://user%40ente.it:p%40ss%3Aw@127.0.0.1:1143/INBOX", "imap", "imap://user%40ente.it:***@127.0.0.1:1143/INBOX", "p@ss:w", "127.0.0.1:1143"},
		{"imaps://u:segreto@mail.example.it/Archivio/Desk", "imap", "imaps://u:***@mail.example.it:993/Archivio/Desk", "segreto", "mail.example.it:993"},
		{"smtp://127.0.0.1:1587", "smtp", "smtp://127.0.0.1:1587", "", "127.0.0.1:1587"},
		{"smtps://u:env:SMTP_PASS@smtp.example.it", "smtp", "smtps://u:env:SMTP_PASS@smtp.example.it:465", "", "smtp.example.it:465"},
		{"smtp://u:segreto@[::1]:25?insecure=1", "smtp", "smtp://u:***@[::1]:25?insecure=1", "segreto", "[::1]:25"},
	}
	for _, tt := range tests {
		e, p, err := ParseURL(tt.raw, tt.kind)
		if err != nil {
			t.Errorf("%s: %v", tt.raw, err)
			continue
		}
		if p.Reveal() != tt.pass || e.Addr() != tt.addr {
			t.Errorf("%s: password %q addr %q", tt.raw, p.Reveal(), e.Addr())
		}
		if tt.pass != "" {
			e.Secret = "v1:sealed"
		}
		if got := e.String(); got != tt.want {
			t.Errorf("%s: String() = %s, want %s", tt.raw, got, tt.want)
		}
		if strings.Contains(e.String(), tt.pass) && tt.pass != "" {
			t.Errorf("%s: password shown", tt.raw)
		}
	}
	for _, bad := range []struct{ raw, kind string }{{"http://x", "imap"}, {"imap://", "imap"}, {"imap://u:secretpw@host:notaport/", "imap"},
		{"smtp://h:25/path", "smtp"}, {"imap://u:env:BAD-NAME@h", "imap"}, {"%zz://u:secretpw@h", "imap"}, {"smtp://u:secretpw@h", "imap"}} {
		_, _, err := ParseURL(bad.raw, bad.kind)
		if err == nil {
			t.Errorf("%s accepted", bad.raw)
		} else if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%s: error shows the password: %v", bad.raw, err)
		}
	}
}

func TestStoredRoundTrip(t *testing.T) {
	e, _, err := ParseURL("imap://desk%40ente.it:pw@127.0.0.1:1143/INBOX?starttls=1", "imap")
	if err != nil {
		t.Fatal(err)
	}
	e.Secret = "v1:abc"
	back, err := ParseStored(e.String(), e.Secret, "imap")
	if err != nil {
		t.Fatal(err)
	}
	if back != e {
		t.Errorf("round trip: %+v != %+v", back, e)
	}
}

func TestSealer(t *testing.T) {
	s, err := NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("segreto!", "imap a@b.it")
	if err != nil || !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, "segreto") {
		t.Fatalf("sealed %q %v", sealed, err)
	}
	if p, err := s.Open(sealed, "imap a@b.it"); err != nil || p.Reveal() != "segreto!" {
		t.Errorf("open: %q %v", p.Reveal(), err)
	}
	if _, err := s.Open(sealed, "smtp a@b.it"); err == nil {
		t.Error("opened with another context")
	}
	other, _ := NewSealer([]byte("another secret key of 32 bytes!!"))
	if _, err := other.Open(sealed, "imap a@b.it"); err == nil || !strings.Contains(err.Error(), "SPORTELLO_SECRET_KEY") {
		t.Errorf("another key: %v", err)
	}
	t.Setenv("SPORTELLO_TEST_MAIL_PW", "dal-ambiente")
	if p, err := s.Open("env:SPORTELLO_TEST_MAIL_PW", ""); err != nil || p.Reveal() != "dal-ambiente" {
		t.Errorf("env: %q %v", p.Reveal(), err)
	}
	if _, err := s.Open("env:SPORTELLO_TEST_MAIL_UNSET", ""); err == nil {
		t.Error("unset variable accepted")
	}
}

func TestSecretNeverPrints(t *testing.T) {
	p := Secret("hunter2")
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "password", p)
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %s %q %#v %+v", p, p, p, p, p), b.String()} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret printed: %s", s)
		}
	}
	got := Redact("dial imap://user:hunter2@host:143: refused; login hunter2 failed", p)
	if strings.Contains(got, "hunter2") {
		t.Errorf("Redact: %s", got)
	}
}

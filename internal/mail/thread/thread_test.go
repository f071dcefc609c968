package thread

import (
	"strings"
	"testing"
)

func TestMessageIDToken(t *testing.T) {
	s, err := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	id := s.MessageID("2026-000123", "assistenza@desk.example.it")
	if !strings.HasPrefix(id, "t.2026-000123.") || !strings.HasSuffix(id, "@desk.example.it") {
		t.Fatalf("id %q", id)
	}
	if n, ok := s.FromMessageID("<" + id + ">"); !ok || n != "2026-000123" {
		t.Errorf("FromMessageID = %q, %v", n, ok)
	}
	if id2 := s.MessageID("2026-000123", "a@desk.example.it"); id2 == id {
		t.Error("two Message-IDs are equal")
	}
	forged := strings.Replace(id, "2026-000123", "2026-000124", 1)
	if _, ok := s.FromMessageID(forged); ok {
		t.Error("forged token accepted")
	}
	other, _ := NewSigner([]byte("another key, another installation!!"))
	if _, ok := other.FromMessageID(id); ok {
		t.Error("token of another key accepted")
	}
	for _, bad := range []string{"", "t.@x", "t.2026-000123@x", "t.x.y.z@d", "m.abc@desk.example.it", "random@client.example.it"} {
		if _, ok := s.FromMessageID(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if id := s.MessageID("", "a@desk.example.it"); !strings.HasPrefix(id, "m.") {
		t.Errorf("plain id %q", id)
	}
}

func TestReplyAddress(t *testing.T) {
	s, _ := NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	a := s.ReplyAddress("assistenza@desk.example.it", "2026-000007")
	n, base, ok := s.FromAddress(strings.ToUpper(a))
	if !ok || n != "2026-000007" || base != "assistenza@desk.example.it" {
		t.Errorf("FromAddress(%q) = %q %q %v", a, n, base, ok)
	}
	if _, base, ok := s.FromAddress("assistenza+t.2026-000007.aaaaaaaaaaaaaaaa@desk.example.it"); ok || base != "assistenza@desk.example.it" {
		t.Errorf("forged plus address accepted or base wrong: %q %v", base, ok)
	}
}

func TestSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"BDNA - errore", "[#2026-000001] BDNA - errore"},
		{"R: RE: [#2026-000001] BDNA - errore", "[#2026-000001] BDNA - errore"},
		{"", "[#2026-000001]"},
	}
	for _, tt := range tests {
		if got := Subject(tt.in, "2026-000001"); got != tt.want {
			t.Errorf("Subject(%q) = %q", tt.in, got)
		}
	}
	if got := CleanSubject("Fwd: R: [#2026-000001] BDNA"); got != "BDNA" {
		t.Errorf("CleanSubject = %q", got)
	}
}

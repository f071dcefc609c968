package parse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func msg(headers, body string) []byte {
	return []byte(strings.ReplaceAll(headers, "\n", "\r\n") + "\r\n" + body)
}

func TestParseErrors(t *testing.T) {
	ok := msg("From: a@example.it\nSubject: x\n", "corpo\r\n")
	tests := []struct {
		name string
		raw  []byte
		opts Options
		want error
	}{
		{"empty", nil, Options{}, ErrMalformed},
		{"blank", []byte("\r\n\r\n  \r\n"), Options{}, ErrMalformed},
		{"body only", []byte("solo testo\r\nsenza intestazioni"), Options{}, ErrMalformed},
		{"starts with blank line", []byte("\r\nFrom: a@example.it\r\n\r\nx"), Options{}, ErrMalformed},
		{"binary", []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0}, Options{}, ErrMalformed},
		{"header name with space", []byte("Not a header: x\r\n\r\nbody"), Options{}, ErrMalformed},
		{"no from", msg("To: a@example.it\nSubject: x\n", "x"), Options{}, ErrMalformed},
		{"from without address", msg("From: Mario Rossi\nSubject: x\n", "x"), Options{}, ErrMalformed},
		{"too large", ok, Options{MaxSize: 10}, ErrTooLarge},
		{"at the limit", ok, Options{MaxSize: int64(len(ok))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.raw, tt.opts)
			if tt.want == nil {
				if err != nil || m == nil {
					t.Fatalf("Parse = %v, %v", m, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || m != nil {
				t.Fatalf("Parse = %v, %v; want %v", m, err, tt.want)
			}
			if err.Error() == tt.want.Error() {
				t.Errorf("error %q carries no detail", err)
			}
		})
	}
}

func TestParseTolerance(t *testing.T) {
	t.Run("mbox From_ line and BOM", func(t *testing.T) {
		raw := append([]byte("\xef\xbb\xbfFrom mario@example.it Mon Feb  2 09:00:00 2026\n"),
			msg("From: mario@example.it\nSubject: ciao\n", "testo")...)
		m, err := Parse(raw, Options{})
		if err != nil || m.Subject != "ciao" || m.Text != "testo" {
			t.Fatalf("Parse = %+v, %v", m, err)
		}
	})
	t.Run("LF line endings", func(t *testing.T) {
		m, err := Parse([]byte("From: mario@example.it\nSubject: ciao\n\nriga 1\nriga 2\n"), Options{})
		if err != nil || m.Text != "riga 1\nriga 2" {
			t.Fatalf("Parse = %+v, %v", m, err)
		}
	})
	t.Run("headers only", func(t *testing.T) {
		m, err := Parse([]byte("From: mario@example.it\r\nSubject: solo intestazioni"), Options{})
		if err != nil || m.Subject != "solo intestazioni" || m.Text != "" {
			t.Fatalf("Parse = %+v, %v", m, err)
		}
	})
	t.Run("broken From falls back to scanning", func(t *testing.T) {
		m, err := Parse(msg("From: Mario Rossi <Mario.Rossi@comune.example.it\nTo: a@b.it;; <c@d.it>>, \"x\" e@f.it\n", "x"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m.From.Email != "mario.rossi@comune.example.it" {
			t.Errorf("From = %+v", m.From)
		}
		if len(m.Recipients) == 0 {
			t.Errorf("no recipients from a broken To")
		}
	})
	t.Run("Sender when From is unusable", func(t *testing.T) {
		m, err := Parse(msg("From: Ufficio\nSender: protocollo@comune.example.it\n", "x"), Options{})
		if err != nil || m.From.Email != "protocollo@comune.example.it" || len(m.Warnings) == 0 {
			t.Fatalf("Parse = %+v, %v", m, err)
		}
	})
	t.Run("encoded CRLF and controls in subject and names", func(t *testing.T) {
		m, err := Parse(msg("From: =?utf-8?q?Mario=0D=0AX-Evil:_1_=E2=80=AEnoiz?= <m@example.it>\n"+
			"Subject: =?utf-8?q?Prova=0D=0ABcc:_x@evil.example=00?=\n", "x"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "Prova Bcc: x@evil.example" {
			t.Errorf("Subject = %q", m.Subject)
		}
		if m.From.Name != "Mario X-Evil: 1 noiz" {
			t.Errorf("From.Name = %q", m.From.Name)
		}
	})
	t.Run("multi-line encoded subject", func(t *testing.T) {
		m, _ := Parse(msg("From: m@example.it\nSubject: =?UTF-8?B?UmljaGllc3RhIGF0dGl2aXTDoA==?=\n =?UTF-8?Q?_firma_digitale?=\n", "x"), Options{})
		if m.Subject != "Richiesta attività firma digitale" {
			t.Errorf("Subject = %q", m.Subject)
		}
	})
	t.Run("date fallbacks", func(t *testing.T) {
		for in, want := range map[string]string{
			"Mon, 2 Feb 2026 09:00:00 +0100 (CET)": "2026-02-02T09:00:00+01:00",
			"2 Feb 2026 09:00 +0100":               "2026-02-02T09:00:00+01:00",
			"2026-02-02T09:00:00+01:00":            "2026-02-02T09:00:00+01:00",
			"2026-02-02 09:00:00 +0100":            "2026-02-02T09:00:00+01:00",
			"Mon Feb  2 09:00:00 2026":             "2026-02-02T09:00:00Z",
		} {
			m, err := Parse(msg("From: m@example.it\nDate: "+in+"\n", "x"), Options{})
			w, _ := time.Parse(time.RFC3339, want)
			if err != nil || !m.Date.Equal(w) {
				t.Errorf("Date %q parsed as %v (%v), want %v", in, m.Date, err, w)
			}
		}
		m, _ := Parse(msg("From: m@example.it\nDate: lunedì scorso\n", "x"), Options{})
		if !m.Date.IsZero() || len(m.Warnings) == 0 {
			t.Errorf("bad date: %v, warnings %q", m.Date, m.Warnings)
		}
	})
	t.Run("ids without brackets and with comments", func(t *testing.T) {
		m, _ := Parse(msg("From: m@example.it\nMessage-ID: abc@desk.example.it\n"+
			"In-Reply-To: <a1@desk.example.it> (messaggio di Mario del 2 feb)\n"+
			"References: <r1@x.it>\n <r2@x.it><r1@x.it>\n", "x"), Options{})
		if m.MessageID != "abc@desk.example.it" || !slices.Equal(m.InReplyTo, []string{"a1@desk.example.it"}) ||
			!slices.Equal(m.References, []string{"r1@x.it", "r2@x.it"}) {
			t.Errorf("ids: %q %q %q", m.MessageID, m.InReplyTo, m.References)
		}
	})
	t.Run("references are capped keeping root and latest", func(t *testing.T) {
		var refs []string
		for i := range 300 {
			refs = append(refs, fmt.Sprintf("<r%d@x.it>", i))
		}
		m, _ := Parse(msg("From: m@example.it\nReferences: "+strings.Join(refs, " ")+"\n", "x"), Options{})
		if len(m.References) != maxReferences || m.References[0] != "r0@x.it" || m.References[maxReferences-1] != "r299@x.it" {
			t.Errorf("References: %d, first %q, last %q", len(m.References), m.References[0], m.References[len(m.References)-1])
		}
	})
	t.Run("NUL and controls removed from text", func(t *testing.T) {
		m, _ := Parse(msg("From: m@example.it\n", "a\x00b\x07c\r\nd\re"), Options{})
		if m.Text != "abc\nd\ne" {
			t.Errorf("Text = %q", m.Text)
		}
	})
	t.Run("multipart without boundary", func(t *testing.T) {
		m, err := Parse(msg("From: m@example.it\nContent-Type: multipart/alternative\n", "testo semplice\r\n"), Options{})
		if err != nil || m.Text != "testo semplice" || len(m.Warnings) == 0 {
			t.Fatalf("Parse = %+v, %v", m, err)
		}
	})
	t.Run("empty text part with html", func(t *testing.T) {
		raw := msg("From: m@example.it\nContent-Type: multipart/alternative; boundary=b\n",
			"--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Solo <b>HTML</b></p>\r\n--b--\r\n")
		m, _ := Parse(raw, Options{})
		if m.Text != "Solo *HTML*" {
			t.Errorf("Text = %q", m.Text)
		}
	})
}

func TestParseRobotSignals(t *testing.T) {
	tests := []struct {
		headers string
		want    RobotKind
	}{
		{"Auto-Submitted: no\n", RobotNone},
		{"Auto-Submitted: auto-generated\n", RobotAutoSubmitted},
		{"Auto-Submitted: auto-replied; owner-email=x@y.it\n", RobotAutoReply},
		{"X-Autorespond: 1\n", RobotAutoReply},
		{"Precedence: auto_reply\n", RobotAutoReply},
		{"Precedence: junk\n", RobotBulk},
		{"Precedence: bulk\nList-Id: <l.example.it>\n", RobotBulk},
		{"List-Id: <l.example.it>\n", RobotList},
		{"List-Unsubscribe: <mailto:u@example.it>\n", RobotBulk},
		{"X-Auto-Response-Suppress: DR, OOF\n", RobotAutoSubmitted},
		{"X-Auto-Response-Suppress: DR, RN\n", RobotNone},
		{"Return-Path: <>\n", RobotAutoSubmitted},
		{"Return-Path: <m@example.it>\n", RobotNone},
		{"Auto-Submitted: auto-generated\nSubject: Out of Office: ferie\n", RobotAutoReply},
		{"Subject: Risposta automatica: non è un robot\n", RobotNone},
	}
	for _, tt := range tests {
		m, err := Parse(msg("From: m@example.it\n"+tt.headers, "x"), Options{})
		if err != nil || m.Robot != tt.want {
			t.Errorf("%q: Robot = %q (%v), want %q", tt.headers, m.Robot, err, tt.want)
		}
	}
	for _, from := range []string{"MAILER-DAEMON@mx.example.it", "Postmaster <postmaster@example.it>"} {
		m, _ := Parse(msg("From: "+from+"\n", "x"), Options{})
		if m.Robot != RobotBounce {
			t.Errorf("From %q: Robot = %q", from, m.Robot)
		}
	}
}

// nested builds a message with depth nested multiparts.
func nested(depth int) []byte {
	var b strings.Builder
	b.WriteString("From: m@example.it\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	for i := 1; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\nfondo\r\n", depth-1)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

func TestParseLimits(t *testing.T) {
	t.Run("moderate nesting parses", func(t *testing.T) {
		m, err := Parse(nested(maxMultiparts), Options{})
		if err != nil || m.Text != "fondo" {
			t.Fatalf("Parse = %+v, %v", m, err)
		}
	})
	t.Run("deep nesting is cut, not followed", func(t *testing.T) {
		start := time.Now()
		m, err := Parse(nested(maxBoundaries-1), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Text == "fondo" {
			t.Errorf("nesting beyond the limit was followed")
		}
		if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "application/octet-stream" {
			t.Errorf("the cut subtree should be one opaque attachment: %+v", attNames(m))
		}
		if !slices.ContainsFunc(m.Warnings, func(w string) bool { return strings.Contains(w, "multipart containers") }) {
			t.Errorf("no warning about the cut: %q", m.Warnings)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("too many boundaries", func(t *testing.T) {
		_, err := Parse(nested(maxBoundaries+10), Options{})
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too many parts", func(t *testing.T) {
		body := strings.Repeat("--b\r\n\r\n", maxParts+1) + "--b--\r\n"
		_, err := Parse(msg("From: m@example.it\nContent-Type: multipart/mixed; BOUNDARY=b\n", body), Options{})
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "parts") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too many parts with an RFC 2231 boundary", func(t *testing.T) {
		body := strings.Repeat("--bb\r\n\r\n", maxParts+1) + "--bb--\r\n"
		_, err := Parse(msg("From: m@example.it\nContent-Type: multipart/mixed; boundary*0=b; boundary*1=b\n", body), Options{})
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("many dashes in text are not parts", func(t *testing.T) {
		body := strings.Repeat("-- commento SQL\r\n", maxParts+1)
		m, err := Parse(msg("From: m@example.it\nContent-Type: multipart/mixed; boundary=zz\n",
			"--zz\r\nContent-Type: text/plain\r\n\r\n"+body+"--zz--\r\n"), Options{})
		if err != nil || !strings.HasPrefix(m.Text, "-- commento SQL") {
			t.Fatalf("Parse: %v", err)
		}
	})
}

func TestSafeFileName(t *testing.T) {
	tests := []struct{ in, ctype, want string }{
		{"../../etc/passwd", "text/plain", "passwd"},
		{`C:\Users\mario\Desktop\modulo.pdf`, "application/pdf", "modulo.pdf"},
		{"fattura\u202efdp.exe", "", "fatturafdp.exe"},
		{"a\x00b\x1f\tc.txt", "", "ab c.txt"},
		{"..", "application/pdf", "allegato.pdf"},
		{".htaccess", "", "htaccess"},
		{"  nome   con  spazi .pdf  ", "", "nome con spazi .pdf"},
		{`dati:"riservati"?.csv`, "", "dati__riservati__.csv"},
		{"", "image/png", "allegato.png"},
		{"", "application/x-unknown", "allegato"},
		{"", "application/ms-tnef", "winmail.dat"},
		{"perch\xe9.txt", "", "perché.txt"},
		{strings.Repeat("è", 200) + ".pdf", "", strings.Repeat("è", 125) + ".pdf"},
	}
	for _, tt := range tests {
		if got := SafeFileName(tt.in, tt.ctype); got != tt.want {
			t.Errorf("SafeFileName(%q, %q) = %q, want %q", tt.in, tt.ctype, got, tt.want)
		}
	}
}

func TestBounceFailed(t *testing.T) {
	raw, err := os.ReadFile("testdata/dsn_exchange_headers.eml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	failed := m.Bounce.Failed()
	if len(failed) != 1 || failed[0].Email != "mario.rossi@prefettura.example.it" || failed[0].Status != "5.2.2" {
		t.Errorf("Failed() = %+v", failed)
	}
	var nilBounce *Bounce
	if nilBounce.Failed() != nil {
		t.Errorf("nil Bounce has failures")
	}
}

// TestParseConcurrent parses the corpus from several goroutines; run with
// -race it checks that Parse shares no mutable state.
func TestParseConcurrent(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.eml")
	want := map[string]string{}
	var corpus [][]byte
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		corpus = append(corpus, raw)
		if m, err := Parse(raw, Options{CIDURL: cidURL}); err == nil {
			want[string(raw)] = m.Subject + m.Text + m.HTML
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, raw := range corpus {
				m, err := Parse(raw, Options{CIDURL: cidURL})
				if err == nil && m.Subject+m.Text+m.HTML != want[string(raw)] {
					t.Errorf("concurrent parse differs")
				}
			}
		})
	}
	wg.Wait()
}

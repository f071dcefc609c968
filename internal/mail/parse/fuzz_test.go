package parse

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics and that what it returns is
// safe: valid UTF-8 and sanitised HTML. Seeds are the testdata corpus.
func FuzzParse(f *testing.F) {
	recoverPanics = false // let the fuzzer see panics
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no corpus: %v", err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("From: a@b.it\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--"))
	f.Add([]byte("From: a@b.it\r\nContent-Type: text/html\r\n\r\n<img src=cid:x onerror=1><script>x</script>"))
	f.Add(nested(30))

	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, Options{CIDURL: cidURL})
		if err != nil {
			if m != nil {
				t.Fatalf("message and error both returned")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !utf8.ValidString(m.Subject) {
			t.Fatalf("Subject is not valid UTF-8: %q", m.Subject)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
			t.Fatalf("body is not valid UTF-8")
		}
		if strings.Contains(strings.ToLower(m.HTML), "<script") {
			t.Fatalf("HTML contains <script: %q", m.HTML)
		}
		if m.From.Email == "" {
			t.Fatalf("no From accepted")
		}
		for _, a := range m.Attachments {
			if a.Name == "" || strings.ContainsAny(a.Name, "/\\") {
				t.Fatalf("unsafe attachment name %q", a.Name)
			}
		}
	})
}

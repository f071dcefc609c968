package parse

import (
	"strings"
	"testing"
)

// TestRemoteImagesOption: the intake's default removes remote images; a
// viewer that blocks them itself may ask to keep them (only http(s), never
// other schemes), while everything else is sanitised the same.
func TestRemoteImagesOption(t *testing.T) {
	raw := "From: a@example.it\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
		`<p>Ciao</p><img src="https://img.example/logo.png" alt="logo"><img src="ftp://x.example/a.png" alt="ftp"><script>x()</script>`
	def, err := Parse([]byte(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(def.HTML, "img.example") || !strings.Contains(def.HTML, "logo") {
		t.Errorf("default HTML: %s", def.HTML)
	}
	kept, err := Parse([]byte(raw), Options{RemoteImages: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(kept.HTML, `<img src="https://img.example/logo.png" alt="logo"/>`) || strings.Contains(kept.HTML, "ftp://") || strings.Contains(kept.HTML, "<script") {
		t.Errorf("HTML with remote images: %s", kept.HTML)
	}
}

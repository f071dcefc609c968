package pec

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitMultipart(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		boundary string
		want     []string
		closed   bool
		wantErr  bool
	}{
		{name: "simple", body: "preamble\r\n--b\r\nA\r\n--b\r\nB\r\n--b--\r\nepilogue", boundary: "b", want: []string{"A", "B"}, closed: true},
		{name: "no preamble", body: "--b\r\nA\r\n--b--", boundary: "b", want: []string{"A"}, closed: true},
		{name: "LF line ends", body: "--b\nA\nline\n--b\nB\n--b--\n", boundary: "b", want: []string{"A\nline", "B"}, closed: true},
		{name: "transport padding", body: "--b  \r\nA\r\n--b\t\r\nB\r\n--b--", boundary: "b", want: []string{"A", "B"}, closed: true},
		{name: "longer boundary is content", body: "--b\r\nA\r\n--bb\r\nstill A\r\n--b--", boundary: "b", want: []string{"A\r\n--bb\r\nstill A"}, closed: true},
		{name: "empty part", body: "--b\r\n--b\r\nB\r\n--b--", boundary: "b", want: []string{"", "B"}, closed: true},
		{name: "trailing CRLF kept inside part", body: "--b\r\nA\r\n\r\n--b--", boundary: "b", want: []string{"A\r\n"}, closed: true},
		{name: "unterminated", body: "--b\r\nA\r\nB", boundary: "b", want: []string{"A\r\nB"}},
		{name: "no delimiter", body: "just text", boundary: "b", wantErr: true},
		{name: "no boundary", body: "--\r\n", boundary: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, closed, err := splitMultipart([]byte(tt.body), tt.boundary)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			var got []string
			for _, p := range parts {
				got = append(got, string(p))
			}
			if !reflect.DeepEqual(got, tt.want) || closed != tt.closed {
				t.Errorf("got %q closed=%v, want %q closed=%v", got, closed, tt.want, tt.closed)
			}
		})
	}
}

func TestSplitMultipartTooManyParts(t *testing.T) {
	body := strings.Repeat("--b\r\nx\r\n", maxParts+2)
	if _, _, err := splitMultipart([]byte(body), "b"); err == nil {
		t.Fatal("no error for too many parts")
	}
}

func TestParseEntity(t *testing.T) {
	raw := "From junk line\r\nContent-Type: text/plain;\r\n\tcharset=\"ISO-8859-1\"\r\nx-trasporto:   errore  \r\nnot a header\r\nBad Key: v\r\n\r\nbody\r\n"
	e := parseEntity([]byte(raw))
	if got := e.header.get("content-type"); got != `text/plain; charset="ISO-8859-1"` {
		t.Errorf("folded Content-Type = %q", got)
	}
	if got := e.header.get("X-Trasporto"); got != "errore" {
		t.Errorf("X-Trasporto = %q", got)
	}
	if _, ok := e.header["Bad Key"]; ok || len(e.header) != 2 {
		t.Errorf("header = %v", e.header)
	}
	if string(e.body) != "body\r\n" || string(e.raw) != raw {
		t.Errorf("body = %q", e.body)
	}
	if mt, params := e.mediaType(); mt != "text/plain" || params["charset"] != "ISO-8859-1" {
		t.Errorf("media type %q %v", mt, params)
	}

	e = parseEntity([]byte("Subject: solo intestazioni"))
	if len(e.body) != 0 || e.header.get("Subject") != "solo intestazioni" {
		t.Errorf("headers only: %v %q", e.header, e.body)
	}
	e = parseEntity([]byte("\r\nsolo corpo"))
	if len(e.header) != 0 || string(e.body) != "solo corpo" {
		t.Errorf("body only: %v %q", e.header, e.body)
	}
	e = parseEntity([]byte("Content-Type: multipart/mixed; boundary=a; boundary=b\r\n\r\n"))
	if mt, params := e.mediaType(); mt != "multipart/mixed" || params["boundary"] != "a" {
		t.Errorf("duplicate parameter: %q %v", mt, params)
	}
}

func TestDecodeBase64Lenient(t *testing.T) {
	for _, in := range []string{"Y2lhbw==", "Y2lh\r\nbw==\r\n", " Y2lhbw ", "Y2lhbw"} {
		got, err := decodeBase64([]byte(in))
		if err != nil || string(got) != "ciao" {
			t.Errorf("decodeBase64(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := decodeBase64([]byte("!!!")); err == nil {
		t.Error("no error for invalid base64")
	}
}

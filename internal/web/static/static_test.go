package static

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// bigText is compressible content above gzipMinSize.
var bigText = strings.Repeat("body { color: #1a1a1a; margin: 0 auto; }\n", 100)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"css/fonts.css": {Data: []byte(`@font-face { font-family: "Titillium Web";` +
			` src: url("../vendor/fonts/Titillium_Web/t-regular.woff2") format("woff2"); }` + "\n" +
			`@font-face { font-family: "Lora"; src: url(../vendor/fonts/Lora/lora-missing.woff2); }` + "\n" +
			`.x { background: url(data:image/png;base64,AAAA); }`)},
		"css/sportello.css": {Data: []byte(bigText)},
		"js/sportello.js":   {Data: []byte(strings.Repeat("console.log('sportello');\n", 60))},
		"vendor/README.txt": {Data: []byte("placeholder")},
		BootstrapItaliaCSS:  {Data: []byte(bigText + "/* bi */")},
		BootstrapItaliaJS:   {Data: []byte(strings.Repeat("var bi=1;\n", 100))},
		Sprites:             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg">` + strings.Repeat(`<symbol id="it-x"><path d="M0 0h24v24H0z"/></symbol>`, 20) + `</svg>`)},
		HTMX:                {Data: []byte(strings.Repeat("var htmx=2;\n", 100))},
		"vendor/fonts/Titillium_Web/t-regular.woff2": {Data: bytes.Repeat([]byte{0x77, 0x4f, 0x46, 0x32, 0x00, 0x01}, 200)},
		"vendor/.hidden": {Data: []byte("not served")},
	}
}

func newTest(t *testing.T, fsys fstest.MapFS) *Assets {
	t.Helper()
	a, err := NewFS(fsys)
	if err != nil {
		t.Fatalf("NewFS: %v", err)
	}
	return a
}

func get(t *testing.T, h http.Handler, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var hashedURL = regexp.MustCompile(`^/static/js/sportello\.js\?v=[0-9a-f]{16}$`)

func TestURLIsContentHashed(t *testing.T) {
	fsys := testFS()
	a := newTest(t, fsys)
	u := a.URL(SportelloJS)
	if !hashedURL.MatchString(u) {
		t.Fatalf("URL = %q, want /static/js/sportello.js?v=<16 hex>", u)
	}
	if got := a.URL("/" + SportelloJS); got != u {
		t.Errorf("URL with leading slash = %q, want %q", got, u)
	}
	// Another content gives another hash; the same content the same hash.
	fsys["js/sportello.js"] = &fstest.MapFile{Data: []byte("changed")}
	b := newTest(t, fsys)
	if b.URL(SportelloJS) == u {
		t.Errorf("hash did not change with the content")
	}
	if c := newTest(t, testFS()); c.URL(SportelloJS) != u {
		t.Errorf("hash not deterministic: %q vs %q", c.URL(SportelloJS), u)
	}
	if got := a.URL("css/nope.css"); got != "/static/css/nope.css" {
		t.Errorf("URL(unknown) = %q", got)
	}
	if got := a.Icon("it-search"); !strings.HasPrefix(got, "/static/"+Sprites+"?v=") || !strings.HasSuffix(got, "#it-search") {
		t.Errorf("Icon = %q", got)
	}
}

func TestCachingHeaders(t *testing.T) {
	a := newTest(t, testFS())
	h := a.Handler()

	res := get(t, h, a.URL(SportelloJS), nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("hashed URL Cache-Control = %q", got)
	}
	etag := res.Header.Get("ETag")
	if etag != `"`+a.Hash(SportelloJS)+`"` {
		t.Errorf("ETag = %q, want the quoted hash", etag)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}

	for _, u := range []string{"/static/" + SportelloJS, "/static/" + SportelloJS + "?v=0000000000000000"} {
		res := get(t, h, u, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", u, res.StatusCode)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control = %q, want no-cache", u, got)
		}
	}

	// Revalidation by ETag.
	res = get(t, h, "/static/"+SportelloJS, map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
	}
}

func TestContentTypes(t *testing.T) {
	a := newTest(t, testFS())
	h := a.Handler()
	for name, want := range map[string]string{
		FontsCSS:            "text/css; charset=utf-8",
		SportelloJS:         "text/javascript; charset=utf-8",
		Sprites:             "image/svg+xml",
		HTMX:                "text/javascript; charset=utf-8",
		"vendor/README.txt": "text/plain; charset=utf-8",
		"vendor/fonts/Titillium_Web/t-regular.woff2": "font/woff2",
	} {
		res := get(t, h, a.URL(name), nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", name, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type = %q, want %q", name, got, want)
		}
	}
}

func TestGzip(t *testing.T) {
	fsys := testFS()
	a := newTest(t, fsys)
	h := a.Handler()
	for _, name := range []string{SportelloCSS, SportelloJS, Sprites, BootstrapItaliaJS} {
		res := get(t, h, a.URL(name), map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
		if got := res.Header.Get("Content-Encoding"); got != "gzip" {
			t.Errorf("%s: Content-Encoding = %q, want gzip", name, got)
			continue
		}
		if got := res.Header.Get("Vary"); got != "Accept-Encoding" {
			t.Errorf("%s: Vary = %q", name, got)
		}
		if etag := res.Header.Get("ETag"); etag != `"`+a.Hash(name)+`.gz"` {
			t.Errorf("%s: gzip ETag = %q", name, etag)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body(t, res)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(plain, fsys[name].Data) {
			t.Errorf("%s: decompressed body differs", name)
		}
	}

	// No gzip without Accept-Encoding, with q=0, or for fonts.
	for _, tc := range []struct{ name, ae string }{
		{SportelloCSS, ""},
		{SportelloCSS, "gzip;q=0"},
		{SportelloCSS, "gzip;q=0, *"},
		{SportelloCSS, "identity"},
		{"vendor/fonts/Titillium_Web/t-regular.woff2", "gzip"},
	} {
		res := get(t, h, a.URL(tc.name), map[string]string{"Accept-Encoding": tc.ae})
		if got := res.Header.Get("Content-Encoding"); got != "" {
			t.Errorf("%s with Accept-Encoding %q: Content-Encoding = %q", tc.name, tc.ae, got)
		}
		if b := body(t, res); !bytes.Equal(b, fsys[tc.name].Data) {
			t.Errorf("%s with Accept-Encoding %q: body differs", tc.name, tc.ae)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for in, want := range map[string]bool{
		"":                     false,
		"gzip":                 true,
		"GZIP":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, gzip;q=0.5": true,
		"gzip;q=0":             false,
		"gzip; q=0.0":          false,
		"*":                    true,
		"*;q=0":                false,
		"deflate":              false,
		"x-gzip":               true,
	} {
		if got := acceptsGzip(in); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	a := newTest(t, testFS())
	h := a.Handler()
	for _, u := range []string{
		"/static/",
		"/static/css",
		"/static/css/",
		"/static/nope.js",
		"/static/vendor/.hidden",
		"/static/../static.go",
		"/static/static.go",
	} {
		if res := get(t, h, u, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", u, res.StatusCode)
		}
	}

	req := httptest.NewRequest(http.MethodPost, a.URL(SportelloJS), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}

	req = httptest.NewRequest(http.MethodHead, a.URL(SportelloJS), nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("ETag") == "" {
		t.Errorf("HEAD: status %d, body %d bytes, ETag %q", rec.Code, rec.Body.Len(), rec.Header().Get("ETag"))
	}

	// Mounted behind http.StripPrefix too.
	mux := http.NewServeMux()
	mux.Handle("/assets/", http.StripPrefix("/assets/", h))
	if res := get(t, mux, "/assets/"+SportelloJS, nil); res.StatusCode != http.StatusOK {
		t.Errorf("behind StripPrefix: status %d", res.StatusCode)
	}
}

func TestCSSURLsRewritten(t *testing.T) {
	a := newTest(t, testFS())
	res := get(t, a.Handler(), a.URL(FontsCSS), nil)
	css := string(body(t, res))
	font := "vendor/fonts/Titillium_Web/t-regular.woff2"
	if want := `url("` + a.URL(font) + `")`; !strings.Contains(css, want) {
		t.Errorf("fonts.css does not reference %s; got:\n%s", want, css)
	}
	if !strings.Contains(css, "url(../vendor/fonts/Lora/lora-missing.woff2)") {
		t.Errorf("a missing font reference must be left unchanged; got:\n%s", css)
	}
	if !strings.Contains(css, "url(data:image/png;base64,AAAA)") {
		t.Errorf("data: URL changed; got:\n%s", css)
	}
	if !slices.Contains(a.Missing(), "vendor/fonts/Lora/lora-missing.woff2") {
		t.Errorf("Missing() = %v, want the unresolved font", a.Missing())
	}
	// The CSS hash covers the rewritten content, so a new font gives a new CSS URL.
	fsys := testFS()
	fsys[font] = &fstest.MapFile{Data: []byte("other font bytes")}
	if b := newTest(t, fsys); b.URL(FontsCSS) == a.URL(FontsCSS) {
		t.Errorf("fonts.css hash did not change when a font changed")
	}
}

// TestPlaceholderOnly is a clone where npm has not run: vendor/ holds only
// the README placeholder.
func TestPlaceholderOnly(t *testing.T) {
	fsys := fstest.MapFS{
		"css/fonts.css":     {Data: []byte(`@font-face { src: url("../vendor/fonts/Lora/l.woff2"); }`)},
		"css/sportello.css": {Data: []byte(".sp{}")},
		"js/sportello.js":   {Data: []byte("1")},
		"vendor/README.txt": {Data: []byte("run make assets")},
	}
	a := newTest(t, fsys)
	want := []string{BootstrapItaliaCSS, BootstrapItaliaJS, Sprites, "vendor/fonts/Lora/l.woff2", HTMX}
	slices.Sort(want)
	if got := a.Missing(); !slices.Equal(got, want) {
		t.Errorf("Missing() = %v, want %v", got, want)
	}
	if a.Has(BootstrapItaliaCSS) || !a.Has(SportelloCSS) {
		t.Errorf("Has: bootstrap=%v sportello=%v", a.Has(BootstrapItaliaCSS), a.Has(SportelloCSS))
	}
	h := a.Handler()
	if res := get(t, h, a.URL(BootstrapItaliaCSS), nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing vendor file: status %d, want 404", res.StatusCode)
	}
	if res := get(t, h, a.URL(SportelloCSS), nil); res.StatusCode != http.StatusOK {
		t.Errorf("own CSS: status %d", res.StatusCode)
	}
	// Missing returns a copy.
	m := a.Missing()
	m[0] = "changed"
	if a.Missing()[0] == "changed" {
		t.Error("Missing() exposes internal state")
	}
}

// TestEmbedded checks the real embedded tree: our own files are always
// there; the vendor files are complete whenever scripts/assets.sh has run.
func TestEmbedded(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := New(); b != a {
		t.Error("New() should build the embedded assets once")
	}
	for _, name := range []string{FontsCSS, SportelloCSS, SportelloJS, "vendor/README.txt"} {
		if !a.Has(name) {
			t.Errorf("embedded %s missing", name)
		}
	}
	if !a.Has(BootstrapItaliaCSS) {
		t.Logf("vendor assets not present (run scripts/assets.sh); Missing() = %v", a.Missing())
		if len(a.Missing()) == 0 {
			t.Error("Missing() is empty although the vendor files are absent")
		}
		return
	}
	if m := a.Missing(); len(m) != 0 {
		t.Errorf("vendor assets incomplete (re-run scripts/assets.sh): %v", m)
	}
	res := get(t, a.Handler(), a.URL(FontsCSS), nil)
	css := string(body(t, res))
	if n := strings.Count(css, "?v="); n < 16 {
		t.Errorf("fonts.css has %d hashed font URLs, want 16:\n%s", n, css)
	}
	res = get(t, a.Handler(), a.URL(BootstrapItaliaCSS), map[string]string{"Accept-Encoding": "gzip"})
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("bootstrap-italia.min.css: status %d, encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
}

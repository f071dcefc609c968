package browsertest

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// strictCSP is the policy Sportello's pages use: no inline scripts or styles.
const strictCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const goodPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Report a problem</title>
<link rel="stylesheet" href="/site.css"></head>
<body>
<main>
<h1>Report a problem</h1>
<form id="report" method="post" action="/submit">
  <label for="name">Your name *</label>
  <input id="name" name="name" type="text" autocomplete="name" required>
  <label for="topic">Topic</label>
  <select id="topic" name="topic"><option value="printer">Printer</option><option value="network">Network</option></select>
  <label for="when">Since</label>
  <input id="when" name="when" type="date">
  <label for="details">Details</label>
  <textarea id="details" name="details"></textarea>
  <button type="submit">Send report</button>
</form>
<p><a href="/help">Help</a> <button type="button" id="more" aria-expanded="false">Show more</button></p>
<p id="extra" hidden>More options</p>
</main>
<script src="/site.js"></script>
</body>
</html>`

const siteCSS = `body { font-family: sans-serif; color: #1a1a1a; background: #fff; margin: 2rem; }
label, input, select, textarea, button { display: block; margin: .25rem 0; }`

const siteJS = `document.getElementById("more").addEventListener("click", function () {
  document.getElementById("extra").hidden = false;
  this.setAttribute("aria-expanded", "true");
});`

// brokenPage has a missing label, low contrast, an image without alt and no
// lang attribute; its inline script is blocked by the CSP.
const brokenPage = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>Broken</title></head>
<body>
<p style="color:#c8c8c8; background:#ffffff">This text is far too light to read.</p>
<img src="/pixel.png">
<form><input type="text" name="q"></form>
<script>document.title = "inline script ran";</script>
</body>
</html>`

func pixelPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, color.RGBA{0, 102, 204, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(body, csp string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", csp)
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /{$}", page(goodPage, strictCSP))
	mux.HandleFunc("GET /broken", page(brokenPage, "script-src 'self'"))
	mux.HandleFunc("GET /site.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, siteCSS)
	})
	mux.HandleFunc("GET /site.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, siteJS)
	})
	pix := pixelPNG()
	mux.HandleFunc("GET /pixel.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pix)
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/thanks?"+r.PostForm.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /thanks", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Security-Policy", strictCSP)
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Thanks</title></head>
<body><main><h1>Thanks, %s</h1><p id="summary">%s|%s|%s</p></main></body></html>`,
			html.EscapeString(q.Get("name")), html.EscapeString(q.Get("topic")),
			html.EscapeString(q.Get("when")), html.EscapeString(strings.ReplaceAll(q.Get("details"), "\r\n", "/")))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestAccessibleFormFlow(t *testing.T) {
	srv := testServer(t)
	b := New(t)

	if status := b.Navigate(srv.URL + "/"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if got := b.Title(); got != "Report a problem" {
		t.Errorf("title %q", got)
	}

	// axe-core under a strict CSP: the accessible form has no serious issues.
	vs := Axe(t, b)
	for _, v := range vs {
		if v.Serious() {
			t.Errorf("unexpected violation: %s", v)
		}
	}
	b.AssertNoSeriousViolations("")

	// A progressive-enhancement script from 'self' runs.
	b.ClickText("Show more")
	b.WaitVisible("#extra")
	if got := b.Text("#extra"); got != "More options" {
		t.Errorf("extra text %q", got)
	}

	b.FillLabel("Your name", "Mario Rossi")
	b.FillLabel("Topic", "Network") // by the option's text
	b.Fill("#when", "2026-11-23")
	b.FillLabel("Details", "Line one\nLine two")
	b.Fill("#name", "Maria Rossi") // replaces the content
	if got := b.Value("#details"); got != "Line one\nLine two" {
		t.Errorf("textarea value %q", got)
	}
	if got := b.Value("#name"); got != "Maria Rossi" {
		t.Errorf("value after refill %q", got)
	}
	if n := b.Count("form#report label"); n != 4 {
		t.Errorf("Count(labels) = %d", n)
	}

	shot := filepath.Join(t.TempDir(), "shots", "form.png")
	b.Screenshot(shot)
	checkPNG(t, shot)

	if status := b.Submit("form#report"); status != http.StatusOK {
		t.Fatalf("submit: status %d", status)
	}
	if got := b.Text("h1"); got != "Thanks, Maria Rossi" {
		t.Errorf("heading %q", got)
	}
	if got := b.Text("#summary"); got != "network|2026-11-23|Line one/Line two" {
		t.Errorf("summary %q", got)
	}
	if !strings.HasPrefix(b.URL(), srv.URL+"/thanks?") {
		t.Errorf("URL %q", b.URL())
	}
	b.AssertNoConsoleErrors()

	// Back to the form: submitting through its button, and ClickAndWait.
	b.Navigate(srv.URL + "/")
	b.FillLabel("Your name", "Luca")
	if status := b.Submit("button[type=submit]"); status != http.StatusOK {
		t.Errorf("submit via button: status %d", status)
	}
	if got := b.Text("h1"); got != "Thanks, Luca" {
		t.Errorf("heading %q", got)
	}
	b.Navigate(srv.URL + "/")
	b.Fill("#name", "Anna")
	if status := b.ClickAndWait("button[type=submit]"); status != http.StatusOK {
		t.Errorf("ClickAndWait: status %d", status)
	}
	if got := Eval[string](b, `document.querySelector("h1").textContent`); got != "Thanks, Anna" {
		t.Errorf("Eval: %q", got)
	}
}

func TestBrokenPageHasViolations(t *testing.T) {
	srv := testServer(t)
	b := New(t)
	b.Navigate(srv.URL + "/broken")

	vs := Axe(t, b)
	ids := make([]string, 0, len(vs))
	for _, v := range vs {
		ids = append(ids, v.ID)
		t.Logf("found as expected: %s", v)
	}
	for _, want := range []string{"image-alt", "label", "color-contrast", "html-has-lang"} {
		if !slices.Contains(ids, want) {
			t.Errorf("axe did not report %q; got %v", want, ids)
		}
	}
	for _, v := range vs {
		if v.ID == "image-alt" {
			if !v.Serious() || len(v.Nodes) != 1 || !slices.Equal(v.Targets(), []string{"img"}) {
				t.Errorf("image-alt: impact %q, targets %v", v.Impact, v.Targets())
			}
		}
	}

	// The assertion reports them as failures.
	rec := &recordingT{TB: t}
	b.For(rec).AssertNoSeriousViolations("")
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "image-alt") ||
		!strings.Contains(rec.errors[0], "color-contrast") {
		t.Errorf("AssertNoSeriousViolations reported %q", rec.errors)
	}

	// The inline script was blocked by the CSP and shows as a console error.
	if got := b.Title(); got != "Broken" {
		t.Errorf("inline script ran despite the CSP: title %q", got)
	}
	errs := b.ConsoleErrors()
	if !slices.ContainsFunc(errs, func(s string) bool { return strings.Contains(s, "Content Security Policy") }) {
		t.Errorf("CSP violation not among console errors: %q", errs)
	}

	shot := filepath.Join(t.TempDir(), "broken.png")
	b.Screenshot(shot)
	checkPNG(t, shot)
}

func TestPackageAssert(t *testing.T) {
	srv := testServer(t)
	AssertNoSeriousViolations(t, srv.URL+"/")
}

func TestFindChromiumEnv(t *testing.T) {
	t.Setenv("SPORTELLO_CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))
	if _, err := FindChromium(); err == nil || !strings.Contains(err.Error(), "SPORTELLO_CHROMIUM") {
		t.Errorf("FindChromium with a bad SPORTELLO_CHROMIUM: %v", err)
	}
}

func TestFindAxeStopsAtRepoRoot(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module github.com/sportello/sportello\n\ngo 1.26\n"), 0o644)
	pkg := filepath.Join(root, "internal", "web")
	os.MkdirAll(pkg, 0o755)
	t.Chdir(pkg)
	if p, err := findAxe(); err == nil {
		t.Fatalf("found %s in an empty repository", p)
	}
	axe := filepath.Join(root, "node_modules", "axe-core", "axe.min.js")
	os.MkdirAll(filepath.Dir(axe), 0o755)
	os.WriteFile(axe, []byte("/*! axe v0 */"), 0o644)
	if p, err := findAxe(); err != nil || p != axe {
		t.Errorf("findAxe = %q, %v; want %q", p, err, axe)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if len(data) < 1000 || cfg.Width < 100 || cfg.Height < 100 {
		t.Errorf("%s: %d bytes, %dx%d: too small", path, len(data), cfg.Width, cfg.Height)
	}
}

// recordingT records Errorf calls instead of failing the test.
type recordingT struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingT) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

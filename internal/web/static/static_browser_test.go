package static_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/browsertest"
	"github.com/sportello/sportello/internal/web/static"
)

// csp is the policy the app is expected to send. font-src needs data:
// because bootstrap-italia.min.css embeds Video.js's icon font as a data: URL.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="it">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles": false, "allowEval": false}'>
<title>Sportello — prova degli asset</title>
<link rel="stylesheet" href="{{ .A.URL "vendor/bootstrap-italia/css/bootstrap-italia.min.css" }}">
<link rel="stylesheet" href="{{ .A.URL "css/fonts.css" }}">
<link rel="stylesheet" href="{{ .A.URL "css/sportello.css" }}">
</head>
<body>
<a class="sp-skip-link" href="#main">Vai al contenuto</a>
<main id="main" class="container sp-main">
<h1>Apri una richiesta</h1>
<p class="lead">Testo in Titillium Web, <code class="sp-mono">codice in Roboto Mono</code>.</p>
<form class="sp-form-narrow" method="get" action="/">
  <div class="form-group">
    <label for="oggetto">Oggetto</label>
    <input type="text" class="form-control" id="oggetto" name="oggetto" data-sp-shortcut="/" aria-keyshortcuts="/">
  </div>
  <button type="submit" class="btn btn-primary">
    <svg class="icon icon-white icon-sm" aria-hidden="true" focusable="false"><use href="{{ .A.Icon "it-search" }}"></use></svg>
    Cerca
  </button>
</form>
</main>
<script src="{{ .A.URL "js/sportello.js" }}"></script>
<script src="{{ .A.URL "vendor/bootstrap-italia/js/bootstrap-italia.bundle.min.js" }}"></script>
<script src="{{ .A.URL "vendor/htmx/htmx.min.js" }}"></script>
</body>
</html>`))

// TestAssetsInBrowser serves a Bootstrap Italia page from the embedded
// assets under a strict CSP and checks, in Chromium, that the styles, fonts,
// scripts and icons load without errors and that the page passes axe-core.
func TestAssetsInBrowser(t *testing.T) {
	a, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	if m := a.Missing(); len(m) > 0 {
		t.Skipf("vendor assets missing (run scripts/assets.sh): %d files", len(m))
	}
	mux := http.NewServeMux()
	mux.Handle(static.Prefix, a.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		if err := pageTmpl.Execute(w, map[string]any{"A": a}); err != nil {
			t.Error(err)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := browsertest.New(t)
	if status := b.Navigate(srv.URL + "/"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	// Wait for the fonts, then check that they are ours and in use.
	loaded := browsertest.Eval[[]string](b, `document.fonts.ready.then(() =>
		Array.from(document.fonts).filter((f) => f.status === "loaded").map((f) => f.family + " " + f.weight + " " + f.style))`)
	for i, l := range loaded {
		loaded[i] = strings.ReplaceAll(l, `"`, "")
	}
	for _, want := range []string{"Titillium Web 400 normal", "Titillium Web 700 normal", "Roboto Mono 400 normal"} {
		if !slices.Contains(loaded, want) {
			t.Errorf("font %s not loaded; loaded: %q", want, loaded)
		}
	}
	if fam := browsertest.Eval[string](b, `getComputedStyle(document.body).fontFamily`); !strings.Contains(fam, "Titillium Web") {
		t.Errorf("body font-family %q: Bootstrap Italia's CSS not applied", fam)
	}
	if !browsertest.Eval[bool](b, `typeof window.bootstrap === "object" && typeof window.htmx === "object" && window.Sportello.version === 1`) {
		t.Error("Bootstrap Italia, htmx or sportello.js did not load")
	}
	// The sprite icon resolves (the <use> element has a rendered size).
	if w := browsertest.Eval[float64](b, `document.querySelector("svg.icon").getBBox().width`); w <= 0 {
		t.Errorf("sprite icon not rendered (width %v)", w)
	}
	// sportello.js: "/" focuses the field marked data-sp-shortcut="/".
	b.Press("/")
	if id := browsertest.Eval[string](b, `document.activeElement.id`); id != "oggetto" {
		t.Errorf("shortcut focused %q", id)
	}
	b.Press("/") // now typed into the field
	if v := b.Value("#oggetto"); v != "/" {
		t.Errorf("after the shortcut, the field holds %q; want one typed /", v)
	}

	b.AssertNoSeriousViolations("")
	b.AssertNoConsoleErrors()
	shot := filepath.Join(t.TempDir(), "assets.png")
	b.Screenshot(shot)
	t.Logf("fonts loaded: %s; screenshot %s", fmt.Sprint(loaded), shot)
}

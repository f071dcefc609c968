// Package static embeds and serves Sportello's front-end assets: our own CSS
// and JS, plus the files that scripts/assets.sh vendors from npm (Bootstrap
// Italia's CSS, JS bundle, SVG sprite and fonts, and htmx).
//
// Every file gets a content hash at start-up. Pages link to assets with
// [Assets.URL], which returns "/static/<name>?v=<hash>"; the handler serves
// such URLs with a one-year immutable cache lifetime, and any other URL of a
// known file with "no-cache" plus an ETag. CSS, JS and SVG are gzip-compressed
// once at start-up. Relative url() references in our own CSS (the fonts) are
// rewritten to hashed URLs, so fonts are cached immutably too.
//
// On a fresh clone where npm has not run, vendor/ holds only a README.txt
// placeholder: the package still builds, [Assets.Missing] lists what is absent
// and pages can show a notice (see [Assets.Has]).
//
// Mount the handler on the prefix:
//
//	assets, err := static.New()
//	mux.Handle(static.Prefix, assets.Handler())
//	// in templates: <link rel="stylesheet" href="{{ .Assets.URL "css/sportello.css" }}">
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed css js vendor
var embedded embed.FS

// Prefix is the URL path under which [Assets.Handler] serves the files.
const Prefix = "/static/"

// Names of the files that pages link to. Vendor files exist only after
// scripts/assets.sh has run (make assets).
const (
	FontsCSS           = "css/fonts.css"
	SportelloCSS       = "css/sportello.css"
	SportelloJS        = "js/sportello.js"
	BootstrapItaliaCSS = "vendor/bootstrap-italia/css/bootstrap-italia.min.css"
	BootstrapItaliaJS  = "vendor/bootstrap-italia/js/bootstrap-italia.bundle.min.js"
	Sprites            = "vendor/bootstrap-italia/svg/sprites.svg"
	HTMX               = "vendor/htmx/htmx.min.js"
)

// vendorCore lists the vendored files the layout needs. The font files are
// not listed: they are whatever our CSS references (see Missing).
var vendorCore = []string{BootstrapItaliaCSS, BootstrapItaliaJS, Sprites, HTMX}

// hashLen is the number of hex digits of the content hash used in URLs.
const hashLen = 16

// gzipMinSize is the size below which compression is not worth it.
const gzipMinSize = 512

type file struct {
	name   string
	ctype  string
	hash   string
	body   []byte
	gz     []byte // nil when not compressible or not worth it
	etag   string
	gzEtag string
}

// Assets is an immutable set of embedded files with their content hashes.
// It is safe for concurrent use.
type Assets struct {
	files   map[string]*file
	missing []string
}

var defaultAssets = sync.OnceValues(func() (*Assets, error) { return NewFS(embedded) })

// New returns the embedded assets. The hashing and compression happen once
// per process; later calls return the same value.
func New() (*Assets, error) { return defaultAssets() }

// NewFS builds Assets from fsys, which must have the layout of this
// directory (css/, js/, vendor/). Tests use it with fstest.MapFS.
func NewFS(fsys fs.FS) (*Assets, error) {
	a := &Assets{files: make(map[string]*file)}
	var styles []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(path.Base(name), ".") {
			return nil
		}
		if path.Ext(name) == ".css" && !strings.HasPrefix(name, "vendor/") {
			styles = append(styles, name) // after the files they reference
			return nil
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		return a.add(name, body)
	})
	if err != nil {
		return nil, fmt.Errorf("static: reading assets: %w", err)
	}
	missing := make(map[string]bool)
	for _, name := range styles {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("static: reading %s: %w", name, err)
		}
		body = a.rewriteCSS(name, body, missing)
		if err := a.add(name, body); err != nil {
			return nil, err
		}
	}
	for _, name := range vendorCore {
		if a.files[name] == nil {
			missing[name] = true
		}
	}
	for name := range missing {
		a.missing = append(a.missing, name)
	}
	slices.Sort(a.missing)
	return a, nil
}

func (a *Assets) add(name string, body []byte) error {
	sum := sha256.Sum256(body)
	f := &file{
		name:  name,
		ctype: contentType(name),
		hash:  hex.EncodeToString(sum[:])[:hashLen],
		body:  body,
	}
	f.etag = `"` + f.hash + `"`
	if compressible(f.ctype) && len(body) >= gzipMinSize {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := zw.Write(body); err != nil {
			return fmt.Errorf("static: compressing %s: %w", name, err)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("static: compressing %s: %w", name, err)
		}
		if buf.Len() < len(body)*9/10 {
			f.gz = buf.Bytes()
			f.gzEtag = `"` + f.hash + `.gz"`
		}
	}
	a.files[name] = f
	return nil
}

var cssURL = regexp.MustCompile(`url\(\s*(["']?)([^"'()\s]+)(["']?)\s*\)`)

// rewriteCSS replaces relative url() references in body (the file name) by
// hashed URLs. References to files that do not exist are left as they are
// and recorded in missing.
func (a *Assets) rewriteCSS(name string, body []byte, missing map[string]bool) []byte {
	return cssURL.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := cssURL.FindSubmatch(m)
		ref := string(sub[2])
		if ref == "" || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "#") ||
			strings.Contains(ref, ":") { // data:, https:, …
			return m
		}
		target, frag := ref, ""
		if i := strings.IndexAny(target, "?#"); i >= 0 {
			if j := strings.IndexByte(target, '#'); j >= 0 {
				frag = target[j:]
			}
			target = target[:i]
		}
		target = path.Join(path.Dir(name), target)
		if strings.HasPrefix(target, "../") || !a.Has(target) {
			missing[target] = true
			return m
		}
		return []byte(`url("` + a.URL(target) + frag + `")`)
	})
}

// URL returns the content-hashed URL of the named file, for example
// "/static/css/sportello.css?v=0123456789abcdef". For an unknown name it
// returns the URL without a hash (which then answers 404).
func (a *Assets) URL(name string) string {
	name = strings.TrimPrefix(name, "/")
	if f := a.files[name]; f != nil {
		return Prefix + name + "?v=" + f.hash
	}
	return Prefix + name
}

// Icon returns the URL of an icon of Bootstrap Italia's SVG sprite, for
// <svg class="icon"><use href="{{ .Assets.Icon "it-search" }}"></use></svg>.
func (a *Assets) Icon(id string) string {
	return a.URL(Sprites) + "#" + id
}

// Has reports whether the named file (e.g. [BootstrapItaliaCSS]) is present.
func (a *Assets) Has(name string) bool {
	return a.files[strings.TrimPrefix(name, "/")] != nil
}

// Missing lists, sorted, the expected vendor files that are not present:
// the core files of Bootstrap Italia and htmx, and every file that our own
// CSS references (the fonts). It is empty once scripts/assets.sh has run.
func (a *Assets) Missing() []string {
	return slices.Clone(a.missing)
}

// Hash returns the content hash of the named file, or "" when unknown.
func (a *Assets) Hash(name string) string {
	if f := a.files[strings.TrimPrefix(name, "/")]; f != nil {
		return f.hash
	}
	return ""
}

// Handler serves the files under [Prefix] (it also accepts paths that a
// http.StripPrefix has already shortened). URLs whose v parameter is the
// current hash get "Cache-Control: public, max-age=31536000, immutable";
// other URLs of known files get "no-cache" and are revalidated by ETag.
// Unknown names and directories answer 404.
func (a *Assets) Handler() http.Handler {
	return http.HandlerFunc(a.serve)
}

func (a *Assets) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		name = strings.TrimPrefix(r.URL.Path, "/")
	}
	f := a.files[name]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if v := r.URL.Query().Get("v"); v != "" && v == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := f.body, f.etag
	if f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = f.gz, f.gzEtag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// AcceptsGzip reports whether an Accept-Encoding header value allows gzip
// (the pages use it too).
func AcceptsGzip(header string) bool { return acceptsGzip(header) }

// acceptsGzip reports whether an Accept-Encoding header value allows gzip.
func acceptsGzip(header string) bool {
	ok := false
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if coding == "*" {
			ok = ok || q > 0
			continue
		}
		return q > 0 // an explicit gzip entry wins over *
	}
	return ok
}

var contentTypes = map[string]string{
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".ico":         "image/vnd.microsoft.icon",
	".woff2":       "font/woff2",
	".woff":        "font/woff",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".txt":         "text/plain; charset=utf-8",
	".html":        "text/html; charset=utf-8",
	".xml":         "application/xml",
	".webmanifest": "application/manifest+json",
}

// contentType returns the Content-Type for a file name. The table is fixed
// so that responses do not depend on the host's /etc/mime.types.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if path.Base(name) == "LICENSE" {
		return "text/plain; charset=utf-8"
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	mt, _, _ := strings.Cut(ctype, ";")
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "image/svg+xml",
		mt == "application/json",
		mt == "application/xml",
		mt == "application/manifest+json",
		mt == "font/ttf", mt == "font/otf":
		return true
	}
	return false
}

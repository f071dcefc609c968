package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/web/static"
)

//go:embed templates
var embeddedTemplates embed.FS

// templates are the parsed page and fragment templates. Each page is the
// layout plus the partials plus its own file, which defines "main"; a
// fragment (an htmx response) is a standalone template.
type templates struct {
	pages     map[string]*template.Template
	fragments *template.Template
}

var funcs = template.FuncMap{
	// item pairs the page with the value a partial works on.
	"item": func(p any, it any) partialArgs { return partialArgs{P: p, It: it} },
	"add":  func(a, b int) int { return a + b },
}

type partialArgs struct {
	P  any
	It any
}

func (w *Web) templateFS() fs.FS {
	if w.tmplDir != "" {
		return os.DirFS(w.tmplDir)
	}
	sub, _ := fs.Sub(embeddedTemplates, "templates")
	return sub
}

// loadTemplates parses every template, failing on the first error, so a
// broken template stops the server at start-up rather than on a page.
func loadTemplates(fsys fs.FS) (*templates, error) {
	base := template.New("layout.html").Funcs(funcs)
	if _, err := base.ParseFS(fsys, "layout.html", "partials/*.html"); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	pages, err := fs.Glob(fsys, "pages/*.html")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, p := range pages {
		c, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := c.ParseFS(fsys, p); err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		if c.Lookup("main") == nil {
			return nil, fmt.Errorf("web: template %s does not define \"main\"", p)
		}
		t.pages[strings.TrimSuffix(path.Base(p), ".html")] = c
	}
	frag := template.New("fragments").Funcs(funcs)
	if _, err := frag.ParseFS(fsys, "partials/*.html"); err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	t.fragments = frag
	return t, nil
}

func (w *Web) currentTemplates() (*templates, error) {
	if w.dev && w.tmplDir != "" {
		return loadTemplates(w.templateFS())
	}
	return w.tmpl, nil
}

// view is what every page's view struct offers: its embedded Page.
type view interface{ page() *Page }

func (p *Page) page() *Page { return p }

// render writes the page name with the view v and the HTTP status.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, err := w.currentTemplates()
	if err != nil {
		w.renderFailure(rw, err)
		return
	}
	pt := t.pages[name]
	if pt == nil {
		w.renderFailure(rw, fmt.Errorf("no page template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := pt.ExecuteTemplate(&buf, "layout", v); err != nil {
		w.renderFailure(rw, fmt.Errorf("render %s: %w", name, err))
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeCompressed(rw, r, status, buf.Bytes())
}

// gzipWriters keeps compressors between pages: a new one allocates
// hundreds of kilobytes.
var gzipWriters sync.Pool

// pageGzipMin is the size from which a page is sent compressed.
const pageGzipMin = 1024

// writeCompressed writes a page, gzip-compressed when the client accepts
// it. Pages carry no secret that an attacker could guess through the
// compressed length (BREACH): CSRF protection uses no token, and the
// session cookie is never in a body.
func writeCompressed(rw http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := rw.Header()
	h.Add("Vary", "Accept-Encoding")
	if len(body) < pageGzipMin || r == nil || !static.AcceptsGzip(r.Header.Get("Accept-Encoding")) {
		rw.WriteHeader(status)
		_, _ = rw.Write(body)
		return
	}
	var zb bytes.Buffer
	zw, _ := gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&zb, gzip.DefaultCompression)
	} else {
		zw.Reset(&zb)
	}
	_, err := zw.Write(body)
	if err == nil {
		err = zw.Close()
	}
	gzipWriters.Put(zw)
	if err != nil {
		rw.WriteHeader(status)
		_, _ = rw.Write(body)
		return
	}
	h.Set("Content-Encoding", "gzip")
	rw.WriteHeader(status)
	_, _ = rw.Write(zb.Bytes())
}

// renderFragment writes a standalone fragment (an htmx response).
func (w *Web) renderFragment(rw http.ResponseWriter, name string, v any) {
	t, err := w.currentTemplates()
	if err != nil {
		w.renderFailure(rw, err)
		return
	}
	var buf bytes.Buffer
	if err := t.fragments.ExecuteTemplate(&buf, name, v); err != nil {
		w.renderFailure(rw, fmt.Errorf("render fragment %s: %w", name, err))
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = rw.Write(buf.Bytes())
}

// renderFailure is the last resort when a template itself fails.
func (w *Web) renderFailure(rw http.ResponseWriter, err error) {
	id := errorID()
	w.log.Error("web: template failed", "id", id, "err", err)
	http.Error(rw, "Errore interno / Internal error. Codice / ID: "+id, http.StatusInternalServerError)
}

// errorView is the error page.
type errorView struct {
	Page
	Status  int
	Heading string
	Message string
	ID      string
}

func (w *Web) renderError(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, msgKey string) {
	w.renderErrorID(rw, r, c, status, msgKey, "")
}

func (w *Web) renderErrorID(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, msgKey, id string) {
	p := w.newPage(r, c, "")
	if msgKey == "" {
		msgKey = fmt.Sprintf("error.%d", status)
		if _, ok := catalogue[msgKey]; !ok {
			msgKey = "error.generic"
		}
	}
	head := fmt.Sprintf("error.%d.title", status)
	if _, ok := catalogue[head]; !ok {
		head = "error.generic.title"
	}
	p.Title = p.T(head)
	w.render(rw, r, status, "error", &errorView{Page: p, Status: status, Heading: p.T(head), Message: p.T(msgKey), ID: id})
}

// Page is embedded in every view: what the layout needs, and the helpers
// templates call.
type Page struct {
	Lang    string
	Title   string
	Path    string // the current path with query, for the language links
	Nav     string // the active navigation entry
	User    *desk.User
	Staff   bool
	Flash   string
	OrgName string
	Desk    string // the desk's name

	assets  *static.Assets
	loc     *time.Location
	missing bool
}

// T translates a catalogue key, formatting args into it if any.
func (p *Page) T(key string, args ...any) string { return translate(p.Lang, key, args...) }

// Asset returns the content-hashed URL of a static file.
func (p *Page) Asset(name string) string { return p.assets.URL(name) }

// Icon returns the URL of an icon of Bootstrap Italia's sprite.
func (p *Page) Icon(id string) string { return p.assets.Icon(id) }

// Approver reports whether the user decides on approval gates (approvers
// and administrators), who have the "waiting for my approval" list.
func (p *Page) Approver() bool {
	return p.User != nil && (p.User.Role == desk.RoleApprover || p.User.Role == desk.RoleAdmin)
}

// AssetsMissing reports a clone where the vendored assets were not fetched.
func (p *Page) AssetsMissing() bool { return p.missing }

// OtherLang is the language the switch offers.
func (p *Page) OtherLang() string {
	if p.Lang == "en" {
		return "it"
	}
	return "en"
}

// Date formats a time in the desk's time zone.
func (p *Page) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(p.loc)
	if p.Lang == "en" {
		return t.Format("2 Jan 2006, 15:04")
	}
	return fmt.Sprintf("%d %s %d, %s", t.Day(), monthsIT[t.Month()-1], t.Year(), t.Format("15:04"))
}

// ShortDate is Date without the year when it is the current one (lists).
func (p *Page) ShortDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(p.loc)
	if t.Year() != time.Now().In(p.loc).Year() {
		return p.Date(t)
	}
	if p.Lang == "en" {
		return t.Format("2 Jan 15:04")
	}
	return fmt.Sprintf("%d %s %s", t.Day(), monthsIT[t.Month()-1], t.Format("15:04"))
}

// ISODate is a machine-readable time for <time datetime>.
func (p *Page) ISODate(t time.Time) string { return t.UTC().Format(time.RFC3339) }

var monthsIT = [...]string{"gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"}

// StatusLabel, PriorityLabel, ChannelLabel and LinkLabel name identifiers.
func (p *Page) StatusLabel(s desk.Status) string       { return p.T("status." + string(s)) }
func (p *Page) PriorityLabel(v desk.Priority) string   { return p.T("priority." + string(v)) }
func (p *Page) ChannelLabel(c desk.Channel) string     { return p.T("channel." + string(c)) }
func (p *Page) LinkLabel(k desk.LinkKind) string       { return p.T("link." + string(k)) }
func (p *Page) CauseLabel(c string) string             { return p.T("cause." + c) }
func (p *Page) StatusClass(s desk.Status) string       { return statusClass(s) }
func (p *Page) PriorityClass(v desk.Priority) string   { return priorityClass(v) }
func (p *Page) Size(n int64) string                    { return humanSize(n) }
func (p *Page) Initial(s string) string                { return initial(s) }
func (p *Page) Statuses() []desk.Status                { return desk.Statuses }
func (p *Page) Priorities() []desk.Priority            { return desk.Priorities }
func (p *Page) CauseCategories() []string              { return desk.CauseCategories }
func (p *Page) LevelLabel(l desk.Level) string         { return p.T(fmt.Sprintf("level.%d", l)) }
func (p *Page) HasPrefix(s, prefix string) bool        { return strings.HasPrefix(s, prefix) }
func (p *Page) Sel(a, b string) bool                   { return a == b }
func (p *Page) SelStatus(a desk.Status, b string) bool { return string(a) == b }

func statusClass(s desk.Status) string {
	switch s {
	case desk.StatusNew:
		return "bg-primary"
	case desk.StatusOpen:
		return "bg-success"
	case desk.StatusWaitingRequester, desk.StatusWaitingSupplier:
		return "bg-warning sp-badge-dark"
	case desk.StatusResolved:
		return "bg-info sp-badge-dark"
	}
	return "bg-secondary"
}

func priorityClass(p desk.Priority) string {
	switch p {
	case desk.PriorityHigh:
		return "text-danger"
	case desk.PriorityUrgent:
		return "text-danger fw-bold"
	}
	return ""
}

func humanSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.0f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func initial(s string) string {
	for _, r := range strings.TrimSpace(s) {
		return strings.ToUpper(string(r))
	}
	return "?"
}

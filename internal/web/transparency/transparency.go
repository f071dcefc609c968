// Package transparency serves the public catalogue of procedimenti that
// D.Lgs. 33/2013 art. 35 asks an administration to publish under
// "Amministrazione trasparente › Attività e procedimenti › Tipologie di
// procedimento": an accessible HTML page with every service, one printable
// page per service with schema.org GovernmentService JSON-LD, and the same
// data as open data in JSON and CSV. No log-in is needed.
//
// Routes (mount the handler on "/trasparenza/"):
//
//	GET /trasparenza/procedimenti          every active service (HTML)
//	GET /trasparenza/procedimenti/{code}   one service (HTML, printable)
//	GET /trasparenza/procedimenti.json     open data (catalog.JSON)
//	GET /trasparenza/procedimenti.csv      open data for spreadsheets (catalog.CSV)
//	GET /trasparenza/trasparenza.css       the pages' own print and layout rules
//
// Each takes ?ente=CODE for an organisation other than the default one; an
// unknown organisation or service is 404 (an HTML page, or the JSON error
// {"code":"not_found","message":…} for the data files).
//
// Pages carry no script and no inline style, and set a strict
// Content-Security-Policy of their own.
package transparency

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/web/static"
)

// Source gives the published catalogue of an organisation ("" means the
// default organisation): active services only, no internal fields. An
// unknown organisation is a desk ENotFound error. *workflow.Engine is one.
type Source interface {
	PublicCatalogue(ctx context.Context, orgCode string) (*catalog.Catalogue, error)
}

// Opts configures the handler.
type Opts struct {
	// Catalogue is where the published catalogues come from
	// (*workflow.Engine).
	Catalogue Source
	// Assets are the static files (static.New()); the pages link to
	// Bootstrap Italia, the fonts and sportello.css through them.
	Assets *static.Assets
	// Logger receives internal errors; slog.Default() when nil.
	Logger *slog.Logger
}

//go:embed templates/*.html assets/trasparenza.css
var files embed.FS

// Base is the path prefix the handler serves.
const Base = "/trasparenza/"

// listPath is the catalogue page; data files and service pages hang off it.
const listPath = Base + "procedimenti"

// cssPath is where the pages' own stylesheet is served.
const cssPath = Base + "trasparenza.css"

// csp allows the pages exactly what they use: our stylesheets, fonts and
// images (Bootstrap Italia's CSS embeds a data: font and data: icons).
// JSON-LD is a data block, never executed, so no script source is needed.
const csp = "default-src 'none'; style-src 'self'; font-src 'self' data:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type handler struct {
	src    Source
	assets *static.Assets
	log    *slog.Logger
	pages  map[string]*template.Template
	css    []byte
	cssTag string // content hash of css
	mux    *http.ServeMux
}

// New returns the handler, with its templates parsed and checked.
func New(o Opts) (http.Handler, error) {
	if o.Catalogue == nil || o.Assets == nil {
		return nil, errors.New("transparency: Catalogue and Assets are required")
	}
	h := &handler{src: o.Catalogue, assets: o.Assets, log: o.Logger, pages: map[string]*template.Template{}}
	if h.log == nil {
		h.log = slog.Default()
	}
	for _, page := range []string{"list", "service", "error"} {
		t, err := template.New(page).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/parts.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("transparency: parse %s: %w", page, err)
		}
		h.pages[page] = t
	}
	css, err := fs.ReadFile(files, "assets/trasparenza.css")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	h.css, h.cssTag = css, hex.EncodeToString(sum[:8])

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+listPath, h.list)
	mux.HandleFunc("GET "+listPath+"/{code}", h.service)
	mux.HandleFunc("GET "+listPath+".json", h.json)
	mux.HandleFunc("GET "+listPath+".csv", h.csv)
	mux.HandleFunc("GET "+cssPath, h.stylesheet)
	mux.HandleFunc("GET "+Base, h.notFound)
	h.mux = mux
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// catalogue loads the catalogue the request asks for (?ente=).
func (h *handler) catalogue(r *http.Request) (*catalog.Catalogue, string, error) {
	ente := r.URL.Query().Get("ente")
	if ente != "" && !catalog.ValidCode(ente) {
		return nil, ente, desk.Errorf(desk.ENotFound, "unknown organisation %q", ente)
	}
	cat, err := h.src.PublicCatalogue(r.Context(), ente)
	return cat, ente, err
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	cat, ente, err := h.catalogue(r)
	if err != nil {
		h.fail(w, r, err, false)
		return
	}
	h.render(w, r, "list", newListView(h, cat, ente))
}

func (h *handler) service(w http.ResponseWriter, r *http.Request) {
	cat, ente, err := h.catalogue(r)
	if err != nil {
		h.fail(w, r, err, false)
		return
	}
	s, ok := cat.Service(r.PathValue("code"))
	if !ok || !s.Active {
		h.fail(w, r, desk.Errorf(desk.ENotFound, "unknown service %q", r.PathValue("code")), false)
		return
	}
	h.render(w, r, "service", newServiceView(h, cat, s, ente))
}

func (h *handler) json(w http.ResponseWriter, r *http.Request) {
	cat, _, err := h.catalogue(r)
	if err != nil {
		h.fail(w, r, err, true)
		return
	}
	var b bytes.Buffer
	if err := catalog.JSON(&b, cat); err != nil {
		h.fail(w, r, err, true)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*") // open data
	h.send(w, r, "application/json; charset=utf-8", b.Bytes())
}

func (h *handler) csv(w http.ResponseWriter, r *http.Request) {
	cat, _, err := h.catalogue(r)
	if err != nil {
		h.fail(w, r, err, true)
		return
	}
	var b bytes.Buffer
	if err := catalog.CSV(&b, cat); err != nil {
		h.fail(w, r, err, true)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="procedimenti-%s.csv"`, cat.Organisation.Code))
	h.send(w, r, "text/csv; charset=utf-8", b.Bytes())
}

func (h *handler) stylesheet(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("v") == h.cssTag {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	h.send(w, r, "text/css; charset=utf-8", h.css)
}

func (h *handler) cssURL() string { return cssPath + "?v=" + h.cssTag }

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, desk.Errorf(desk.ENotFound, "page not found"), strings.HasSuffix(r.URL.Path, ".json") || strings.HasSuffix(r.URL.Path, ".csv"))
}

// send writes a body with an ETag, answering 304 when the client has it:
// the catalogue changes rarely and is read often.
func (h *handler) send(w http.ResponseWriter, r *http.Request, ctype string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("ETag", etag)
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

func (h *handler) render(w http.ResponseWriter, r *http.Request, page string, view any) {
	var b bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&b, "layout", view); err != nil {
		h.fail(w, r, fmt.Errorf("render %s: %w", page, err), false)
		return
	}
	w.Header().Set("Content-Security-Policy", csp)
	h.send(w, r, "text/html; charset=utf-8", b.Bytes())
}

// fail answers an error: 404 for what does not exist, else 500 with an id
// that is also logged. Data files get the API's JSON error body.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error, asJSON bool) {
	status, code, msg := http.StatusNotFound, desk.ENotFound, "Pagina non trovata: l'ente o il procedimento richiesto non esiste."
	id := ""
	if !desk.IsNotFound(err) {
		status, code = http.StatusInternalServerError, desk.EInternal
		id = errorID()
		msg = "Si è verificato un errore interno (codice " + id + "). Riprovare più tardi."
		h.log.Error("transparency page failed", "err", err, "error_id", id, "path", r.URL.Path)
	}
	w.Header().Set("Cache-Control", "no-store")
	if asJSON {
		if code == desk.ENotFound {
			msg = desk.ErrorMessage(err)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"code": string(code), "message": msg})
		return
	}
	var b bytes.Buffer
	view := errorView{layoutView: h.layout(nil, "", "Errore"), Status: status, Message: msg}
	if err := h.pages["error"].ExecuteTemplate(&b, "layout", view); err != nil {
		h.log.Error("transparency error page failed", "err", err)
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func errorID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// withEnte appends ?ente= to a path when a non-default organisation is shown.
func withEnte(path, ente string) string {
	if ente == "" {
		return path
	}
	return path + "?ente=" + url.QueryEscape(ente)
}

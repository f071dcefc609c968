// Package web serves Sportello's pages: the public portal home, log-in, the
// requesters' portal (open, follow, answer and confirm requests), the agents'
// workspace (queues, ticket list, the ticket page with one timeline, phone
// and in-person registration) and the accessibility statement with its
// feedback form.
//
// Pages are server-rendered with html/template from embedded files, one
// typed view struct per page, and work without JavaScript; htmx and
// js/sportello.js only enhance them (caller lookup as you type, keyboard
// navigation, live notices). Every rule about who may see or do what is the
// desk's: handlers translate forms into desk calls and desk errors into
// pages, and never decide visibility themselves.
//
// Sessions are kept in the database (see sessions.go), so replicas are
// stateless. State-changing requests are protected against cross-site
// request forgery by net/http's CrossOriginProtection (Fetch metadata and
// Origin checks) together with SameSite=Lax session cookies.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/guard"
	"github.com/sportello/sportello/internal/httpstatus"
	"github.com/sportello/sportello/internal/identity"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/web/static"
)

// Opts configures the web UI.
type Opts struct {
	// Desk is the domain every page calls. Required.
	Desk *desk.Desk
	// DB holds the sessions (table web_sessions). Required.
	DB *store.DB
	// Assets are the embedded static files; static.New() when nil.
	Assets *static.Assets
	// Logger receives errors with the ID shown to the user; slog.Default when nil.
	Logger *slog.Logger
	// Key is the installation's secret; session tokens are stored as an
	// HMAC under it. Required (at least 16 bytes).
	Key []byte
	// Dev reads templates from disk at every request (TemplateDir) so that
	// edits show without a rebuild.
	Dev bool
	// SecureCookies marks the session cookie Secure (serve over HTTPS).
	SecureCookies bool
	// Throttle slows password guessing (guard.NewLoginThrottle when nil);
	// other log-in handlers (LDAP, OIDC) should use it too.
	Throttle *guard.LoginThrottle
	// Proxies are the trusted reverse proxies, to find client addresses.
	Proxies guard.Proxies

	// TemplateDir is where Dev reads templates from; by default
	// internal/web/templates under the working directory.
	TemplateDir string
	// Portal is what the home page says about the desk's channels; zero
	// values are simply not shown.
	Portal PortalInfo
	// MaxUpload bounds a form post with attachments in bytes (default
	// desk.DefaultAttachment plus 1 MiB for the other fields).
	MaxUpload int64
	// Workflow runs services' phases, approval gates, supplier calls and
	// the verification with the requester; optional (see Workflow).
	Workflow Workflow
	// SessionLifetime is the absolute lifetime of a log-in (default 12 h).
	SessionLifetime time.Duration
	// LivePoll is how often a live-update stream polls the database
	// (default 2 s); LiveMax bounds one stream's life (default 60 s; the
	// browser reconnects).
	LivePoll, LiveMax time.Duration
	// LDAP, when set, checks log-in form passwords against the directory
	// before local accounts; SSO are the OpenID Connect providers offered
	// as "Accedi con …" buttons (see sso.go).
	LDAP *identity.LDAP
	SSO  []*identity.OIDC
	// PEC, when set, shows the PEC channel on the ticket page
	// (certification data, evidence, delivery per recipient, alerts).
	PEC api.PECService
	// Mail administers mailboxes, routing rules, addresses and the office
	// directory (*mail.Admin); Catalogue the services (*workflow.Engine).
	// Optional: without them those administration pages say so.
	Mail      MailAdmin
	Catalogue CatalogueAdmin
}

// PortalInfo describes the desk's channels for the portal home page, like
// the "benvenuto" page of the national desk.
type PortalInfo struct {
	// Name is the desk's name, e.g. "Service Desk BDNA"; default "Sportello".
	Name string
	// Org is the administration's name shown in the header; default the
	// default organisation's name.
	Org string
	// Email is the desk's address; EmailSubjectHint tells what the subject
	// must carry (e.g. "BDNA").
	Email, EmailSubjectHint string
	// PEC is the desk's certified mailbox, if any.
	PEC string
	// Phones are the desk's phone numbers with their hours.
	Phones []Phone
	// ManualURL links to the user manual.
	ManualURL string
}

// Phone is a number of the desk with a label (hours, purpose).
type Phone struct {
	Number, Label string
}

// Web is the http.Handler of every page route.
type Web struct {
	desk      *desk.Desk
	workflow  Workflow
	db        *store.DB
	assets    *static.Assets
	log       *slog.Logger
	dev       bool
	tmplDir   string
	tmpl      *templates
	sessions  *scs.SessionManager
	portal    PortalInfo
	maxUpload int64
	livePoll  time.Duration
	liveMax   time.Duration
	rome      *time.Location
	ldap      *identity.LDAP
	sso       []*identity.OIDC
	pec       api.PECService
	mail      MailAdmin
	catalogue CatalogueAdmin

	throttle *guard.LoginThrottle
	proxies  guard.Proxies

	mux       *http.ServeMux
	handler   http.Handler
	routeList []string

	// done is closed by Close: live streams end and no more start.
	done      chan struct{}
	closeOnce sync.Once

	orgMu   sync.Mutex
	orgName string
	orgAt   time.Time
}

// New builds the web UI, parsing and checking every template.
func New(o Opts) (*Web, error) {
	if o.Desk == nil || o.DB == nil {
		return nil, errors.New("web: Desk and DB are required")
	}
	if len(o.Key) < 16 {
		return nil, errors.New("web: Key must be the installation secret (at least 16 bytes)")
	}
	w := &Web{desk: o.Desk, workflow: o.Workflow, db: o.DB, assets: o.Assets, log: o.Logger, dev: o.Dev, portal: o.Portal,
		maxUpload: o.MaxUpload, livePoll: o.LivePoll, liveMax: o.LiveMax, done: make(chan struct{}), pec: o.PEC,
		mail: o.Mail, catalogue: o.Catalogue, ldap: o.LDAP, sso: o.SSO, throttle: o.Throttle, proxies: o.Proxies}
	if w.throttle == nil {
		w.throttle = guard.NewLoginThrottle()
	}
	if w.assets == nil {
		a, err := static.New()
		if err != nil {
			return nil, fmt.Errorf("web: assets: %w", err)
		}
		w.assets = a
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.maxUpload <= 0 {
		w.maxUpload = desk.DefaultAttachment + 1<<20
	}
	if w.livePoll <= 0 {
		w.livePoll = 2 * time.Second
	}
	if w.liveMax <= 0 {
		w.liveMax = 60 * time.Second
	}
	if loc, err := time.LoadLocation("Europe/Rome"); err == nil {
		w.rome = loc
	} else {
		w.rome = time.UTC
	}
	if o.Dev {
		w.tmplDir = o.TemplateDir
		if w.tmplDir == "" {
			w.tmplDir = "internal/web/templates"
		}
		if _, err := os.Stat(w.tmplDir); err != nil {
			w.log.Warn("web: dev templates directory not found; using the embedded templates", "dir", w.tmplDir)
			w.tmplDir = ""
		}
	}
	var err error
	if w.tmpl, err = loadTemplates(w.templateFS()); err != nil {
		return nil, err
	}
	w.sessions = newSessionManager(o.DB, o.Key, o.SecureCookies, o.SessionLifetime, w.log)
	w.mux = http.NewServeMux()
	w.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(w.crossOriginDenied))
	w.handler = cop.Handler(w.sessions.LoadAndSave(w.withUser(w.mux)))
	return w, nil
}

// ServeHTTP implements http.Handler. Static files bypass sessions.
func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, static.Prefix) {
		w.assets.Handler().ServeHTTP(rw, r)
		return
	}
	setPageHeaders(rw.Header())
	w.handler.ServeHTTP(rw, r)
}

// Close ends the live-update streams (call it when the server shuts down,
// e.g. from http.Server.RegisterOnShutdown, so that Shutdown need not wait
// for them).
func (w *Web) Close() error {
	w.closeOnce.Do(func() { close(w.done) })
	return nil
}

// CSP is the Content-Security-Policy of every page: no inline scripts or
// styles anywhere. font-src needs data: for the icon font embedded in
// Bootstrap Italia's CSS.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; " +
	"frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// access says who may open a route.
type access int

const (
	public    access = iota // anyone
	signedIn                // any signed-in user
	staffOnly               // agents, approvers, administrators
)

// handlerFunc is a page handler; a returned error is shown as an error
// page (see fail).
type handlerFunc func(rw http.ResponseWriter, r *http.Request, c *reqCtx) error

// routes is the one route table of the pages.
func (w *Web) routes() {
	h := func(pattern string, acc access, fn handlerFunc) {
		w.routeList = append(w.routeList, pattern)
		w.mux.Handle(pattern, w.page(acc, fn))
	}

	// Public.
	h("GET /{$}", public, w.home)
	h("GET /login", public, w.loginForm)
	h("POST /login", public, w.login)
	h("GET /login/sso/{id}", public, w.ssoStart)
	h("GET /login/sso/{id}/callback", public, w.ssoCallback)
	h("GET /logout", public, w.logoutForm)
	h("POST /logout", public, w.logout)
	h("GET /lingua/{lang}", public, w.setLanguage)
	h("GET /accessibilita", public, w.accessibility)
	h("POST /accessibilita", public, w.accessibilityFeedback)

	// Portal (requesters; staff may use it for their own requests).
	h("GET /richieste", signedIn, w.myRequests)
	h("GET /richieste/nuova", signedIn, w.newRequestForm)
	h("POST /richieste/nuova", signedIn, w.newRequest)
	h("GET /richieste/{number}", signedIn, w.request)
	h("POST /richieste/{number}/risposta", signedIn, w.requestReply)
	h("POST /richieste/{number}/conferma", signedIn, w.requestConfirm)
	h("POST /richieste/{number}/riapri", signedIn, w.requestReopen)
	h("GET /richieste/{number}/allegati/{id}", signedIn, w.attachment)
	h("GET /richieste/{number}/aggiornamenti", signedIn, w.live)

	// Agent workspace.
	h("GET /operatore", staffOnly, w.workspace)
	h("GET /operatore/approvazioni", staffOnly, w.approvals)
	h("POST /operatore/viste", staffOnly, w.saveView)
	h("POST /operatore/viste/{id}/elimina", staffOnly, w.deleteView)
	h("GET /operatore/chiamata", staffOnly, w.callForm)
	h("POST /operatore/chiamata", staffOnly, w.call)
	h("GET /operatore/persone", staffOnly, w.people)
	h("GET /operatore/ticket/{number}", staffOnly, w.ticket)
	h("POST /operatore/ticket/{number}/messaggi", staffOnly, w.ticketMessage)
	h("POST /operatore/ticket/{number}/stato", staffOnly, w.ticketStatus)
	h("POST /operatore/ticket/{number}/campi", staffOnly, w.ticketFields)
	h("POST /operatore/ticket/{number}/dati", staffOnly, w.ticketSetFields)
	h("POST /operatore/ticket/{number}/assegna", staffOnly, w.ticketAssign)
	h("POST /operatore/ticket/{number}/escala", staffOnly, w.ticketEscalate)
	h("POST /operatore/ticket/{number}/collega", staffOnly, w.ticketLink)
	h("POST /operatore/ticket/{number}/unisci", staffOnly, w.ticketMerge)
	h("POST /operatore/ticket/{number}/fasi/{action}", staffOnly, w.phaseAction)
	h("GET /operatore/ticket/{number}/allegati/{id}", staffOnly, w.attachment)
	h("GET /operatore/ticket/{number}/posta/{id}", staffOnly, w.mailPage)
	h("GET /operatore/ticket/{number}/posta/{id}/html", staffOnly, w.mailFrame)
	h("GET /operatore/ticket/{number}/aggiornamenti", staffOnly, w.live)
	h("GET /operatore/ticket/{number}/pec/{id}", staffOnly, w.pecEvidence)

	// Administration and dashboards (admin.go).
	w.adminRoutes(h)

	// Everything else under this handler is a page that does not exist.
	h("/", public, func(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
		return desk.Errorf(desk.ENotFound, "no page at %s", r.URL.Path)
	})
}

// Routes returns the pattern of every page route ("GET /richieste"…), so
// that the authorisation matrix test can cover each one.
func (w *Web) Routes() []string { return append([]string{}, w.routeList...) }

// page wraps a handler with the access check and error rendering.
func (w *Web) page(acc access, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c := w.newReqCtx(rw, r)
		switch {
		case acc >= signedIn && c.User == nil:
			w.toLogin(rw, r)
			return
		case acc == staffOnly && !c.Actor.IsStaff():
			rw.Header().Set("Cache-Control", "no-store")
			w.renderError(rw, r, c, http.StatusForbidden, "")
			return
		}
		if c.User != nil {
			rw.Header().Set("Cache-Control", "no-store")
		}
		if err := fn(rw, r, c); err != nil {
			w.fail(rw, r, c, err)
		}
	})
}

// toLogin sends an anonymous visitor of a private page to the log-in page,
// remembering where they were going.
func (w *Web) toLogin(rw http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = r.URL.Path
	}
	http.Redirect(rw, r, "/login?next="+urlQueryEscape(next), http.StatusSeeOther)
}

func (w *Web) crossOriginDenied(rw http.ResponseWriter, r *http.Request) {
	setPageHeaders(rw.Header())
	c := &reqCtx{Lang: langFrom(r)}
	w.renderError(rw, r, c, http.StatusForbidden, "error.crossorigin")
}

// fail renders err as an error page: domain codes map to HTTP statuses
// here, in one place; internal errors are logged with an ID the user sees.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, c *reqCtx, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		w.renderError(rw, r, c, http.StatusRequestEntityTooLarge, "")
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	code := desk.ErrorCode(err)
	st := httpstatus.Of(code)
	id := ""
	if st >= 500 {
		id = errorID()
		w.log.Error("web: request failed", "id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.renderErrorID(rw, r, c, st, "", id)
}

// orgDisplayName returns the name shown in the header: the configured one,
// or the default organisation's (cached for a minute).
func (w *Web) orgDisplayName(ctx context.Context) string {
	if w.portal.Org != "" {
		return w.portal.Org
	}
	w.orgMu.Lock()
	defer w.orgMu.Unlock()
	if w.orgName != "" && time.Since(w.orgAt) < time.Minute {
		return w.orgName
	}
	err := w.desk.Store().View(ctx, func(tx desk.Tx) error {
		o, err := desk.DefaultOrg(ctx, tx)
		if err == nil {
			w.orgName, w.orgAt = o.Name, time.Now()
		}
		return err
	})
	if err != nil && w.orgName == "" {
		return ""
	}
	return w.orgName
}

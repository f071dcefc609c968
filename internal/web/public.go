package web

import (
	"net/http"
	"strings"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/guard"
)

// maxFormBody bounds url-encoded forms (everything but uploads).
const maxFormBody = 256 << 10

// parseForm reads a url-encoded form within maxFormBody.
func parseForm(rw http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(rw, r.Body, maxFormBody)
	return r.ParseForm()
}

type homeView struct {
	Page
	Portal    PortalInfo
	LoggedOut bool
}

func (w *Web) home(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p := w.newPage(r, c, "home")
	p.Title = p.T("home.title")
	w.render(rw, r, http.StatusOK, "home", &homeView{Page: p, Portal: w.portal, LoggedOut: r.URL.Query().Has("uscito")})
	return nil
}

type loginView struct {
	Page
	Email string
	Next  string
	Error string
	// SSO lists OpenID Connect buttons; LDAP asks for a username or e-mail.
	SSO  []ssoButton
	LDAP bool
}

func (w *Web) loginForm(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	next := localPath(r.URL.Query().Get("next"))
	if c.User != nil {
		redirect(rw, r, w.landing(c.Actor, next))
		return nil
	}
	p := w.newPage(r, c, "login")
	p.Title = p.T("login.title")
	w.render(rw, r, http.StatusOK, "login", &loginView{Page: p, Next: next, SSO: w.ssoButtons(), LDAP: w.ldap != nil})
	return nil
}

// landing is where a user goes after logging in: the page they were going
// to, else the portal for requesters and the workspace for staff.
func (w *Web) landing(a desk.Actor, next string) string {
	switch next {
	case "", "/login", "/logout":
		if a.IsStaff() {
			return "/operatore"
		}
		return "/richieste"
	}
	return next
}

func (w *Web) login(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	next := localPath(r.PostForm.Get("next"))
	addr := w.proxies.ClientIP(r)
	if wait := w.throttle.Check(email, addr); wait > 0 {
		// Refused before the password is checked, with the same answer
		// whether the account exists or not.
		w.log.Warn("web: log-in throttled", "addr", addr, "retry_after", guard.RetryAfter(wait))
		rw.Header().Set("Retry-After", guard.RetryAfter(wait))
		p := w.newPage(r, c, "login")
		p.Title = p.T("login.title")
		mins := int(wait.Minutes()) + 1
		w.render(rw, r, http.StatusTooManyRequests, "login", &loginView{Page: p, Email: email, Next: next, Error: p.T("login.throttled", mins), SSO: w.ssoButtons(), LDAP: w.ldap != nil})
		return nil
	}
	u, err := w.authenticate(r, email, r.PostForm.Get("password"))
	if err != nil {
		if desk.ErrorCode(err) != desk.EUnauthorized {
			return err
		}
		w.throttle.Failed(email, addr)
		p := w.newPage(r, c, "login")
		p.Title = p.T("login.title")
		// One message whatever went wrong: it must not tell whether the
		// account exists.
		w.render(rw, r, http.StatusUnauthorized, "login", &loginView{Page: p, Email: email, Next: next, Error: p.T(loginFailedKey(err)), SSO: w.ssoButtons(), LDAP: w.ldap != nil})
		return nil
	}
	// A new token at every log-in, so that a token planted before it
	// (session fixation) is worth nothing afterwards.
	if err := w.startSession(r.Context(), u); err != nil {
		return err
	}
	w.throttle.Succeeded(email)
	redirect(rw, r, w.landing(desk.ActorFor(u), next))
	return nil
}

type logoutView struct{ Page }

func (w *Web) logoutForm(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if c.User == nil {
		redirect(rw, r, "/")
		return nil
	}
	p := w.newPage(r, c, "")
	p.Title = p.T("logout.title")
	w.render(rw, r, http.StatusOK, "logout", &logoutView{Page: p})
	return nil
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := w.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	redirect(rw, r, "/?uscito=1")
	return nil
}

type accessibilityView struct {
	Page
	Sent   bool
	Form   map[string]string
	Errors map[string]string
}

func (w *Web) accessibility(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p := w.newPage(r, c, "accessibility")
	p.Title = p.T("a11y.title")
	v := &accessibilityView{Page: p, Sent: r.URL.Query().Has("inviata"), Form: map[string]string{}}
	if c.User != nil {
		v.Form["email"], v.Form["name"] = c.User.Email, c.User.Name
	}
	v.Form["page"] = localPath(r.URL.Query().Get("pagina"))
	w.render(rw, r, http.StatusOK, "accessibility", v)
	return nil
}

// accessibilityFeedback records a report of an accessibility problem as a
// request to the desk (AgID requires a feedback mechanism next to the
// statement); anyone may send one.
func (w *Web) accessibilityFeedback(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := map[string]string{}
	for _, k := range []string{"name", "email", "page", "text"} {
		f[k] = strings.TrimSpace(r.PostForm.Get(k))
	}
	errs := map[string]string{}
	lang := c.Lang
	if !desk.ValidEmail(desk.NormEmail(f["email"])) {
		errs["email"] = translate(lang, "form.email.invalid")
	}
	if f["text"] == "" {
		errs["text"] = translate(lang, "a11y.text.required")
	}
	if len(errs) == 0 {
		desc := f["text"]
		if f["page"] != "" {
			desc = translate("it", "a11y.ticket.page", f["page"]) + "\n\n" + desc
		}
		actor := desk.SystemActor
		if c.User != nil {
			actor = c.Actor
		}
		_, err := w.desk.CreateTicket(r.Context(), actor, desk.NewTicket{
			Subject:     translate("it", "a11y.ticket.subject"),
			Description: desc,
			Channel:     desk.ChannelWeb,
			Requester:   desk.Contact{Email: f["email"], Name: f["name"]},
		})
		if err == nil {
			redirect(rw, r, "/accessibilita?inviata=1#segnalazione")
			return nil
		}
		field, msg, ok := formError(lang, err)
		if !ok {
			return err
		}
		if field == "requester.email" {
			field = "email"
		} else if field != "email" {
			field = "text"
		}
		errs[field] = msg
	}
	p := w.newPage(r, c, "accessibility")
	p.Title = p.T("a11y.title")
	w.render(rw, r, http.StatusUnprocessableEntity, "accessibility", &accessibilityView{Page: p, Form: f, Errors: errs})
	return nil
}

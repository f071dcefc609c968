package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/identity"
)

// External sign-in: LDAP / Active Directory passwords go through the same
// log-in form as local accounts (authenticate); OpenID Connect providers
// get an "Accedi con …" button that starts the authorization-code flow with
// PKCE (ssoStart) and a callback that checks state and nonce and signs the
// person in like a local log-in, with a new session token (ssoCallback).
// Who the person is and what they may do is decided by the desk
// (desk.SignInExternal) from what identity's mapping made of their groups
// or claims.

// Session keys of an OpenID Connect sign-in in progress.
const (
	sessSSOProvider = "sso_provider"
	sessSSOState    = "sso_state"
	sessSSONonce    = "sso_nonce"
	sessSSOVerifier = "sso_verifier"
	sessSSONext     = "sso_next"
)

func init() {
	for k, v := range map[string]texts{
		"login.sso":         {"Accedi con %s", "Sign in with %s"},
		"login.sso.or":      {"oppure", "or"},
		"login.sso.failed":  {"L'accesso tramite il fornitore di identità non è riuscito. Riprova o accedi con le tue credenziali.", "Signing in through the identity provider failed. Try again or log in with your credentials."},
		"login.sso.refused": {"Il tuo account non è abilitato all'accesso a questo servizio. Rivolgiti all'amministratore.", "Your account may not use this service. Please contact the administrator."},
		"login.username":    {"Nome utente o indirizzo e-mail", "Username or e-mail address"},
		"login.lead.ldap":   {"Usa le credenziali di rete del tuo ente (nome utente o e-mail e password).", "Use your organisation's network credentials (username or e-mail and password)."},
	} {
		catalogue[k] = v
	}
}

// errAccountRefused marks a directory account whose password was right but
// which the desk refuses (no mapped group, disabled, no e-mail).
var errAccountRefused = errors.New("account refused")

// loginFailedKey is the message of a failed log-in form.
func loginFailedKey(err error) string {
	if errors.Is(err, errAccountRefused) {
		return "login.sso.refused"
	}
	return "login.failed"
}

// ssoButton is an OpenID Connect provider as the log-in page shows it.
type ssoButton struct{ ID, Label string }

func (w *Web) ssoButtons() []ssoButton {
	var out []ssoButton
	for _, p := range w.sso {
		out = append(out, ssoButton{ID: p.ID(), Label: p.Label()})
	}
	return out
}

func (w *Web) ssoProvider(id string) *identity.OIDC {
	for _, p := range w.sso {
		if p.ID() == id {
			return p
		}
	}
	return nil
}

// remoteAddr is the client's address for the audit log.
func remoteAddr(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// authenticate checks the log-in form: against the directory first when
// LDAP is configured; people the directory does not know (administrators'
// break-glass accounts, requesters registered by the desk), or everyone
// while the directory is unreachable, against local accounts. Every failure
// is the same EUnauthorized error.
func (w *Web) authenticate(r *http.Request, login, password string) (desk.User, error) {
	ctx := r.Context()
	if w.ldap != nil {
		in, err := w.ldap.Authenticate(ctx, login, password)
		if err == nil {
			in.Remote = remoteAddr(r)
			u, err := w.desk.SignInExternal(ctx, in)
			if err == nil {
				return u, nil
			}
			if desk.ErrorCode(err) != desk.EUnauthorized {
				return desk.User{}, err
			}
			w.desk.ExternalSignInFailed(ctx, identity.SourceLDAP, login, desk.ErrorMessage(err), remoteAddr(r))
			// The password was right: say that the account may not enter,
			// rather than that the password was wrong.
			return desk.User{}, &desk.Error{Code: desk.EUnauthorized, Message: desk.ErrorMessage(err), Err: errAccountRefused}
		}
		switch {
		case errors.Is(err, identity.ErrNoSuchPerson):
			// Not in the directory: maybe a local account.
		case desk.ErrorCode(err) == desk.EUnauthorized:
			// The directory knows the person: it alone decides.
			w.desk.ExternalSignInFailed(ctx, identity.SourceLDAP, login, "wrong password", remoteAddr(r))
			return desk.User{}, err
		default:
			// The directory is unreachable: local accounts still work.
			w.log.Error("web: LDAP sign-in unavailable", "err", err)
		}
	}
	return w.desk.Authenticate(ctx, login, password)
}

// ssoStart sends the browser to the identity provider.
func (w *Web) ssoStart(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p := w.ssoProvider(r.PathValue("id"))
	if p == nil {
		return desk.Errorf(desk.ENotFound, "unknown identity provider")
	}
	next := localPath(r.URL.Query().Get("next"))
	if c.User != nil {
		redirect(rw, r, w.landing(c.Actor, next))
		return nil
	}
	f := identity.NewFlow()
	u, err := p.AuthURL(r.Context(), f)
	if err != nil {
		w.log.Error("web: identity provider unavailable", "provider", p.ID(), "err", err)
		return w.ssoFailed(rw, r, c, "login.sso.failed", http.StatusBadGateway)
	}
	ctx := r.Context()
	w.sessions.Put(ctx, sessSSOProvider, p.ID())
	w.sessions.Put(ctx, sessSSOState, f.State)
	w.sessions.Put(ctx, sessSSONonce, f.Nonce)
	w.sessions.Put(ctx, sessSSOVerifier, f.Verifier)
	w.sessions.Put(ctx, sessSSONext, next)
	http.Redirect(rw, r, u, http.StatusSeeOther)
	return nil
}

// ssoCallback completes the sign-in: the state must be the one this
// browser's session started with (no login CSRF), and it can be used once.
func (w *Web) ssoCallback(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	p := w.ssoProvider(r.PathValue("id"))
	if p == nil {
		return desk.Errorf(desk.ENotFound, "unknown identity provider")
	}
	f := identity.Flow{State: w.sessions.PopString(ctx, sessSSOState), Nonce: w.sessions.PopString(ctx, sessSSONonce),
		Verifier: w.sessions.PopString(ctx, sessSSOVerifier)}
	provider := w.sessions.PopString(ctx, sessSSOProvider)
	next := w.sessions.PopString(ctx, sessSSONext)
	q := r.URL.Query()
	state := q.Get("state")
	if f.State == "" || provider != p.ID() || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1 {
		w.desk.ExternalSignInFailed(ctx, p.Source(), "", "callback with an unknown or reused state", remoteAddr(r))
		return w.ssoFailed(rw, r, c, "login.sso.failed", http.StatusBadRequest)
	}
	if e := q.Get("error"); e != "" {
		w.desk.ExternalSignInFailed(ctx, p.Source(), "", "provider error: "+truncate(e, 100), remoteAddr(r))
		return w.ssoFailed(rw, r, c, "login.sso.failed", http.StatusUnauthorized)
	}
	in, err := p.Exchange(ctx, f, q.Get("code"))
	if err != nil {
		if desk.ErrorCode(err) != desk.EUnauthorized {
			w.log.Error("web: OpenID Connect exchange", "provider", p.ID(), "err", err)
		}
		w.desk.ExternalSignInFailed(ctx, p.Source(), "", desk.ErrorMessage(err), remoteAddr(r))
		return w.ssoFailed(rw, r, c, "login.sso.failed", http.StatusUnauthorized)
	}
	in.Remote = remoteAddr(r)
	u, err := w.desk.SignInExternal(ctx, in)
	if err != nil {
		if desk.ErrorCode(err) != desk.EUnauthorized {
			return err
		}
		w.desk.ExternalSignInFailed(ctx, p.Source(), in.Email, desk.ErrorMessage(err), remoteAddr(r))
		return w.ssoFailed(rw, r, c, "login.sso.refused", http.StatusForbidden)
	}
	if err := w.startSession(ctx, u); err != nil {
		return err
	}
	redirect(rw, r, w.landing(desk.ActorFor(u), next))
	return nil
}

// startSession signs u in with a new session token (no session fixation).
func (w *Web) startSession(ctx context.Context, u desk.User) error {
	if err := w.sessions.RenewToken(ctx); err != nil {
		return err
	}
	w.sessions.Put(ctx, sessUserID, u.ID)
	w.log.Info("web: log-in", "user", u.ID)
	return nil
}

func (w *Web) ssoFailed(rw http.ResponseWriter, r *http.Request, c *reqCtx, key string, status int) error {
	p := w.newPage(r, c, "login")
	p.Title = p.T("login.title")
	w.render(rw, r, status, "login", &loginView{Page: p, Error: p.T(key), SSO: w.ssoButtons(), LDAP: w.ldap != nil})
	return nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

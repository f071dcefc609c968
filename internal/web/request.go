package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/sportello/sportello/internal/desk"
)

// reqCtx is what a handler knows about the request: who is asking, in
// which language, and the flash message left by the previous request.
type reqCtx struct {
	Lang  string
	User  *desk.User
	Actor desk.Actor
	Flash string
}

// LangCookie remembers the language chosen with the switch.
const LangCookie = "sportello_lang"

func langFrom(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "it"
}

func (w *Web) newReqCtx(rw http.ResponseWriter, r *http.Request) *reqCtx {
	c := &reqCtx{Lang: langFrom(r)}
	if u, ok := r.Context().Value(userKey{}).(*desk.User); ok && u != nil {
		c.User = u
		c.Actor, _ = r.Context().Value(actorKey{}).(desk.Actor)
		// Only signed-in users have flashes: anonymous visitors get no
		// session row for them.
		if w.sessions.Exists(r.Context(), sessFlash) {
			c.Flash = w.sessions.PopString(r.Context(), sessFlash)
		}
	}
	return c
}

// newPage fills the part of a view that the layout needs.
func (w *Web) newPage(r *http.Request, c *reqCtx, nav string) Page {
	p := Page{Lang: c.Lang, Path: r.URL.RequestURI(), Nav: nav, User: c.User, Staff: c.User != nil && c.Actor.IsStaff(),
		Flash: c.Flash, OrgName: w.orgDisplayName(r.Context()), Desk: w.portal.Name,
		assets: w.assets, loc: w.rome, missing: len(w.assets.Missing()) > 0}
	if p.Desk == "" {
		p.Desk = "Sportello"
	}
	return p
}

// flash leaves a message for the next page the user sees.
func (w *Web) flash(r *http.Request, c *reqCtx, key string, args ...any) {
	if c.User == nil {
		return
	}
	w.sessions.Put(r.Context(), sessFlash, translate(c.Lang, key, args...))
}

// redirect answers a form post with 303 See Other.
func redirect(rw http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(rw, r, to, http.StatusSeeOther)
}

// localPath returns next when it is a path on this site (never another
// host, scheme or protocol-relative URL), else "".
func localPath(next string) string {
	if next == "" || len(next) > 2000 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return u.RequestURI()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// setLanguage switches the interface language and goes back.
func (w *Web) setLanguage(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	lang := r.PathValue("lang")
	if lang != "it" && lang != "en" {
		return desk.Errorf(desk.ENotFound, "unknown language")
	}
	http.SetCookie(rw, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.sessions.Cookie.Secure})
	next := localPath(r.URL.Query().Get("next"))
	if next == "" {
		next = "/"
	}
	redirect(rw, r, next)
	return nil
}

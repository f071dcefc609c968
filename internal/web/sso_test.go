package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	opstorage "github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/identity"
)

// ssoSetup runs a real OpenID provider — the example OP of the zitadel/oidc
// library, with its own log-in page — and the web UI configured to use it.
type ssoSetup struct {
	h        *harness
	op       *httptest.Server
	provider *identity.OIDC
}

func newSSO(t *testing.T) *ssoSetup {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	users := map[string]any{
		"u-vera": map[string]any{"ID": "u-vera", "Username": "vera", "Password": "Segreta-di-Vera-1", "FirstName": "Vera", "LastName": "Verdi",
			"Email": "vera.verdi@altro.example.it", "EmailVerified": true, "PreferredLanguage": "it"},
		"u-ugo": map[string]any{"ID": "u-ugo", "Username": "ugo", "Password": "Segreta-di-Ugo-1", "FirstName": "Ugo", "LastName": "Utente",
			"Email": "utente@example.it", "EmailVerified": true, "PreferredLanguage": "it"},
		"u-eve": map[string]any{"ID": "u-eve", "Username": "eve", "Password": "Segreta-di-Eve-1", "FirstName": "Eve", "LastName": "Esterna",
			"Email": "eve@esterno.example.org", "EmailVerified": true, "PreferredLanguage": "it"},
	}
	b, _ := json.Marshal(users)
	file := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	us, err := opstorage.StoreFromFile(file)
	if err != nil {
		t.Fatal(err)
	}
	roles, _ := identity.ParseRules("preferred_username:vera => agent", true)
	orgs, _ := identity.ParseRules("email_domain:altro.example.it => altro-ente", false)
	p, err := identity.NewOIDC(identity.OIDCConfig{Label: "Identità regionale", Issuer: issuer, ClientID: "sportello-test", ClientSecret: "segreto-del-client",
		Mapping: identity.Mapping{Roles: roles, Orgs: orgs, DefaultRole: desk.RoleRequester}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Opts) { o.SSO = []*identity.OIDC{p} })
	redirect := h.srv.URL + "/login/sso/oidc/callback"
	p.SetRedirectURL(redirect)
	opstorage.RegisterClients(opstorage.WebClient("sportello-test", "segreto-del-client", redirect))
	// The example provider logs every request through slog's default logger.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	op := httptest.NewUnstartedServer(exampleop.SetupServer(issuer, opstorage.NewStorage(us), nil, false))
	op.Listener.Close()
	op.Listener = ln
	op.Start()
	t.Cleanup(op.Close)
	return &ssoSetup{h: h, op: op, provider: p}
}

var opAuthID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// signIn drives the whole code flow as a browser would: the button, the
// provider's log-in form, the callback. It returns the last response and
// the callback URL the provider sent the browser to.
func (s *ssoSetup) signIn(t *testing.T, c *http.Client, user, password string) (*http.Response, string, string) {
	t.Helper()
	var callback string
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), s.h.srv.URL+"/login/sso/oidc/callback") {
			callback = req.URL.String()
		}
		return nil
	}
	resp, err := c.Get(s.h.srv.URL + "/login/sso/oidc?next=/richieste/nuova")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), s.op.URL+"/login/username") {
		t.Fatalf("not at the provider's log-in page: %s", resp.Request.URL)
	}
	if q := resp.Request.URL.Query(); q.Get("authRequestID") == "" {
		t.Fatalf("no auth request id: %s", resp.Request.URL)
	}
	m := opAuthID.FindSubmatch(page)
	if m == nil {
		t.Fatalf("provider log-in page without request id:\n%s", page)
	}
	resp, err = c.PostForm(s.op.URL+"/login/username", url.Values{"id": {string(m[1])}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, callback, string(body)
}

func newBrowser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func sessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	return ""
}

func TestOIDCSignIn(t *testing.T) {
	s := newSSO(t)
	ctx := context.Background()

	// The log-in page offers the provider.
	c := newBrowser(t)
	resp, err := c.Get(s.h.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `href="/login/sso/oidc"`) || !strings.Contains(string(page), "Accedi con Identità regionale") {
		t.Fatalf("no SSO button on the log-in page:\n%s", page)
	}

	// Vera is new to the desk: her account is provisioned as an agent of
	// the organisation her e-mail domain maps to, and she lands where she
	// was going, signed in with a session token issued after the flow.
	resp, callback, body := s.signIn(t, c, "vera", "Segreta-di-Vera-1")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/richieste/nuova" {
		t.Fatalf("ended at %s (%d):\n%s", resp.Request.URL, resp.StatusCode, body)
	}
	if !strings.Contains(body, "Vera Verdi") {
		t.Fatalf("the page does not show the signed-in user:\n%s", body)
	}
	u, err := s.h.f.Desk.SignInExternal(ctx, desk.ExternalSignIn{}) // invalid on purpose: must not create anything
	if err == nil || u.ID != 0 {
		t.Fatalf("empty sign-in accepted: %+v", u)
	}
	var vera desk.User
	var ids []desk.ExternalIdentity
	err = s.h.f.DB.View(ctx, func(tx desk.Tx) error {
		var err error
		if vera, err = tx.UserByEmail(ctx, "vera.verdi@altro.example.it"); err != nil {
			return err
		}
		o, err := tx.OrgByID(ctx, vera.OrgID)
		if err != nil || o.Code != "altro-ente" {
			t.Errorf("organisation %+v %v", o, err)
		}
		ids, err = tx.ExternalIdentities(ctx, vera.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if vera.Role != desk.RoleAgent || vera.Name != "Vera Verdi" || len(ids) != 1 || ids[0].Subject != "u-vera" || ids[0].Source != s.provider.Source() {
		t.Fatalf("provisioned %+v %+v", vera, ids)
	}

	// The callback cannot be replayed: its state was used up.
	if callback == "" || !strings.Contains(callback, "code=") || !strings.Contains(callback, "state=") {
		t.Fatalf("callback %q", callback)
	}
	resp, err = c.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", resp.StatusCode)
	}

	// Ugo already has a local account (same e-mail): he is signed in as
	// himself, a requester, and the session token changed at sign-in.
	c2 := newBrowser(t)
	resp, err = c2.Get(s.h.srv.URL + "/login/sso/oidc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	before := sessionCookie(c2, s.h.srv.URL)
	if before == "" {
		t.Fatal("no session cookie while the flow is in progress")
	}
	resp, _, body = s.signIn(t, c2, "ugo", "Segreta-di-Ugo-1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Ugo Utente") {
		t.Fatalf("ugo ended at %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	if after := sessionCookie(c2, s.h.srv.URL); after == "" || after == before {
		t.Fatal("the session token was not renewed at sign-in")
	}
	var ugo desk.User
	_ = s.h.f.DB.View(ctx, func(tx desk.Tx) error { ugo, err = tx.UserByEmail(ctx, "utente@example.it"); return err })
	if ugo.Role != desk.RoleRequester || ugo.ID != s.h.f.Requester.UserID {
		t.Fatalf("ugo %+v", ugo)
	}
	ok, err := s.h.f.Desk.AuditLog(ctx, s.h.f.Admin, desk.AuditFilter{Action: desk.AuditLoginOK, ActorID: ugo.ID})
	if err != nil || len(ok) != 1 || ok[0].Detail != "signed in through "+s.provider.Source() {
		t.Fatalf("OIDC log-in not audited: %+v %v", ok, err)
	}

	// A wrong password never leaves the provider.
	c3 := newBrowser(t)
	resp, callback, _ = s.signIn(t, c3, "vera", "sbagliata")
	if callback != "" || !strings.HasPrefix(resp.Request.URL.String(), s.op.URL) {
		t.Fatalf("wrong password reached the desk: %s", resp.Request.URL)
	}

	// A callback this browser did not start (login CSRF) is refused.
	c4 := newBrowser(t)
	resp, err = c4.Get(s.h.srv.URL + "/login/sso/oidc/callback?code=abc&state=forged")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(page), "non è riuscito") || sessionUser(t, s, c4) {
		t.Fatalf("forged callback: %d", resp.StatusCode)
	}
	failed, err := s.h.f.Desk.AuditLog(ctx, s.h.f.Admin, desk.AuditFilter{Action: desk.AuditLoginFailed})
	if err != nil || len(failed) < 2 || !strings.Contains(failed[0].Detail, "unknown or reused state") {
		t.Fatalf("refused callbacks not audited: %+v %v", failed, err)
	}
}

// sessionUser reports whether the browser is signed in.
func sessionUser(t *testing.T, s *ssoSetup, c *http.Client) bool {
	t.Helper()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(s.h.srv.URL + "/richieste")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestOIDCStateMismatch: a callback whose state differs from the one the
// browser's flow started with is refused even with a real code.
func TestOIDCStateMismatch(t *testing.T) {
	s := newSSO(t)
	c := newBrowser(t)
	var callback string
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), s.h.srv.URL+"/login/sso/oidc/callback") {
			callback = req.URL.String()
			return http.ErrUseLastResponse // stop before the desk sees it
		}
		return nil
	}
	resp, err := c.Get(s.h.srv.URL + "/login/sso/oidc")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := opAuthID.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no provider log-in page:\n%s", page)
	}
	resp, err = c.PostForm(s.op.URL+"/login/username", url.Values{"id": {string(m[1])}, "username": {"vera"}, "password": {"Segreta-di-Vera-1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if callback == "" {
		t.Fatal("the provider did not redirect to the callback")
	}
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("state", q.Get("state")+"x")
	u.RawQuery = q.Encode()
	c.CheckRedirect = nil
	resp, err = c.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || sessionUser(t, s, c) {
		t.Fatalf("tampered state: %d", resp.StatusCode)
	}
	err = s.h.f.DB.View(context.Background(), func(tx desk.Tx) error {
		_, err := tx.UserByEmail(context.Background(), "vera.verdi@altro.example.it")
		return err
	})
	if !desk.IsNotFound(err) {
		t.Fatalf("an account was created from a refused callback: %v", err)
	}
}

// TestLDAPLoginForm signs a directory user in through the ordinary log-in
// form (real OpenLDAP from scripts/slapd-test.sh); local accounts keep
// working beside the directory.
func TestLDAPLoginForm(t *testing.T) {
	if os.Getenv("SPORTELLO_TEST_SLAPD") == "" {
		msg := "no OpenLDAP: run eval \"$(scripts/slapd-test.sh env)\" first"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	roles, _ := identity.ParseRules("helpdesk => agent", true)
	l, err := identity.NewLDAP(identity.LDAPConfig{URL: os.Getenv("SPORTELLO_TEST_SLAPD_LDAP"), CAFile: os.Getenv("SPORTELLO_TEST_SLAPD_CA"),
		BindDN: os.Getenv("SPORTELLO_TEST_SLAPD_BIND_DN"), BindPassword: os.Getenv("SPORTELLO_TEST_SLAPD_BIND_PASSWORD"),
		BaseDN: os.Getenv("SPORTELLO_TEST_SLAPD_BASE"), Mapping: identity.Mapping{Roles: roles}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Opts) { o.LDAP = l })
	post := func(login, password string) *http.Response {
		c := newBrowser(t)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.PostForm(h.srv.URL+"/login", url.Values{"email": {login}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp, err := http.Get(h.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `type="text" id="email"`) || !strings.Contains(string(page), "Nome utente o indirizzo e-mail") {
		t.Fatal("with LDAP the log-in form must accept a username")
	}
	if r := post("mrossi", os.Getenv("SPORTELLO_TEST_SLAPD_USER_PASSWORD")); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/operatore" {
		t.Fatalf("directory log-in: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := post("mrossi", "sbagliata"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong directory password: %d", r.StatusCode)
	}
	// gverdi's password is right but no group of his is mapped: refused,
	// and told so.
	c := newBrowser(t)
	resp, err = c.PostForm(h.srv.URL+"/login", url.Values{"email": {"gverdi"}, "password": {os.Getenv("SPORTELLO_TEST_SLAPD_USER_PASSWORD")}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(page), "non è abilitato") {
		t.Fatalf("unmapped directory account: %d", resp.StatusCode)
	}
	if r := post("admin@example.it", testPassword); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("local account beside the directory: %d", r.StatusCode)
	}
	var u desk.User
	_ = h.f.DB.View(context.Background(), func(tx desk.Tx) error {
		u, err = tx.UserByEmail(context.Background(), "mario.rossi@provincia.test")
		return err
	})
	if u.Role != desk.RoleAgent || u.Name != "Mario Rossi" {
		t.Fatalf("provisioned %+v %v", u, err)
	}
	failed, err := h.f.Desk.AuditLog(context.Background(), h.f.Admin, desk.AuditFilter{Action: desk.AuditLoginFailed})
	if err != nil || len(failed) != 2 || failed[1].Actor != "mrossi" || failed[1].Detail != "ldap: wrong password" ||
		failed[0].Actor != "gverdi" || !strings.Contains(failed[0].Detail, "no role is mapped") {
		t.Fatalf("failed directory log-in not audited: %+v %v", failed, err)
	}
}

// TestOIDCProviderDown: an unreachable provider gives the log-in page with
// an explanation (local accounts keep working), not an error page.
func TestOIDCProviderDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there any more
	p, err := identity.NewOIDC(identity.OIDCConfig{Issuer: issuer, ClientID: "x", RedirectURL: "http://127.0.0.1/cb",
		Mapping: identity.Mapping{DefaultRole: desk.RoleRequester}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Opts) { o.SSO = []*identity.OIDC{p} })
	resp, err := http.Get(h.srv.URL + "/login/sso/oidc")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(page), "non è riuscito") || !strings.Contains(string(page), `id="login"`) {
		t.Fatalf("provider down: %d\n%s", resp.StatusCode, page)
	}
	if resp, err := http.Get(h.srv.URL + "/login/sso/nessuno"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown provider: %v %d", err, resp.StatusCode)
	}
}

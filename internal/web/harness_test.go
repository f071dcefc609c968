package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
)

// Password of every test account.
const testPassword = "sportello"

// harness is the web UI on a real SQLite store with the storetest fixture's
// people, who can log in with testPassword.
type harness struct {
	t    testing.TB
	f    *storetest.Fixture
	web  *Web
	srv  *httptest.Server
	logs *bytes.Buffer
}

func newHarness(t testing.TB, opts ...func(*Opts)) *harness {
	t.Helper()
	return newHarnessWith(t, nil, opts...)
}

// newHarnessWith runs setups on the fixture before the web UI is built.
func newHarnessWith(t testing.TB, setups []func(testing.TB, *storetest.Fixture), opts ...func(*Opts)) *harness {
	t.Helper()
	db := storetest.OpenSQLite(t)
	f := storetest.NewFixture(t, db)
	ctx := context.Background()
	for _, u := range []struct {
		email, name, phone string
		role               desk.Role
		org                string
	}{
		{"agente@example.it", "Anna Agente", "", desk.RoleAgent, ""},
		{"utente@example.it", "Ugo Utente", "0831 565353", desk.RoleRequester, ""},
		{"altro@example.it", "Alba Altro", "", desk.RoleRequester, ""},
		{"admin@example.it", "Ada Admin", "", desk.RoleAdmin, ""},
		{"agente@altro.example.it", "Otto Outsider", "", desk.RoleAgent, "altro-ente"},
	} {
		if _, err := f.Desk.EnsureUser(ctx, desk.NewUser{Email: u.email, Name: u.name, Phone: u.phone, Role: u.role, OrgCode: u.org, Password: testPassword, InstallationAdmin: u.role == desk.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
	}
	for _, fn := range setups {
		fn(t, f)
	}
	logs := &bytes.Buffer{}
	o := Opts{Desk: f.Desk, DB: db, Key: []byte("0123456789abcdef0123456789abcdef"),
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Portal: PortalInfo{Name: "Service Desk", Email: "assistenza@desk.example.it", EmailSubjectHint: "BDNA",
			Phones: []Phone{{Number: "06 1234 5678", Label: "lun–ven 8–18"}}, ManualURL: "https://desk.example.it/manuale"}}
	for _, fn := range opts {
		fn(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, f: f, web: w, logs: logs}
	h.srv = httptest.NewServer(w)
	t.Cleanup(func() {
		w.Close()
		h.srv.Close()
	})
	return h
}

// client is a browser-like HTTP client with its own cookies that does not
// follow redirects, so tests can check them.
type client struct {
	h   *harness
	c   *http.Client
	hdr http.Header
}

func (h *harness) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{h: h, hdr: http.Header{}, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// response is a read response.
type response struct {
	*http.Response
	Body string
}

func (c *client) do(req *http.Request) response {
	c.h.t.Helper()
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.h.t.Fatal(err)
	}
	return response{Response: res, Body: string(b)}
}

func (c *client) get(path string) response {
	c.h.t.Helper()
	req, _ := http.NewRequest("GET", c.h.srv.URL+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) response {
	c.h.t.Helper()
	req, _ := http.NewRequest("POST", c.h.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// file is an upload for postMultipart.
type file struct{ field, name, content string }

func (c *client) postMultipart(path string, form url.Values, files ...file) response {
	c.h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			_ = mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			c.h.t.Fatal(err)
		}
		_, _ = fw.Write([]byte(f.content))
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.h.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// login logs the client in and checks the redirect.
func (c *client) login(email string) response {
	c.h.t.Helper()
	res := c.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if res.StatusCode != http.StatusSeeOther {
		c.h.t.Fatalf("log-in as %s: status %d\n%s", email, res.StatusCode, res.Body)
	}
	return res
}

func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.h.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	return ""
}

func (c *client) setSessionCookie(v string) {
	u, _ := url.Parse(c.h.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: v, Path: "/"}})
}

func (c *client) setLang(lang string) {
	u, _ := url.Parse(c.h.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: LangCookie, Value: lang, Path: "/"}})
}

// create registers a ticket through the desk directly.
func (h *harness) create(a desk.Actor, in desk.NewTicket) desk.Ticket {
	h.t.Helper()
	return h.f.Create(h.t, a, in)
}

// actor returns the actor of a fixture user by e-mail, as the desk sees it.
func (h *harness) actor(email string) desk.Actor {
	h.t.Helper()
	var u desk.User
	err := h.f.DB.View(context.Background(), func(tx desk.Tx) error {
		var err error
		u, err = tx.UserByEmail(context.Background(), email)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return desk.ActorFor(u)
}

func mustContain(t testing.TB, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page does not contain %q", w)
		}
	}
}

func mustNotContain(t testing.TB, body string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(body, w) {
			t.Errorf("page contains %q", w)
		}
	}
}

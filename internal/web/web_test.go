package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for _, path := range []string{"/", "/login", "/accessibilita", "/nessuna-pagina"} {
		res := c.get(path)
		for k, want := range map[string]string{
			"Content-Security-Policy": CSP,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
		} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		if strings.Contains(res.Body, "<script>") || strings.Contains(res.Body, " style=") || strings.Contains(res.Body, "<style") {
			t.Errorf("%s: inline script or style in the page", path)
		}
	}
	// Private pages are never cached.
	c.login("utente@example.it")
	if cc := c.get("/richieste").Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control of a private page = %q", cc)
	}
	// Static files are served with long cache lifetimes and no session.
	res := c.get(h.web.assets.URL("css/sportello.css"))
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("static: %d %q cookie %q", res.StatusCode, res.Header.Get("Cache-Control"), res.Header.Get("Set-Cookie"))
	}
}

func TestLoginLogout(t *testing.T) {
	h := newHarness(t)
	c := h.client()

	// A wrong password and an unknown account get the same answer.
	bad := c.post("/login", url.Values{"email": {"utente@example.it"}, "password": {"sbagliata"}})
	unknown := c.post("/login", url.Values{"email": {"nessuno@example.it"}, "password": {"sbagliata"}})
	for _, res := range []response{bad, unknown} {
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("failed log-in: status %d", res.StatusCode)
		}
		mustContain(t, res.Body, "Indirizzo e-mail o password non corretti.", `aria-describedby="login-error"`)
		if res.Header.Get("Set-Cookie") != "" {
			t.Errorf("failed log-in set a cookie: %s", res.Header.Get("Set-Cookie"))
		}
	}
	if a, b := stripEmail(bad.Body), stripEmail(unknown.Body); a != b {
		t.Error("the failure pages differ between a wrong password and an unknown account")
	}

	// A requester lands on the portal, with a safe cookie.
	res := c.login("utente@example.it")
	if loc := res.Header.Get("Location"); loc != "/richieste" {
		t.Errorf("requester redirected to %q", loc)
	}
	sc := res.Header.Get("Set-Cookie")
	for _, want := range []string{SessionCookie + "=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("cookie marked Secure without SecureCookies: %q", sc)
	}
	if res := c.get("/richieste"); res.StatusCode != 200 || !strings.Contains(res.Body, "Ugo Utente") {
		t.Fatalf("portal after log-in: %d", res.StatusCode)
	}
	// /login while logged in goes to the landing page.
	if res := c.get("/login"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /login when logged in: %d", res.StatusCode)
	}
	// GET /logout asks; POST /logout ends the session.
	mustContain(t, c.get("/logout").Body, `action="/logout"`)
	old := c.sessionCookie()
	res = c.post("/logout", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/?uscito=1" {
		t.Errorf("logout: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := c.get("/richieste"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("portal after log-out: %d", res.StatusCode)
	}
	// The old token is dead even if replayed.
	c2 := h.client()
	c2.setSessionCookie(old)
	if res := c2.get("/richieste"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("replayed token after log-out: %d", res.StatusCode)
	}

	// Staff land on the workspace; next is honoured when local.
	a := h.client()
	if loc := a.login("agente@example.it").Header.Get("Location"); loc != "/operatore" {
		t.Errorf("agent redirected to %q", loc)
	}
	n := h.client()
	res = n.post("/login", url.Values{"email": {"agente@example.it"}, "password": {testPassword}, "next": {"/operatore/chiamata"}})
	if loc := res.Header.Get("Location"); loc != "/operatore/chiamata" {
		t.Errorf("next ignored: %q", loc)
	}
	e := h.client()
	res = e.post("/login", url.Values{"email": {"agente@example.it"}, "password": {testPassword}, "next": {"//evil.example/x"}})
	if loc := res.Header.Get("Location"); loc != "/operatore" {
		t.Errorf("foreign next followed: %q", loc)
	}
}

func TestSecureCookies(t *testing.T) {
	h := newHarness(t, func(o *Opts) { o.SecureCookies = true })
	c := h.client()
	res := c.post("/login", url.Values{"email": {"utente@example.it"}, "password": {testPassword}})
	if sc := res.Header.Get("Set-Cookie"); !strings.Contains(sc, "Secure") {
		t.Errorf("cookie %q not Secure", sc)
	}
}

var emailRE = regexp.MustCompile(`value="[^"]*@example\.it"`)

func stripEmail(s string) string { return emailRE.ReplaceAllString(s, "") }

func TestSessionFixation(t *testing.T) {
	h := newHarness(t)
	attacker := h.client()
	attacker.login("altro@example.it")
	planted := attacker.sessionCookie()
	if planted == "" {
		t.Fatal("no session cookie")
	}
	// The victim's browser carries the planted token and logs in.
	victim := h.client()
	victim.setSessionCookie(planted)
	victim.login("utente@example.it")
	if got := victim.sessionCookie(); got == planted || got == "" {
		t.Fatalf("session token not renewed at log-in: %q", got)
	}
	// The planted token no longer opens any session.
	replay := h.client()
	replay.setSessionCookie(planted)
	if res := replay.get("/richieste"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("planted token still valid: %d", res.StatusCode)
	}
	// And the table never holds the token itself.
	var n int
	if err := h.f.DB.SQL().QueryRow("SELECT COUNT(*) FROM web_sessions WHERE key = ?", victim.sessionCookie()).Scan(&n); err != nil || n != 0 {
		t.Errorf("session token stored in clear (%d rows, %v)", n, err)
	}
}

func TestAccessControl(t *testing.T) {
	h := newHarness(t)
	mine := h.create(h.actor("utente@example.it"), desk.NewTicket{Subject: "Stampante guasta", Channel: desk.ChannelWeb,
		Attachments: []desk.NewAttachment{{Name: "foto.txt", ContentType: "text/plain", Data: []byte("foto")}}})
	tl, err := h.f.Desk.Timeline(context.Background(), h.actor("utente@example.it"), mine.Number)
	if err != nil || len(tl.Attachments) != 1 {
		t.Fatalf("attachments %v %v", tl.Attachments, err)
	}
	att := fmt.Sprintf("/richieste/%s/allegati/%d", mine.Number, tl.Attachments[0].ID)

	anon := h.client()
	for _, p := range []string{"/richieste", "/richieste/" + mine.Number, "/operatore", "/operatore/ticket/" + mine.Number, att} {
		res := anon.get(p)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
			t.Errorf("anonymous %s: %d %s", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
	if loc := anon.get("/operatore?coda=x").Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/operatore?coda=x") {
		t.Errorf("next not kept: %s", loc)
	}
	if res := anon.post("/richieste/"+mine.Number+"/conferma", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous POST: %d", res.StatusCode)
	}

	owner := h.client()
	owner.login("utente@example.it")
	if res := owner.get("/richieste/" + mine.Number); res.StatusCode != 200 {
		t.Errorf("owner: %d", res.StatusCode)
	}
	if res := owner.get(att); res.StatusCode != 200 || res.Body != "foto" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("owner attachment: %d %q %q", res.StatusCode, res.Body, res.Header.Get("Content-Security-Policy"))
	}
	// A requester never reaches the workspace.
	for _, p := range []string{"/operatore", "/operatore/chiamata", "/operatore/ticket/" + mine.Number, "/operatore/persone?q=ugo"} {
		if res := owner.get(p); res.StatusCode != http.StatusForbidden {
			t.Errorf("requester %s: %d", p, res.StatusCode)
		}
	}
	if res := owner.post("/operatore/chiamata", url.Values{"subject": {"x"}, "caller_name": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("requester POST workspace: %d", res.StatusCode)
	}

	other := h.client()
	other.login("altro@example.it")
	for _, p := range []string{"/richieste/" + mine.Number, att, "/richieste/" + mine.Number + "/aggiornamenti"} {
		res := other.get(p)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("another requester %s: %d", p, res.StatusCode)
		}
		mustNotContain(t, res.Body, "Stampante guasta", "foto")
	}
	for _, p := range []string{"/conferma", "/riapri", "/risposta"} {
		if res := other.post("/richieste/"+mine.Number+p, url.Values{"body": {"intruso"}}); res.StatusCode != http.StatusNotFound {
			t.Errorf("another requester POST %s: %d", p, res.StatusCode)
		}
	}

	outsider := h.client()
	outsider.login("agente@altro.example.it")
	if res := outsider.get("/operatore/ticket/" + mine.Number); res.StatusCode != http.StatusNotFound {
		t.Errorf("agent of another organisation: %d", res.StatusCode)
	}

	agent := h.client()
	agent.login("agente@example.it")
	if res := agent.get("/operatore/ticket/" + mine.Number); res.StatusCode != 200 {
		t.Errorf("agent: %d", res.StatusCode)
	}
	// Staff opening the portal page of a ticket go to the workspace.
	if res := agent.get("/richieste/" + mine.Number); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operatore/ticket/"+mine.Number {
		t.Errorf("agent on the portal page: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if res := agent.get("/operatore/ticket/2026-999999"); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing ticket: %d", res.StatusCode)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	h := newHarness(t)
	mine := h.create(h.actor("utente@example.it"), desk.NewTicket{Subject: "Prova", Channel: desk.ChannelWeb})
	c := h.client()
	c.login("utente@example.it")

	for name, hdr := range map[string][2]string{
		"fetch metadata": {"Sec-Fetch-Site", "cross-site"},
		"origin":         {"Origin", "https://attacker.example"},
	} {
		t.Run(name, func(t *testing.T) {
			c.hdr = http.Header{hdr[0]: {hdr[1]}}
			defer func() { c.hdr = http.Header{} }()
			res := c.post("/richieste/"+mine.Number+"/risposta", url.Values{"body": {"forged"}})
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("cross-origin POST: %d", res.StatusCode)
			}
			mustContain(t, res.Body, "proviene da un altro sito")
			if res := c.post("/login", url.Values{"email": {"utente@example.it"}, "password": {testPassword}}); res.StatusCode != http.StatusForbidden {
				t.Errorf("cross-origin log-in: %d", res.StatusCode)
			}
			if res := c.post("/logout", nil); res.StatusCode != http.StatusForbidden {
				t.Errorf("cross-origin log-out: %d", res.StatusCode)
			}
		})
	}
	tl, _ := h.f.Desk.Timeline(context.Background(), h.actor("utente@example.it"), mine.Number)
	if len(tl.Messages) != 0 {
		t.Errorf("forged message stored: %+v", tl.Messages)
	}
	// Same-origin posts from a browser pass.
	c.hdr = http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {h.srv.URL}}
	if res := c.post("/richieste/"+mine.Number+"/risposta", url.Values{"body": {"vero"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d %s", res.StatusCode, res.Body)
	}
}

// TestEveryPageRenders opens every page in Italian and English and checks
// that it renders completely: right language, no missing translation, one
// h1, labels for every field.
func TestEveryPageRenders(t *testing.T) {
	h := newHarness(t)
	req := h.actor("utente@example.it")
	tk := h.create(req, desk.NewTicket{Subject: "Stampante guasta", Description: "Non stampa.\nDa ieri.", Service: "stampanti", Channel: desk.ChannelWeb})
	ctx := context.Background()
	if _, err := h.f.Desk.AddMessage(ctx, h.actor("agente@example.it"), tk.Number, desk.NewMessage{Body: "Nota riservata", Internal: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.Desk.AddMessage(ctx, h.actor("agente@example.it"), tk.Number, desk.NewMessage{Body: "Arriviamo."}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.f.Desk.Transition(ctx, h.actor("agente@example.it"), tk.Number, desk.TransitionInput{To: desk.StatusResolved, Cause: desk.Cause{Category: "hardware", Text: "Toner"}}); err != nil {
		t.Fatal(err)
	}
	other := h.create(h.actor("agente@example.it"), desk.NewTicket{Subject: "Altro", Channel: desk.ChannelPhone, Requester: desk.Contact{Name: "Anonimo"}})
	if err := h.f.Desk.LinkTickets(ctx, h.actor("agente@example.it"), other.Number, tk.Number, desk.LinkRelated); err != nil {
		t.Fatal(err)
	}

	pages := []struct {
		who    string
		path   string
		status int
	}{
		{"", "/", 200},
		{"", "/?uscito=1", 200},
		{"", "/login", 200},
		{"", "/accessibilita", 200},
		{"", "/accessibilita?inviata=1", 200},
		{"", "/nessuna-pagina", 404},
		{"utente@example.it", "/", 200},
		{"utente@example.it", "/logout", 200},
		{"utente@example.it", "/richieste", 200},
		{"utente@example.it", "/richieste/nuova", 200},
		{"utente@example.it", "/richieste/nuova?servizio=stampanti", 200},
		{"utente@example.it", "/richieste/nuova?servizio=_", 200},
		{"utente@example.it", "/richieste/" + tk.Number, 200},
		{"utente@example.it", "/operatore", 403},
		{"utente@example.it", "/richieste/2026-999999", 404},
		{"agente@example.it", "/operatore", 200},
		{"agente@example.it", "/operatore?stato=tutti&q=stampante", 200},
		{"agente@example.it", "/operatore?assegnatario=none", 200},
		{"agente@example.it", "/operatore?coda=nessuna", 400},
		{"agente@example.it", "/operatore/ticket/" + tk.Number, 200},
		{"agente@example.it", "/operatore/ticket/" + other.Number + "?modello=presa-in-carico", 200},
		{"agente@example.it", "/operatore/chiamata", 200},
		{"agente@example.it", "/operatore/chiamata?q=0831", 200},
		{"agente@example.it", "/operatore/chiamata?q=ab", 200},
		{"agente@example.it", "/richieste", 200},
	}
	labelled := regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	for _, lang := range []string{"it", "en"} {
		clients := map[string]*client{}
		for _, p := range pages {
			c := clients[p.who]
			if c == nil {
				c = h.client()
				c.setLang(lang)
				if p.who != "" {
					c.login(p.who)
				}
				clients[p.who] = c
			}
			t.Run(lang+p.path, func(t *testing.T) {
				res := c.get(p.path)
				if res.StatusCode != p.status {
					t.Fatalf("%s as %q: status %d, want %d", p.path, p.who, res.StatusCode, p.status)
				}
				b := res.Body
				mustContain(t, b, `<html lang="`+lang+`">`, `<main id="main"`, `href="#main"`, "<title>")
				if strings.Contains(b, "⟦") {
					t.Errorf("missing translation: %s", regexp.MustCompile(`⟦[^⟧]*⟧`).FindAllString(b, -1))
				}
				if n := strings.Count(b, "<h1"); n != 1 {
					t.Errorf("%d h1 elements", n)
				}
				for _, m := range labelled.FindAllString(b, -1) {
					if strings.Contains(m, `type="hidden"`) || strings.Contains(m, `type="radio"`) {
						continue
					}
					id := regexp.MustCompile(`\bid="([^"]+)"`).FindStringSubmatch(m)
					if id == nil || !strings.Contains(b, `for="`+id[1]+`"`) {
						t.Errorf("field without a label: %s", m)
					}
				}
				if lang == "en" {
					mustNotContain(t, b, "Accedi al servizio", "Le mie richieste</a>")
				}
				if p.who == "utente@example.it" {
					mustNotContain(t, b, "Nota riservata")
				}
			})
		}
	}
}

func TestPhoneRegistration(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	c.login("agente@example.it")

	// The as-you-type lookup answers htmx with a fragment of radio buttons.
	req, _ := http.NewRequest("GET", h.srv.URL+"/operatore/persone?q=0831%2056", nil)
	req.Header.Set("HX-Request", "true")
	res := c.do(req)
	if res.StatusCode != 200 || strings.Contains(res.Body, "<html") {
		t.Fatalf("fragment: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, res.Body, `type="radio" name="caller"`, `value="utente@example.it"`, "Ugo Utente")
	// Without htmx, the lookup URL leads to the form with the results.
	res = c.get("/operatore/persone?q=0831")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operatore/chiamata?q=0831" {
		t.Errorf("non-htmx lookup: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	mustContain(t, c.get("/operatore/chiamata?q=0831").Body, `value="utente@example.it"`)

	// Scriptless search keeps what was typed.
	res = c.post("/operatore/chiamata", url.Values{"action": {"search"}, "q": {"ugo"}, "subject": {"Non va la posta"}, "description": {"Da stamattina"}})
	if res.StatusCode != 200 {
		t.Fatalf("search: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `value="utente@example.it"`, `value="Non va la posta"`, "Da stamattina")

	// Nothing saying who calls: an error by the field, nothing created.
	res = c.post("/operatore/chiamata", url.Values{"action": {"register"}, "subject": {"Senza chiamante"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no caller: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `id="caller-error"`, `aria-describedby="q-hint caller-error"`)
	// No subject: the desk refuses, the form says why.
	res = c.post("/operatore/chiamata", url.Values{"action": {"register"}, "caller": {"utente@example.it"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no subject: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `id="subject-error"`, `aria-invalid="true" aria-describedby="subject-error"`, `checked`)

	// A known caller by phone.
	res = c.post("/operatore/chiamata", url.Values{"action": {"register"}, "q": {"0831"}, "caller": {"utente@example.it"}, "service": {"stampanti"},
		"subject": {"Stampante inceppata"}, "description": {"Secondo piano"}, "channel": {"phone"}, "priority": {"high"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d\n%s", res.StatusCode, res.Body)
	}
	loc := res.Header.Get("Location")
	number := strings.TrimPrefix(loc, "/operatore/ticket/")
	tk, err := h.f.Desk.Ticket(context.Background(), h.actor("agente@example.it"), number)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Channel != desk.ChannelPhone || tk.ServiceCode != "stampanti" || tk.Priority != desk.PriorityHigh ||
		tk.Requester.Email != "utente@example.it" || tk.Requester.Phone != "0831 565353" || tk.RequesterID != h.actor("utente@example.it").UserID {
		t.Errorf("ticket %+v", tk)
	}
	page := c.get(loc)
	mustContain(t, page.Body, "Ticket "+number+" registrato.", number, "Stampante inceppata")

	// A new person who walks in.
	res = c.post("/operatore/chiamata", url.Values{"action": {"register"}, "caller_name": {"Maria Nuova"}, "caller_email": {"maria.nuova@example.it"},
		"caller_phone": {"0831 111111"}, "subject": {"Badge"}, "channel": {"in_person"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("walk-in: %d\n%s", res.StatusCode, res.Body)
	}
	tk2, err := h.f.Desk.Ticket(context.Background(), h.actor("agente@example.it"), strings.TrimPrefix(res.Header.Get("Location"), "/operatore/ticket/"))
	if err != nil || tk2.Channel != desk.ChannelInPerson || tk2.Requester.Name != "Maria Nuova" || tk2.RequesterID == 0 || tk2.QueueCode != desk.DefaultTriage {
		t.Errorf("walk-in ticket %+v %v", tk2, err)
	}
	// Bad e-mail of a new person.
	res = c.post("/operatore/chiamata", url.Values{"action": {"register"}, "caller_email": {"non-valida"}, "subject": {"x"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad e-mail: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `id="caller_email-error"`)
}

// TestPortalLifecycle follows a request from the portal through the
// workspace to closure: open with an attachment, agent reply, resolution,
// reopening by the requester, second resolution, confirmation.
func TestPortalLifecycle(t *testing.T) {
	h := newHarness(t)
	u := h.client()
	u.login("utente@example.it")
	a := h.client()
	a.login("agente@example.it")
	ctx := context.Background()

	mustContain(t, u.get("/richieste/nuova").Body, "Installazione e configurazione dispositivi hardware", `href="/richieste/nuova?servizio=stampanti"`)
	if res := u.get("/richieste/nuova?servizio=inesistente"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown service: %d", res.StatusCode)
	}
	// Missing subject: the form comes back with the error.
	res := u.postMultipart("/richieste/nuova", url.Values{"service": {"stampanti"}, "description": {"testo"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no subject: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `id="subject-error"`, "testo")

	res = u.postMultipart("/richieste/nuova", url.Values{"service": {"stampanti"}, "subject": {"Stampante non stampa"},
		"description": {"Dal mattino.\n<script>alert(1)</script>"}, "phone": {"0831 999"}},
		file{"allegati", "errore.txt", "codice E13"})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", res.StatusCode, res.Body)
	}
	loc := res.Header.Get("Location")
	number := strings.TrimPrefix(loc, "/richieste/")
	tk, err := h.f.Desk.Ticket(ctx, h.actor("agente@example.it"), number)
	if err != nil || tk.Channel != desk.ChannelWeb || tk.ServiceCode != "stampanti" || tk.Requester.Phone != "0831 999" {
		t.Fatalf("ticket %+v %v", tk, err)
	}
	page := u.get(loc).Body
	mustContain(t, page, "Richiesta registrata con il numero "+number, "errore.txt", "&lt;script&gt;", "Dal mattino.\n")
	mustNotContain(t, page, "<script>alert")
	mustContain(t, u.get("/richieste").Body, number, "Stampante non stampa")

	// The agent answers with a canned reply and a note.
	mustContain(t, a.get("/operatore").Body, number)
	mustContain(t, a.get("/operatore/ticket/"+number+"?modello=presa-in-carico").Body, "abbiamo preso in carico la sua richiesta "+number)
	if res := a.postMultipart("/operatore/ticket/"+number+"/messaggi", url.Values{"kind": {"note"}, "body": {"Toner da ordinare"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("note: %d", res.StatusCode)
	}
	if res := a.postMultipart("/operatore/ticket/"+number+"/messaggi", url.Values{"kind": {"reply"}, "body": {"Passiamo nel pomeriggio."}},
		file{"allegati", "istruzioni.txt", "riavviare"}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply: %d", res.StatusCode)
	}
	if res := a.postMultipart("/operatore/ticket/"+number+"/messaggi", url.Values{"kind": {"reply"}, "body": {"  "}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("empty reply: %d", res.StatusCode)
	}
	if res := a.post("/operatore/ticket/"+number+"/assegna", url.Values{"assignee": {"me"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d", res.StatusCode)
	}
	agentPage := a.get("/operatore/ticket/" + number).Body
	mustContain(t, agentPage, "Toner da ordinare", "sp-entry-note", "Nota interna", "Passiamo nel pomeriggio.", "istruzioni.txt", "Anna Agente")
	// Only the moves the lifecycle allows are offered.
	for _, s := range desk.Statuses {
		opt := `<option value="` + string(s) + `"`
		offered := strings.Contains(agentPage[strings.Index(agentPage, `id="to"`):], opt)
		allowed := desk.CanTransition(desk.StatusOpen, s)
		if offered != allowed {
			// Search only the status select.
			sel := agentPage[strings.Index(agentPage, `id="to"`):]
			sel = sel[:strings.Index(sel, "</select>")]
			if strings.Contains(sel, opt) != allowed {
				t.Errorf("status %s offered=%v allowed=%v", s, strings.Contains(sel, opt), allowed)
			}
		}
	}
	// The requester sees the reply, never the note.
	page = u.get(loc).Body
	mustContain(t, page, "Passiamo nel pomeriggio.", "istruzioni.txt")
	mustNotContain(t, page, "Toner da ordinare", "Nota interna")

	// Resolve with a cause; an impossible move is refused with 409.
	if res := a.post("/operatore/ticket/"+number+"/stato", url.Values{"to": {"new"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("impossible move: %d", res.StatusCode)
	}
	if res := a.post("/operatore/ticket/"+number+"/stato", url.Values{"to": {"resolved"}, "cause_category": {"hardware"}, "cause_text": {"Toner esaurito"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d", res.StatusCode)
	}
	page = u.get(loc).Body
	mustContain(t, page, "Il problema è risolto?", `action="/richieste/`+number+`/conferma"`, "Causa individuata: Hardware")
	if res := u.post(loc+"/riapri", url.Values{"reason": {"Stampa ancora a righe"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reopen: %d", res.StatusCode)
	}
	if tk, _ := h.f.Desk.Ticket(ctx, h.actor("agente@example.it"), number); tk.Status != desk.StatusOpen {
		t.Fatalf("after reopen: %s", tk.Status)
	}
	mustContain(t, u.get(loc).Body, "La richiesta è stata riaperta.", "Stampa ancora a righe")
	// Confirming an open request is refused.
	if res := u.post(loc+"/conferma", nil); res.StatusCode != http.StatusConflict {
		t.Errorf("confirm an open request: %d", res.StatusCode)
	}
	if res := a.post("/operatore/ticket/"+number+"/stato", url.Values{"to": {"resolved"}, "cause_category": {"hardware"}, "cause_text": {"Tamburo sostituito"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve again: %d", res.StatusCode)
	}
	if res := u.post(loc+"/conferma", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", res.StatusCode)
	}
	if tk, _ := h.f.Desk.Ticket(ctx, h.actor("agente@example.it"), number); tk.Status != desk.StatusClosed {
		t.Fatalf("after confirm: %s", tk.Status)
	}
	page = u.get(loc).Body
	mustContain(t, page, "la richiesta è chiusa", "Chiuso")
	mustNotContain(t, page, `action="/richieste/`+number+`/risposta"`)
}

func TestWorkspaceActions(t *testing.T) {
	h := newHarness(t)
	a := h.client()
	a.login("agente@example.it")
	req := h.actor("utente@example.it")
	t1 := h.create(req, desk.NewTicket{Subject: "Primo", Channel: desk.ChannelWeb})
	t2 := h.create(req, desk.NewTicket{Subject: "Doppione", Channel: desk.ChannelWeb})
	ctx := context.Background()
	agent := h.actor("agente@example.it")

	if res := a.post("/operatore/ticket/"+t1.Number+"/campi", url.Values{"priority": {"urgent"}, "queue": {"sistemi-informativi"}, "service": {"stampanti"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("fields: %d %s", res.StatusCode, res.Body)
	}
	if res := a.post("/operatore/ticket/"+t1.Number+"/campi", url.Values{"priority": {"altissima"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad priority: %d", res.StatusCode)
	}
	if res := a.post("/operatore/ticket/"+t1.Number+"/assegna", url.Values{"assignee": {""}, "assignee_email": {"utente@example.it"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("assign to a requester: %d", res.StatusCode)
	} else {
		mustContain(t, res.Body, "non è un operatore")
	}
	if res := a.post("/operatore/ticket/"+t1.Number+"/assegna", url.Values{"assignee": {"admin@example.it"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("assign: %d %s", res.StatusCode, res.Body)
	}
	if res := a.post("/operatore/ticket/"+t1.Number+"/escala", url.Values{"escalate_reason": {"Serve il sistemista"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("escalate: %d", res.StatusCode)
	}
	if res := a.post("/operatore/ticket/"+t1.Number+"/collega", url.Values{"other": {"2026-999999"}, "kind": {"related"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("link to a missing ticket: %d", res.StatusCode)
	}
	if res := a.post("/operatore/ticket/"+t2.Number+"/collega", url.Values{"other": {t1.Number}, "kind": {"duplicate"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("link: %d", res.StatusCode)
	}
	tk, _ := h.f.Desk.Ticket(ctx, agent, t1.Number)
	if tk.Priority != desk.PriorityUrgent || tk.QueueCode != "sistemi-informativi" || tk.ServiceCode != "stampanti" || tk.AssigneeEmail != "admin@example.it" || tk.Level != desk.LevelSecond {
		t.Errorf("after actions: %+v", tk)
	}
	page := a.get("/operatore/ticket/" + t1.Number).Body
	mustContain(t, page, "Priorità: da «Normale» a «Urgente»", "Livello: da «Primo livello» a «Secondo livello»", "Serve il sistemista", "Duplicato di", t2.Number)
	mustNotContain(t, page, `id="h-escalate"`)

	res := a.post("/operatore/ticket/"+t2.Number+"/unisci", url.Values{"target": {t1.Number}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/operatore/ticket/"+t1.Number {
		t.Fatalf("merge: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if tk, _ := h.f.Desk.Ticket(ctx, agent, t2.Number); tk.MergedInto == 0 || tk.Status != desk.StatusClosed {
		t.Errorf("merged ticket %+v", tk)
	}
	if res := a.post("/operatore/ticket/"+t2.Number+"/unisci", url.Values{"target": {t1.Number}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("merge twice: %d", res.StatusCode)
	}

	// Queue counts come from the desk's maintained counters.
	ws := a.get("/operatore").Body
	mustContain(t, ws, "Sistemi informativi", t1.Number)
	mustNotContain(t, ws, t2.Number)
	mustContain(t, a.get("/operatore?stato=tutti").Body, t2.Number)
	mustContain(t, a.get("/operatore?q=Primo&stato=tutti").Body, t1.Number)
}

func TestWorkspacePagination(t *testing.T) {
	h := newHarness(t)
	req := h.actor("utente@example.it")
	var numbers []string
	for i := 0; i < listLimit+5; i++ {
		numbers = append(numbers, h.create(req, desk.NewTicket{Subject: fmt.Sprintf("Richiesta %d", i), Channel: desk.ChannelWeb}).Number)
	}
	a := h.client()
	a.login("agente@example.it")
	first := a.get("/operatore").Body
	if n := strings.Count(first, "data-sp-item>"); n != listLimit {
		t.Fatalf("first page has %d rows", n)
	}
	if strings.Index(first, numbers[len(numbers)-1]) > strings.Index(first, numbers[len(numbers)-2]) {
		t.Error("not newest first")
	}
	m := regexp.MustCompile(`href="(/operatore\?cursore=[^"]+)" rel="next"`).FindStringSubmatch(first)
	if m == nil {
		t.Fatal("no next link")
	}
	second := a.get(strings.ReplaceAll(m[1], "&amp;", "&")).Body
	if n := strings.Count(second, "data-sp-item>"); n != 5 {
		t.Errorf("second page has %d rows", n)
	}
	mustContain(t, second, numbers[0], "Torna ai più recenti")
	mustNotContain(t, second, `rel="next"`)
	if res := a.get("/operatore?cursore=rotto"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", res.StatusCode)
	}
}

func TestUploadLimit(t *testing.T) {
	h := newHarness(t, func(o *Opts) { o.MaxUpload = 64 << 10 })
	u := h.client()
	u.login("utente@example.it")
	res := u.postMultipart("/richieste/nuova", url.Values{"service": {"_"}, "subject": {"Grande"}}, file{"allegati", "grande.bin", strings.Repeat("x", 100<<10)})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("too large: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `id="allegati-error"`, "dimensione massima")
	if n := h.f.Count(t, "tickets"); n != 0 {
		t.Errorf("%d tickets created", n)
	}
}

func TestAccessibilityFeedback(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	res := c.post("/accessibilita", url.Values{"email": {"non valida"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("invalid: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `id="email-error"`, `id="text-error"`, `aria-describedby="email-error"`, `role="alert"`)
	res = c.post("/accessibilita", url.Values{"name": {"Rita Lettrice"}, "email": {"rita@example.it"}, "page": {"/richieste"}, "text": {"Il contrasto dei pulsanti è basso."}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("send: %d %s", res.StatusCode, res.Body)
	}
	mustContain(t, c.get(res.Header.Get("Location")).Body, "la segnalazione è stata registrata")
	page, err := h.f.Desk.ListTickets(context.Background(), h.actor("agente@example.it"), desk.ListQuery{})
	if err != nil || len(page.Items) != 1 || page.Items[0].Subject != "Segnalazione di accessibilità" || page.Items[0].Requester.Email != "rita@example.it" {
		t.Fatalf("feedback ticket: %+v %v", page.Items, err)
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Error("anonymous feedback created a session")
	}
}

func TestLanguageSwitch(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	mustContain(t, c.get("/").Body, `<html lang="it">`, "Benvenuto")
	res := c.get("/lingua/en?next=" + url.QueryEscape("/accessibilita"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accessibilita" {
		t.Fatalf("switch: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	mustContain(t, c.get("/accessibilita").Body, `<html lang="en">`, "Accessibility statement")
	if loc := c.get("/lingua/it?next=https://evil.example").Header.Get("Location"); loc != "/" {
		t.Errorf("foreign next: %s", loc)
	}
	if res := c.get("/lingua/fr"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown language: %d", res.StatusCode)
	}
}

func TestLiveUpdates(t *testing.T) {
	h := newHarness(t, func(o *Opts) { o.LivePoll = 20 * time.Millisecond; o.LiveMax = 5 * time.Second })
	req := h.actor("utente@example.it")
	tk := h.create(req, desk.NewTicket{Subject: "In diretta", Channel: desk.ChannelWeb})
	agent := h.actor("agente@example.it")
	ctx := context.Background()

	stream := func(c *client, page, want string, change func()) {
		t.Helper()
		body := c.get(page).Body
		m := regexp.MustCompile(`data-sp-live="([^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no live URL", page)
		}
		u := strings.ReplaceAll(m[1], "&amp;", "&")
		r, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+u, nil)
		res, err := c.c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		got := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "event: ") {
					got <- sc.Text()
					return
				}
			}
			close(got)
		}()
		time.Sleep(100 * time.Millisecond)
		change()
		select {
		case ev := <-got:
			if ev != want {
				t.Errorf("event %q, want %q", ev, want)
			}
		case <-time.After(4 * time.Second):
			t.Errorf("%s: no event after a change", page)
		}
	}

	a := h.client()
	a.login("agente@example.it")
	stream(a, "/operatore/ticket/"+tk.Number, "event: changed", func() {
		if _, err := h.f.Desk.AddMessage(ctx, agent, tk.Number, desk.NewMessage{Body: "Nota", Internal: true}); err != nil {
			t.Error(err)
		}
	})
	u := h.client()
	u.login("utente@example.it")
	stream(u, "/richieste/"+tk.Number, "event: changed", func() {
		if _, err := h.f.Desk.AddMessage(ctx, agent, tk.Number, desk.NewMessage{Body: "Risposta pubblica"}); err != nil {
			t.Error(err)
		}
	})
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"/richieste":              "/richieste",
		"/operatore?coda=x&q=a b": "/operatore?coda=x&q=a b",
		"//evil.example":          "",
		"/\\evil.example":         "",
		"https://evil.example/":   "",
		"richieste":               "",
		"/a\nb":                   "",
		"javascript:alert(1)":     "",
	} {
		if got := localPath(in); got != want && !(want != "" && got == strings.ReplaceAll(want, " ", "%20")) {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
)

func TestLoginThrottled(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for i := 0; i < 5; i++ {
		if res := c.post("/login", url.Values{"email": {"utente@example.it"}, "password": {"sbagliata"}}); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, res.StatusCode)
		}
	}
	// The sixth attempt is refused even with the right password, before
	// the password is checked, with a clear message and Retry-After.
	res := c.post("/login", url.Values{"email": {"utente@example.it"}, "password": {testPassword}})
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || res.Header.Get("Set-Cookie") != "" {
		t.Fatalf("throttled log-in: %d Retry-After %q cookie %q", res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Set-Cookie"))
	}
	mustContain(t, res.Body, "Troppi tentativi di accesso non riusciti", "Riprova tra 15 minuti")
	c.setLang("en")
	res = c.post("/login", url.Values{"email": {"utente@example.it"}, "password": {testPassword}})
	mustContain(t, res.Body, "Too many failed log-in attempts", "Try again in 15 minutes")
	// An account that does not exist is throttled the same way (no
	// enumeration through the throttle).
	for i := 0; i < 5; i++ {
		c.post("/login", url.Values{"email": {"nessuno@example.it"}, "password": {"x"}})
	}
	if res := c.post("/login", url.Values{"email": {"nessuno@example.it"}, "password": {"x"}}); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("unknown account not throttled: %d", res.StatusCode)
	}
	// Another account from the same address can still log in (the
	// address allows 20 failures)…
	other := h.client()
	other.login("agente@example.it")
	// …until the address itself has failed too often.
	for i := 0; i < 10; i++ {
		c.post("/login", url.Values{"email": {fmt.Sprintf("prova%d@example.it", i)}, "password": {"x"}})
	}
	if res := h.client().post("/login", url.Values{"email": {"admin@example.it"}, "password": {testPassword}}); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("address not throttled after 20 failures: %d", res.StatusCode)
	}
	// Secrets never reach the log.
	logs := h.logs.String()
	if strings.Contains(logs, testPassword) || strings.Contains(logs, "sbagliata") || strings.Contains(logs, other.sessionCookie()) {
		t.Fatalf("a password or session token was logged:\n%s", logs)
	}
	if !strings.Contains(logs, "log-in throttled") {
		t.Fatalf("throttling not logged:\n%s", logs)
	}
}

// TestEveryStateChangeRefusesCrossOrigin posts to every state-changing
// page route from another site: each is refused before its handler runs.
func TestEveryStateChangeRefusesCrossOrigin(t *testing.T) {
	h := newHarness(t)
	tk := h.create(h.actor("utente@example.it"), desk.NewTicket{Subject: "Prova", Channel: desk.ChannelWeb})
	c := h.client()
	c.login("admin@example.it")
	n := 0
	for _, route := range h.web.Routes() {
		method, path, ok := strings.Cut(route, " ")
		if !ok || method == "GET" || method == "HEAD" {
			continue
		}
		path = strings.NewReplacer("{number}", tk.Number, "{action}", "approva", "{id}", "1", "{lang}", "en").Replace(path)
		for name, hdr := range map[string][2]string{"fetch metadata": {"Sec-Fetch-Site", "cross-site"}, "origin": {"Origin", "https://attacker.example"}} {
			c.hdr = http.Header{hdr[0]: {hdr[1]}}
			req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader("body=forged&subject=forged"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res := c.do(req)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(res.Body, "proviene da un altro sito") {
				t.Errorf("%s %s (%s): %d", method, path, name, res.StatusCode)
			}
			n++
		}
	}
	c.hdr = http.Header{}
	if n < 20 {
		t.Fatalf("only %d cross-origin posts tried", n)
	}
	tl, err := h.f.Desk.Timeline(context.Background(), desk.SystemActor, tk.Number)
	if err != nil || len(tl.Messages) != 0 || tl.Ticket.Status != desk.StatusNew || len(tl.Events) != 1 {
		t.Fatalf("a forged post changed the ticket: %+v %v", tl, err)
	}
}

const (
	evilSubject = `<script>alert("subject")</script> Stampante`
	evilBody    = `<img src=x onerror=alert("body")> non stampa`
	evilName    = `"><svg onload=alert("name")>`
	evilFile    = "../../<b>passwd</b>\u202Egnp.html"
)

// TestInjectionRenderedInert puts HTML and script in every field people
// type and checks that pages show them as text.
func TestInjectionRenderedInert(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	req := h.actor("utente@example.it")
	tk := h.create(h.actor("agente@example.it"), desk.NewTicket{Subject: evilSubject, Description: evilBody, Channel: desk.ChannelPhone,
		Requester:   desk.Contact{Email: "utente@example.it", Name: evilName},
		Attachments: []desk.NewAttachment{{Name: evilFile, ContentType: "text/html", Data: []byte("<script>alert('file')</script>")}}})
	if _, err := h.f.Desk.AddMessage(ctx, req, tk.Number, desk.NewMessage{Body: evilBody}); err != nil {
		t.Fatal(err)
	}
	tl, err := h.f.Desk.Timeline(ctx, req, tk.Number)
	if err != nil || len(tl.Attachments) != 1 {
		t.Fatalf("timeline: %v", err)
	}
	att := tl.Attachments[0]
	if strings.ContainsAny(att.Name, "/\\\u202E") {
		t.Fatalf("stored attachment name not neutralised: %q", att.Name)
	}
	agent, user := h.client(), h.client()
	agent.login("agente@example.it")
	user.login("utente@example.it")
	pages := map[*client][]string{
		agent: {"/operatore", "/operatore?stato=tutti&q=stampante", "/operatore/ticket/" + tk.Number},
		user:  {"/richieste", "/richieste/" + tk.Number},
	}
	for c, paths := range pages {
		for _, p := range paths {
			res := c.get(p)
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s: %d", p, res.StatusCode)
				continue
			}
			mustNotContain(t, res.Body, `<script>alert`, `<img src=x`, `<svg onload`, "<b>passwd</b>", "\u202E")
		}
	}
	mustContain(t, agent.get("/operatore/ticket/"+tk.Number).Body, `&lt;script&gt;alert(&#34;subject&#34;)&lt;/script&gt;`, `&lt;img src=x onerror=alert(&#34;body&#34;)&gt;`)
	// The file downloads as an inert attachment with a neutralised name.
	for c, path := range map[*client]string{agent: fmt.Sprintf("/operatore/ticket/%s/allegati/%d", tk.Number, att.ID),
		user: fmt.Sprintf("/richieste/%s/allegati/%d", tk.Number, att.ID)} {
		res := c.get(path)
		cd := res.Header.Get("Content-Disposition")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(cd, "attachment;") ||
			strings.ContainsAny(cd, "/\\\u202E<>") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q %q %q", path, res.StatusCode, res.Header.Get("Content-Type"), cd, res.Header.Get("Content-Security-Policy"))
		}
	}
}

// TestSQLLookingSearch sends search boxes that look like SQL: they are
// words to look for, never SQL, and never widen what a user sees.
func TestSQLLookingSearch(t *testing.T) {
	h := newHarness(t)
	h.create(h.actor("agente@example.it"), desk.NewTicket{Subject: "Riservato ente OR 1", Channel: desk.ChannelPhone, Requester: desk.Contact{Email: "x@example.it"}})
	outsider := h.client()
	outsider.login("agente@altro.example.it")
	agent := h.client()
	agent.login("agente@example.it")
	for _, q := range []string{`' OR 1=1 --`, `"; DROP TABLE tickets; --`, `riservato') OR ('1'='1`, `*`, `NEAR(a b)`, `subject:riservato OR 1`, `\`, `%_%`} {
		for _, c := range []*client{outsider, agent} {
			res := c.get("/operatore?stato=tutti&q=" + url.QueryEscape(q))
			if res.StatusCode != http.StatusOK {
				t.Errorf("search %q: %d", q, res.StatusCode)
			}
			if c == outsider && strings.Contains(res.Body, "Riservato ente") {
				t.Errorf("search %q showed another organisation's ticket", q)
			}
		}
	}
	if n := h.f.Count(t, "tickets"); n != 1 {
		t.Fatalf("tickets table has %d rows", n)
	}
}

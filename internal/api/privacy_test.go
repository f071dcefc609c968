package api_test

import (
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/api"
)

func TestPersonalDataOverHTTP(t *testing.T) {
	e := newEnv(t)
	code, tk := e.do("requester", "POST", "/api/v1/tickets", map[string]any{"subject": "VPN non funziona",
		"description": "Dal portatile <b>non</b> mi collego.", "channel": "web"})
	if code != 201 {
		t.Fatalf("create: %d %v", code, tk)
	}
	num := tk["number"].(string)
	if code, _ := e.do("requester", "POST", "/api/v1/tickets/"+num+"/comments", map[string]any{"body": "Ancora nulla", "internal": false}); code != 201 {
		t.Fatal(code)
	}

	// JSON export (checked against the OpenAPI document by do).
	code, p := e.do("admin", "GET", "/api/v1/privacy/people/utente@example.it", nil)
	if code != 200 {
		t.Fatalf("export: %d %v", code, p)
	}
	if p["person"].(map[string]any)["email"] != "utente@example.it" || len(p["tickets"].([]any)) != 1 || len(p["messages"].([]any)) != 1 {
		t.Fatalf("export %v", p)
	}
	// Printable page: escaped, styled only by its hashed style.
	res, page := e.raw("admin", "GET", "/api/v1/privacy/people/utente@example.it?format=html")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		res.Header.Get("Content-Security-Policy") != api.PersonalDataCSP {
		t.Fatalf("html: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Security-Policy"))
	}
	if !strings.Contains(page, num) || !strings.Contains(page, "&lt;b&gt;non&lt;/b&gt;") || strings.Contains(page, "<b>non</b>") {
		t.Fatalf("html page:\n%s", page)
	}
	// Only administrators; unknown people are not found.
	for _, who := range []string{"agent", "requester", "outsider"} {
		if code, _ := e.do(who, "GET", "/api/v1/privacy/people/utente@example.it", nil); code != 403 && code != 404 {
			t.Fatalf("%s exported: %d", who, code)
		}
	}
	if code, _ := e.do("admin", "GET", "/api/v1/privacy/people/nessuno@example.it", nil); code != 404 {
		t.Fatalf("unknown person: %d", code)
	}
	if code, _ := e.do("admin", "GET", "/api/v1/privacy/people/utente@example.it?format=pdf", nil); code != 400 {
		t.Fatalf("bad format: %d", code)
	}

	// Erasure needs the confirmation, then reports what it did.
	if code, _ := e.do("admin", "POST", "/api/v1/privacy/people/utente@example.it/erasure", map[string]any{"confirm": "altro@example.it"}); code != 400 {
		t.Fatalf("unconfirmed erasure: %d", code)
	}
	if code, _ := e.do("agent", "POST", "/api/v1/privacy/people/utente@example.it/erasure", map[string]any{"confirm": "utente@example.it"}); code != 404 && code != 403 {
		t.Fatalf("agent erased: %d", code)
	}
	code, rep := e.do("admin", "POST", "/api/v1/privacy/people/utente@example.it/erasure", map[string]any{"confirm": "utente@example.it"})
	if code != 200 || rep["tickets"].(float64) != 1 || rep["messages"].(float64) != 1 {
		t.Fatalf("erasure: %d %v", code, rep)
	}
	// The erased requester's token no longer works; the ticket is still there.
	if code, _ := e.do("requester", "GET", "/api/v1/me", nil); code != 401 {
		t.Fatalf("erased person's token: %d", code)
	}
	code, got := e.do("admin", "GET", "/api/v1/tickets/"+num, nil)
	if code != 200 || got["description"] != "[oscurato]" || got["subject"] != "VPN non funziona" {
		t.Fatalf("ticket after erasure: %d %v", code, got)
	}
	uid := int(p["person"].(map[string]any)["id"].(float64))
	code, p = e.do("admin", "GET", "/api/v1/privacy/people/user:"+itoa(uid), nil)
	if code != 200 || p["person"].(map[string]any)["redacted"] != true || len(p["redactions"].([]any)) != 1 {
		t.Fatalf("export after erasure: %d %v", code, p)
	}
}

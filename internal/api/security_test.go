package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// TestTokensRefused: expired, revoked, unknown and under-scoped tokens.
func TestTokensRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.fx.Desk
	short, _, err := d.CreateScopedToken(ctx, e.fx.Agent.UserID, "breve", time.Hour, desk.AllScopes)
	if err != nil {
		t.Fatal(err)
	}
	read, _, err := d.CreateScopedToken(ctx, e.fx.Agent.UserID, "lettura", 0, desk.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["short"], e.tokens["read"] = short, read
	if code, _ := e.do("short", "GET", "/api/v1/me", nil); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	// Read scope reads, and nothing else.
	if code, _ := e.do("read", "GET", "/api/v1/tickets", nil); code != 200 {
		t.Fatalf("read token reading: %d", code)
	}
	if _, me := e.do("read", "GET", "/api/v1/me", nil); len(me["scopes"].([]any)) != 1 || me["scopes"].([]any)[0] != "read" {
		t.Fatalf("me of a read token: %v", me)
	}
	code, out := e.do("read", "POST", "/api/v1/tickets", map[string]any{"subject": "x"})
	if code != 403 || out["code"] != "forbidden" || !strings.Contains(out["message"].(string), "write") {
		t.Fatalf("read token writing: %d %v", code, out)
	}
	if n := e.count("tickets"); n != 0 {
		t.Fatalf("a read token created a ticket (%d)", n)
	}
	// Past its expiry the token is refused, even though it was cached.
	e.fx.Clock.Set(time.Date(2026, 3, 2, 10, 0, 1, 0, time.UTC))
	if code, out := e.do("short", "GET", "/api/v1/me", nil); code != 401 || out["code"] != "unauthorized" {
		t.Fatalf("expired token: %d %v", code, out)
	}
	// A revoked token is refused at once.
	if code, _ := e.do("agent", "GET", "/api/v1/me", nil); code != 200 {
		t.Fatal("agent token")
	}
	if err := d.RevokeToken(ctx, e.tokens["agent"]); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.do("agent", "GET", "/api/v1/me", nil); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	e.tokens["forged"] = "spt_" + strings.Repeat("A", 43)
	if code, _ := e.do("forged", "GET", "/api/v1/me", nil); code != 401 {
		t.Fatalf("unknown token: %d", code)
	}
}

// TestSQLLookingSearchAPI: search terms that look like SQL are words.
func TestSQLLookingSearchAPI(t *testing.T) {
	e := newEnv(t)
	e.fx.Create(t, e.fx.Agent, desk.NewTicket{Subject: "Riservato ente", Channel: desk.ChannelPhone, Requester: desk.Contact{Email: "x@example.it"}})
	for _, q := range []string{`' OR 1=1 --`, `"; DROP TABLE tickets; --`, `riservato') OR ('1'='1`, `*`, `NEAR(a b)`, `\`, `%`} {
		for _, who := range []string{"outsider", "agent", "requester"} {
			code, out := e.do(who, "GET", "/api/v1/tickets?q="+url.QueryEscape(q), nil)
			if code != 200 {
				t.Errorf("%s searching %q: %d %v", who, q, code, out)
				continue
			}
			if who == "outsider" && len(out["items"].([]any)) != 0 {
				t.Errorf("outsider searching %q got %v", q, out["items"])
			}
		}
	}
	if n := e.count("tickets"); n != 1 {
		t.Fatalf("%d tickets", n)
	}
}

// TestInjectionOverAPI: HTML in JSON is escaped, attachment names are
// neutralised and hostile types download as octet-stream.
func TestInjectionOverAPI(t *testing.T) {
	e := newEnv(t)
	code, tk := e.do("agent", "POST", "/api/v1/tickets", map[string]any{"subject": `<script>alert(1)</script>`, "description": "<img src=x onerror=alert(1)>",
		"channel": "phone", "requester": map[string]any{"email": "a@example.it", "name": `"><svg onload=alert(1)>`},
		"attachments": []map[string]any{{"name": "..\\..\\evil\u202Egnp.html", "content_type": "text/html", "data": "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="}}})
	if code != 201 {
		t.Fatalf("create: %d %v", code, tk)
	}
	num := tk["number"].(string)
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/tickets/"+num, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["agent"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(raw), "<script>") || strings.Contains(string(raw), "<img") || !strings.Contains(string(raw), `\u003cscript\u003e`) {
		t.Fatalf("HTML not escaped in JSON: %s", raw)
	}
	_, tl := e.do("agent", "GET", "/api/v1/tickets/"+num+"/messages", nil)
	atts := tl["attachments"].([]any)
	a := atts[0].(map[string]any)
	if name := a["name"].(string); strings.ContainsAny(name, "/\\\u202E") {
		t.Fatalf("attachment name %q", name)
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/api/v1/tickets/"+num+"/attachments/"+itoa(int(a["id"].(float64))), nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["agent"])
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cd := res.Header.Get("Content-Disposition")
	if res.Header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(cd, "attachment;") || strings.ContainsAny(cd, "/\\\u202E") ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download headers: %v", res.Header)
	}
}

// TestSelfServiceTokens: mint a narrower, expiring token, list it, use it
// within its scope, revoke it.
func TestSelfServiceTokens(t *testing.T) {
	e := newEnv(t)
	code, out := e.do("agent", "POST", "/api/v1/tokens", map[string]any{"name": "cruscotto", "scopes": []string{"read"}, "expires_in_days": 7})
	if code != 201 || !strings.HasPrefix(out["token"].(string), "spt_") || out["expires_at"] == nil {
		t.Fatalf("mint: %d %v", code, out)
	}
	e.tokens["minted"] = out["token"].(string)
	id := int(out["id"].(float64))
	if code, _ := e.do("minted", "GET", "/api/v1/tickets", nil); code != 200 {
		t.Fatalf("minted token reading: %d", code)
	}
	if code, _ := e.do("minted", "POST", "/api/v1/tokens", map[string]any{"name": "x", "scopes": []string{"read"}, "expires_in_days": 7}); code != 403 {
		t.Fatalf("a read-only token minted a token: %d", code)
	}
	for _, bad := range []map[string]any{
		{"name": "x", "scopes": []string{"read"}, "expires_in_days": 0},
		{"name": "x", "scopes": []string{"read"}, "expires_in_days": 400},
		{"name": "x", "scopes": []string{"root"}, "expires_in_days": 7},
		{"name": "", "scopes": []string{"read"}, "expires_in_days": 7},
	} {
		if code, out := e.do("agent", "POST", "/api/v1/tokens", bad); code != 400 {
			t.Errorf("mint %v: %d %v", bad, code, out)
		}
	}
	_, list := e.do("agent", "GET", "/api/v1/tokens", nil)
	found := false
	for _, it := range list["items"].([]any) {
		m := it.(map[string]any)
		if _, leaked := m["token"]; leaked {
			t.Fatal("the list shows a secret")
		}
		found = found || m["name"] == "cruscotto"
	}
	if !found {
		t.Fatalf("minted token not listed: %v", list)
	}
	if code, _ := e.do("outsider", "DELETE", "/api/v1/tokens/"+itoa(id), nil); code != 404 {
		t.Fatalf("someone else revoked it: %d", code)
	}
	if code, _ := e.do("agent", "DELETE", "/api/v1/tokens/"+itoa(id), nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _ := e.do("minted", "GET", "/api/v1/tickets", nil); code != 401 {
		t.Fatalf("revoked minted token: %d", code)
	}
	// The domain refuses scopes the caller's token lacks.
	a, err := e.fx.Desk.TokenActor(context.Background(), e.tokens["agent"])
	if err != nil {
		t.Fatal(err)
	}
	a.Scopes = desk.ScopeRead | desk.ScopeAdmin
	if _, _, err := e.fx.Desk.IssueToken(context.Background(), a, "x", time.Hour, desk.ScopeWrite); desk.ErrorCode(err) != desk.EForbidden {
		t.Fatalf("minted a wider token: %v", err)
	}
}

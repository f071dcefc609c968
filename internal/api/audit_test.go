package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

func (e *env) raw(who, method, path string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[who])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// TestWhoApprovedTheFirewallRule: an administrator finds who approved a
// firewall-rule request and when, in the audit log, over the API.
func TestWhoApprovedTheFirewallRule(t *testing.T) {
	e := newEnv(t)
	withWorkflow(t, e)
	code, tk := e.do("requester", "POST", "/api/v1/tickets", map[string]any{"subject": "Apertura porta 8443 verso il server protocollo",
		"description": "Regola firewall per il nuovo gestionale.", "service": "sicurezza-informatica", "channel": "web"})
	if code != 201 {
		t.Fatalf("create: %d %v", code, tk)
	}
	num := tk["number"].(string)
	if code, out := e.do("agent", "POST", "/api/v1/tickets/"+num+"/phases/ricezione/complete", map[string]any{"note": "ricevuta"}); code != 200 && code != 409 {
		t.Fatalf("receipt: %d %v", code, out)
	}
	if code, out := e.do("approver", "POST", "/api/v1/tickets/"+num+"/approval", map[string]any{"decision": "approve", "reason": "regola conforme alla policy"}); code != 200 {
		t.Fatalf("approve: %d %v", code, out)
	}

	// The administrator asks the audit log about the ticket.
	code, page := e.do("admin", "GET", "/api/v1/audit?action=approval.&target=ticket:"+num, nil)
	if code != 200 {
		t.Fatalf("audit: %d %v", code, page)
	}
	items := page["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("want one approval entry, got %v", items)
	}
	it := items[0].(map[string]any)
	at, err := time.Parse(time.RFC3339Nano, it["at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if it["action"] != "approval.approve" || !strings.Contains(it["actor"].(string), "responsabile@example.it") ||
		!strings.Contains(it["actor"].(string), "Luigi Settembrini") || !strings.Contains(it["detail"].(string), "regola conforme alla policy") ||
		it["organisation"] != "ente" || at.Format("2006-01-02") != e.fx.Clock.Now().Format("2006-01-02") {
		t.Fatalf("approval entry %v", it)
	}
	// By the approver's e-mail too.
	if _, p := e.do("admin", "GET", "/api/v1/audit?actor=responsabile@example.it&action=approval.approve", nil); len(p["items"].([]any)) != 1 {
		t.Fatalf("by actor: %v", p)
	}
	if _, p := e.do("admin", "GET", "/api/v1/audit?actor=nessuno@example.it", nil); len(p["items"].([]any)) != 0 {
		t.Fatalf("unknown actor: %v", p)
	}
	// Nobody else may read it.
	for _, who := range []string{"agent", "approver", "requester"} {
		if code, _ := e.do(who, "GET", "/api/v1/audit", nil); code != 403 {
			t.Fatalf("%s read the audit log: %d", who, code)
		}
	}
	if code, _ := e.do("", "GET", "/api/v1/audit", nil); code != 401 {
		t.Fatalf("anonymous: %d", code)
	}
	for _, q := range []string{"since=ieri", "limit=0", "cursor=abc", "format=xml", "organisation=nessuna"} {
		if code, _ := e.do("admin", "GET", "/api/v1/audit?"+q, nil); code != 400 {
			t.Fatalf("%s: %d", q, code)
		}
	}
}

func TestAuditCSVExport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A failed log-in whose typed login is a spreadsheet formula.
	_, _ = e.fx.Desk.Authenticate(ctx, "=HYPERLINK(\"http://x\")", "x")
	if err := e.fx.Desk.Audit(ctx, e.fx.Admin, desk.AuditEntry{Action: "rule.update", Target: "rule:5", Detail: "+cmd|' /C calc'!A0"}); err != nil {
		t.Fatal(err)
	}
	res, body := e.raw("admin", "GET", "/api/v1/audit?format=csv")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.HasPrefix(body, "\uFEFFid;at;organisation;actor_id;actor;action;target;detail;remote\r\n") {
		t.Fatalf("header: %q", body[:80])
	}
	if !strings.Contains(strings.ToLower(body), `'=hyperlink`) || !strings.Contains(body, `'+cmd|`) || strings.Contains(strings.ToLower(body), ";=hyperlink") || strings.Contains(body, ";+cmd") {
		t.Fatalf("formulas not neutralised:\n%s", body)
	}
	// The export is itself audited.
	_, p := e.do("admin", "GET", "/api/v1/audit?action=export.audit", nil)
	if items := p["items"].([]any); len(items) != 1 || !strings.Contains(items[0].(map[string]any)["detail"].(string), "csv") {
		t.Fatalf("export not audited: %v", p)
	}
	if res, _ := e.raw("agent", "GET", "/api/v1/audit?format=csv"); res.StatusCode != 403 {
		t.Fatalf("agent csv: %d", res.StatusCode)
	}
	if res, _ := e.raw("agent", "GET", "/api/v1/audit?format=csv&actor=nessuno@example.it"); res.StatusCode != 403 {
		t.Fatalf("agent csv for nobody: %d", res.StatusCode)
	}
}

package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/workflow"
)

// withWorkflow rebuilds the env's server with the workflow engine, the
// Province's catalogue in the fixture's organisation and an approver.
func withWorkflow(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	wf := workflow.New(workflow.Opts{Desk: e.fx.Desk})
	e.fx.Desk.SetHooks(wf.GuardTransition, func(ctx context.Context, k desk.Ticket) {
		if k.ServiceID != 0 {
			if _, err := wf.StartPhases(ctx, desk.SystemActor, k.Number); err != nil {
				t.Errorf("start phases: %v", err)
			}
		}
	})
	cat, err := catalog.ProvinciaBrindisi()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wf.ImportCatalogue(ctx, desk.SystemActor, "ente", cat); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fx.Desk.CreateOrg(ctx, desk.SystemActor, desk.NewOrg{Code: "provincia-brindisi", Name: "Provincia di Brindisi"}); err != nil {
		t.Fatal(err)
	}
	if _, err := wf.ImportCatalogue(ctx, desk.SystemActor, "provincia-brindisi", cat); err != nil {
		t.Fatal(err)
	}
	u, err := e.fx.Desk.EnsureUser(ctx, desk.NewUser{Email: "responsabile@example.it", Name: "Luigi Settembrini", Role: desk.RoleApprover})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.fx.Desk.CreateToken(ctx, u.ID, "approver", 0)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["approver"] = tok
	e.fx.Desk.SetFieldChecker(wf.CheckFields)
	e.srv.Config.Handler = api.New(api.Opts{Desk: e.fx.Desk, Workflow: wf, MaxBody: 2 << 20})
}

// TestServiceFieldsOverAPI: a firewall-rule request carries the service's
// own fields; they are checked by the desk, returned with the ticket and
// described by the OpenAPI document (every response here is validated).
func TestServiceFieldsOverAPI(t *testing.T) {
	e := newEnv(t)
	withWorkflow(t, e)
	body := map[string]any{"subject": "Apertura porta 443 verso il portale SUAP", "service": "sicurezza-informatica",
		"fields": map[string]any{"tipo": "regola-firewall", "sorgente": "10.1.2.0/24", "destinazione": "suap.example.it",
			"porta": "443", "protocollo": "tcp", "motivazione": "Accesso del fornitore al portale SUAP"}}
	code, tk := e.do("requester", "POST", "/api/v1/tickets", body)
	if code != 201 {
		t.Fatalf("create: %d %v", code, tk)
	}
	code, got := e.do("requester", "GET", "/api/v1/tickets/"+tk["number"].(string), nil)
	if code != 200 {
		t.Fatalf("get: %d %v", code, got)
	}
	fs, _ := got["fields"].([]any)
	if len(fs) != 6 {
		t.Fatalf("fields = %v", got["fields"])
	}
	first := fs[0].(map[string]any)
	if first["code"] != "tipo" || first["value"] != "regola-firewall" || first["text"] != "Regola firewall (creazione, modifica o cancellazione)" {
		t.Fatalf("first field = %v", first)
	}
	for name, tc := range map[string]struct {
		fields map[string]any
		says   string
	}{
		"missing justification": {map[string]any{"tipo": "regola-firewall"}, "Motivazione"},
		"bad port":              {map[string]any{"tipo": "regola-firewall", "motivazione": "x", "porta": "https"}, "Porta"},
		"unknown field":         {map[string]any{"tipo": "antivirus", "motivazione": "x", "colore": "blu"}, "colore"},
	} {
		code, out := e.do("requester", "POST", "/api/v1/tickets", map[string]any{"subject": "x", "service": "sicurezza-informatica", "fields": tc.fields})
		msg, _ := out["message"].(string)
		if code != 400 || out["code"] != "invalid_request" || !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
	// The list sorted by priority; an unknown order is refused.
	if code, out := e.do("agent", "GET", "/api/v1/tickets?order=priority&limit=5", nil); code != 200 || len(out["items"].([]any)) == 0 {
		t.Fatalf("order=priority: %d %v", code, out)
	}
	if code, out := e.do("agent", "GET", "/api/v1/tickets?order=size", nil); code != 400 || out["code"] != "invalid_request" {
		t.Fatalf("order=size: %d %v", code, out)
	}
	// Without "fields" (a client that does not know the form) the request is
	// accepted; the agent completes it.
	code, plain := e.do("requester", "POST", "/api/v1/tickets", map[string]any{"subject": "Regola firewall", "service": "sicurezza-informatica"})
	if code != 201 {
		t.Fatalf("without fields: %d %v", code, plain)
	} else if _, has := plain["fields"]; has {
		t.Fatalf("fields on a ticket without values: %v", plain)
	}
	// Staff complete them, checked the same way; requesters may not.
	path := "/api/v1/tickets/" + plain["number"].(string) + "/fields"
	if code, out := e.do("agent", "PUT", path, map[string]any{"fields": map[string]any{"tipo": "antivirus"}}); code != 400 {
		t.Fatalf("incomplete fields: %d %v", code, out)
	}
	if code, _ := e.do("requester", "PUT", path, map[string]any{"fields": map[string]any{"tipo": "antivirus", "motivazione": "x"}}); code != 403 && code != 404 {
		t.Fatalf("requester sets fields: %d", code)
	}
	code, done := e.do("agent", "PUT", path, map[string]any{"fields": map[string]any{"tipo": "antivirus", "motivazione": "Aggiornare le firme"}})
	if fs, _ := done["fields"].([]any); code != 200 || len(fs) != 2 {
		t.Fatalf("set fields: %d %v", code, done)
	}
	_, hist := e.do("agent", "GET", "/api/v1/tickets/"+plain["number"].(string)+"/history", nil)
	if !strings.Contains(fmt.Sprint(hist), "Tipo di richiesta, Motivazione") {
		t.Errorf("history: %v", hist)
	}
}

// TestPrinterFailureScenario is scenario 7 over the API: evaluation,
// acceptance by the IT manager, supplier call with its reference,
// verification with the employee, closure — each step in the history.
func TestPrinterFailureScenario(t *testing.T) {
	e := newEnv(t)
	withWorkflow(t, e)
	code, tk := e.do("requester", "POST", "/api/v1/tickets", map[string]any{"subject": "Stampante di rete guasta al primo piano",
		"description": "La stampante segnala inceppamento continuo.", "service": "dispositivi-hardware-sito-web", "channel": "web"})
	if code != 201 {
		t.Fatalf("create: %d %v", code, tk)
	}
	num := tk["number"].(string)
	_, p := e.do("agent", "GET", "/api/v1/tickets/"+num+"/phases", nil)
	if p["started"] != true || len(p["phases"].([]any)) < 3 {
		t.Fatalf("phases not started: %v", p)
	}
	// The gate holds whatever the path: a plain transition and an agent's approval are refused.
	if code, out := e.do("agent", "POST", "/api/v1/tickets/"+num+"/transitions", map[string]any{"to": "resolved"}); code != 409 {
		t.Fatalf("resolve before approval: %d %v", code, out)
	}
	if code, _ := e.do("agent", "POST", "/api/v1/tickets/"+num+"/approval", map[string]any{"decision": "approve", "reason": "ok"}); code != 403 && code != 404 {
		t.Fatalf("agent approved: %d", code)
	}
	if code, out := e.do("approver", "POST", "/api/v1/tickets/"+num+"/approval", map[string]any{"decision": "maybe"}); code != 400 {
		t.Fatalf("bad decision: %d %v", code, out)
	}
	if code, out := e.do("approver", "POST", "/api/v1/tickets/"+num+"/approval", map[string]any{"decision": "approve", "reason": "Intervento autorizzato"}); code != 200 {
		t.Fatalf("approve: %d %v", code, out)
	}
	code, call := e.do("agent", "POST", "/api/v1/tickets/"+num+"/supplier-calls", map[string]any{"supplier": "Olivetti S.p.A.", "contact": "800 123 456", "reference": "OLV-2026-4471"})
	if code != 201 || call["reference"] != "OLV-2026-4471" {
		t.Fatalf("supplier call: %d %v", code, call)
	}
	_, got := e.do("agent", "GET", "/api/v1/tickets/"+num, nil)
	if got["status"] != "waiting_supplier" {
		t.Fatalf("status after supplier call: %v", got["status"])
	}
	id := int(call["id"].(float64))
	if code, out := e.do("agent", "POST", "/api/v1/tickets/"+num+"/supplier-calls/"+itoa(id)+"/resolve", map[string]any{"resolution": "Sostituito il fusore"}); code != 200 || out["resolved_at"] == nil {
		t.Fatalf("supplier resolved: %d %v", code, out)
	}
	if code, out := e.do("agent", "POST", "/api/v1/tickets/"+num+"/verification", map[string]any{"cause": map[string]any{"category": "hardware", "text": "Fusore guasto"}, "note": "Verificato con il dipendente"}); code != 200 {
		t.Fatalf("verification: %d %v", code, out)
	}
	if code, out := e.do("requester", "POST", "/api/v1/tickets/"+num+"/transitions", map[string]any{"to": "closed"}); code != 200 || out["status"] != "closed" {
		t.Fatalf("requester confirms: %d %v", code, out)
	}
	_, p = e.do("agent", "GET", "/api/v1/tickets/"+num+"/phases", nil)
	aps := p["approvals"].([]any)
	if len(aps) != 1 || aps[0].(map[string]any)["approver"].(map[string]any)["name"] != "Luigi Settembrini" {
		t.Fatalf("approvals: %v", aps)
	}
	_, hist := e.do("agent", "GET", "/api/v1/tickets/"+num+"/history", nil)
	seen := map[string]bool{}
	for _, it := range hist["items"].([]any) {
		seen[it.(map[string]any)["field"].(string)] = true
	}
	for _, f := range []string{workflow.EventPhase, workflow.EventApproval, "status", "cause"} {
		if !seen[f] {
			t.Errorf("history has no %q entry: %v", f, seen)
		}
	}
}

func TestCatalogueExportImport(t *testing.T) {
	e := newEnv(t)
	withWorkflow(t, e)
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/catalogue?organisation=provincia-brindisi", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["admin"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	yaml, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(yaml), "Dr. Luigi Settembrini") {
		t.Fatalf("export: %d %.200s", res.StatusCode, yaml)
	}
	put := func(who, body string) (int, string) {
		req, _ := http.NewRequest("PUT", e.srv.URL+"/api/v1/catalogue?organisation=provincia-brindisi", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.tokens[who])
		req.Header.Set("Content-Type", "application/yaml")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	if code, out := put("admin", string(yaml)); code != 200 || !strings.Contains(out, `"changed":false`) {
		t.Fatalf("re-import of the export changed something: %d %s", code, out)
	}
	bad := strings.Replace(string(yaml), "name:", "nome:", 1)
	code, out := put("admin", bad)
	if code != 400 || !strings.Contains(out, "line") || !strings.Contains(out, "nome") {
		t.Fatalf("bad file: %d %s", code, out)
	}
	if code, _ := put("agent", string(yaml)); code != 403 && code != 404 {
		t.Fatalf("agent imported a catalogue: %d", code)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

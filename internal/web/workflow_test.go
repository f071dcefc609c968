package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/workflow"
)

// newWorkflowHarness is the web UI with the workflow engine wired as in
// serve, the seed catalogues loaded and the Provincia di Brindisi's IT
// office: an agent, a collaborator, the IT manager and an employee.
func newWorkflowHarness(t testing.TB) (*harness, *workflow.Engine) {
	var wf *workflow.Engine
	setup := func(t testing.TB, f *storetest.Fixture) {
		ctx := context.Background()
		wf = workflow.New(workflow.Opts{Desk: f.Desk})
		f.Desk.SetHooks(wf.GuardTransition, func(ctx context.Context, tk desk.Ticket) {
			if tk.ServiceID != 0 {
				if _, err := wf.StartPhases(ctx, desk.SystemActor, tk.Number); err != nil {
					t.Errorf("start phases: %v", err)
				}
			}
		})
		f.Desk.SetFieldChecker(wf.CheckFields)
		if err := wf.LoadSeeds(ctx); err != nil {
			t.Fatal(err)
		}
		for _, u := range []struct {
			email, name string
			role        desk.Role
		}{
			{"antonio.pugliese@provincia.brindisi.it", "Antonio Pugliese", desk.RoleAgent},
			{"piero.nolasco@provincia.brindisi.it", "Piero Nolasco", desk.RoleAgent},
			{"luigi.settembrini@provincia.brindisi.it", "Luigi Settembrini", desk.RoleApprover},
			{"mario.rossi@provincia.brindisi.it", "Mario Rossi", desk.RoleRequester},
		} {
			if _, err := f.Desk.EnsureUser(ctx, desk.NewUser{Email: u.email, Name: u.name, Role: u.role, OrgCode: workflow.OrgProvinciaBrindisi, Password: testPassword}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h := newHarnessWith(t, []func(testing.TB, *storetest.Fixture){setup}, func(o *Opts) { o.Workflow = wf })
	return h, wf
}

// TestScenario7InTheBrowserForms runs scenario 7 through the pages: a
// printer failure registered by phone, accepted by the IT manager, worked
// on site by a collaborator, the supplier called with their reference,
// verified with the employee and closed — every step in the history.
func TestScenario7ThroughThePages(t *testing.T) {
	h, _ := newWorkflowHarness(t)
	agent, tech, boss, emp := h.client(), h.client(), h.client(), h.client()
	agent.login("antonio.pugliese@provincia.brindisi.it")
	tech.login("piero.nolasco@provincia.brindisi.it")
	boss.login("luigi.settembrini@provincia.brindisi.it")
	emp.login("mario.rossi@provincia.brindisi.it")

	res := agent.post("/operatore/chiamata", url.Values{"action": {"register"}, "caller": {"mario.rossi@provincia.brindisi.it"},
		"service": {"dispositivi-hardware-sito-web"}, "subject": {"Stampante di rete del secondo piano guasta"}, "channel": {"phone"},
		"f.dispositivi-hardware-sito-web.dispositivo": {"stampante-rete"}, "f.dispositivi-hardware-sito-web.ubicazione": {"Secondo piano"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d\n%s", res.StatusCode, res.Body)
	}
	page := res.Header.Get("Location")
	number := strings.TrimPrefix(page, "/operatore/ticket/")
	base := page + "/fasi/"

	body := agent.get(page).Body
	mustContain(t, body, "Fasi del servizio", `aria-current="step"`, "richiede l&#39;approvazione del responsabile", "In attesa della decisione di un responsabile")
	mustNotContain(t, body, `id="approve-form"`)
	// The gate holds for the agent.
	if res := agent.post(base+"completa", url.Values{"code": {"accettazione"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("passing the gate without approval: %d", res.StatusCode)
	}
	if res := agent.post(base+"approva", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("agent approving: %d", res.StatusCode)
	}
	// The IT manager approves from the page.
	mustContain(t, boss.get(page).Body, `id="approve-form"`)
	if res := boss.post(base+"approva", url.Values{"decision_reason": {"Intervento autorizzato"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.StatusCode, res.Body)
	}
	// Assignment to the collaborator, who works on site.
	if res := agent.post(page+"/assegna", url.Values{"assignee": {"piero.nolasco@provincia.brindisi.it"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("assign: %d", res.StatusCode)
	}
	if res := tech.post(base+"completa", url.Values{"code": {"intervento"}, "note": {"Fusore da sostituire"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("complete: %d %s", res.StatusCode, res.Body)
	}
	if res := tech.post(base+"fornitore", url.Values{"supplier": {""}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("supplier without a name: %d", res.StatusCode)
	} else {
		mustContain(t, res.Body, "Indica il fornitore.")
	}
	if res := tech.post(base+"fornitore", url.Values{"supplier": {"Copiatrici Salento s.r.l."}, "reference": {"TT-2026-4471"}, "contact": {"0831 000000"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("call supplier: %d %s", res.StatusCode, res.Body)
	}
	body = tech.get(page).Body
	mustContain(t, body, "TT-2026-4471", "in attesa del fornitore", `id="supplier-resolved-form"`, "In attesa del fornitore")
	// Resolving while the supplier works is refused.
	if res := tech.post(page+"/stato", url.Values{"to": {"resolved"}}); res.StatusCode != http.StatusConflict {
		t.Errorf("resolve with an open call: %d", res.StatusCode)
	}
	if res := tech.post(base+"fornitore-risolto", url.Values{"resolution": {"Fusore sostituito"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("supplier resolved: %d %s", res.StatusCode, res.Body)
	}
	if res := tech.post(page+"/stato", url.Values{"to": {"resolved"}, "cause_category": {"hardware"}, "cause_text": {"Gruppo fusore guasto"}, "reason": {"Stampante di nuovo in funzione"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d %s", res.StatusCode, res.Body)
	}
	// The employee verifies and confirms in the portal.
	req := emp.get("/richieste/" + number).Body
	mustContain(t, req, "Il problema è risolto?", "Fasi del servizio", "TT-2026-4471", "Approvazione: «")
	mustNotContain(t, req, "0831 000000", "Fusore da sostituire")
	if res := emp.post("/richieste/"+number+"/conferma", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", res.StatusCode, res.Body)
	}
	tk, err := h.f.Desk.Ticket(context.Background(), h.actor("antonio.pugliese@provincia.brindisi.it"), number)
	if err != nil || tk.Status != desk.StatusClosed || tk.Cause.Category != "hardware" {
		t.Fatalf("ticket %+v %v", tk, err)
	}
	body = agent.get(page).Body
	for _, want := range []string{
		"Richiesta registrata (canale: Telefono)",
		"Approvazione: «",
		"Intervento autorizzato",
		"Assegnatario: da — a piero.nolasco@provincia.brindisi.it",
		"Chiamato il fornitore: Copiatrici Salento s.r.l. — rif. TT-2026-4471",
		"Il fornitore ha risolto: Copiatrici Salento s.r.l. — rif. TT-2026-4471",
		"Chiesta la verifica al richiedente",
		"Il richiedente ha confermato la soluzione",
		"Stato: da «Risolto» a «Chiuso»",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	if strings.Contains(body, "⟦") {
		t.Error("missing translation on the ticket page")
	}
}

// TestRejectionThroughThePages: the IT manager refuses a firewall rule.
func TestRejectionThroughThePages(t *testing.T) {
	h, _ := newWorkflowHarness(t)
	emp, boss := h.client(), h.client()
	emp.login("mario.rossi@provincia.brindisi.it")
	boss.login("luigi.settembrini@provincia.brindisi.it")
	res := emp.postMultipart("/richieste/nuova", url.Values{"service": {"sicurezza-informatica"}, "subject": {"Apertura porta 8443 verso il gestionale"},
		"f.sicurezza-informatica.tipo": {"regola-firewall"}, "f.sicurezza-informatica.motivazione": {"Accesso al gestionale"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new request: %d %s", res.StatusCode, res.Body)
	}
	number := strings.TrimPrefix(res.Header.Get("Location"), "/richieste/")
	if res := boss.post("/operatore/ticket/"+number+"/fasi/respingi", url.Values{"decision_reason": {""}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("reject without a reason: %d", res.StatusCode)
	}
	if res := boss.post("/operatore/ticket/"+number+"/fasi/respingi", url.Values{"decision_reason": {"Porta non necessaria"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", res.StatusCode, res.Body)
	}
	mustContain(t, emp.get("/richieste/"+number).Body, "Annullato", "respinta", "Porta non necessaria")
}

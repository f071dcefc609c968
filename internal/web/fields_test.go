package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
)

// TestServiceFieldsThroughThePages: the portal's form for a firewall rule
// shows what the service needs; the desk's refusals show by the field
// with what was typed kept; the values show on the request and on the
// agent's ticket page, in both languages; the phone registration form
// carries every service's fields and enforces the chosen one's.
func TestServiceFieldsThroughThePages(t *testing.T) {
	h, _ := newWorkflowHarness(t)
	emp, agent := h.client(), h.client()
	emp.login("mario.rossi@provincia.brindisi.it")
	agent.login("antonio.pugliese@provincia.brindisi.it")

	form := emp.get("/richieste/nuova?servizio=sicurezza-informatica").Body
	mustContain(t, form, "Informazioni richieste dal servizio", `for="f-sicurezza-informatica-porta">Porta`,
		`name="f.sicurezza-informatica.tipo" required aria-required="true"`, `<option value="regola-firewall">Regola firewall (creazione, modifica o cancellazione)</option>`,
		`id="f-sicurezza-informatica-sorgente-hint">Per le regole firewall`, `type="date"`)
	// A service without fields has none.
	mustNotContain(t, emp.get("/richieste/nuova?servizio=telefonia-fissa").Body, "Informazioni richieste dal servizio")

	post := url.Values{"service": {"sicurezza-informatica"}, "subject": {"Apertura porta 443 verso il portale SUAP"},
		"f.sicurezza-informatica.tipo": {"regola-firewall"}, "f.sicurezza-informatica.sorgente": {"10.1.2.0/24"},
		"f.sicurezza-informatica.destinazione": {"suap.example.it"}, "f.sicurezza-informatica.porta": {"443"}}
	res := emp.postMultipart("/richieste/nuova", post)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("without the justification: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `<a href="#f-sicurezza-informatica-motivazione">Questo campo è obbligatorio.</a>`,
		`id="f-sicurezza-informatica-motivazione-error">Questo campo è obbligatorio.`, `value="10.1.2.0/24"`, `<option value="regola-firewall" selected>`)
	post.Set("f.sicurezza-informatica.motivazione", "Accesso del fornitore al portale SUAP")
	post.Set("f.sicurezza-informatica.porta", "https")
	res = emp.postMultipart("/richieste/nuova", post)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "Indica un numero, ad esempio 443.") {
		t.Fatalf("bad port: %d", res.StatusCode)
	}
	post.Set("f.sicurezza-informatica.porta", "443")
	res = emp.postMultipart("/richieste/nuova", post)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("good request: %d %s", res.StatusCode, res.Body)
	}
	number := strings.TrimPrefix(res.Header.Get("Location"), "/richieste/")
	mustContain(t, emp.get("/richieste/"+number).Body, "Dati della richiesta", "<dt>Tipo di richiesta</dt><dd class=\"sp-pre\">Regola firewall (creazione, modifica o cancellazione)</dd>",
		"<dt>Porta</dt><dd class=\"sp-pre\">443</dd>", "Accesso del fornitore al portale SUAP")
	mustContain(t, agent.get("/operatore/ticket/"+number).Body, "<dt>Sorgente</dt><dd class=\"sp-pre\">10.1.2.0/24</dd>")
	agent.setLang("en")
	mustContain(t, agent.get("/operatore/ticket/"+number).Body, "Request details", "<dt>Type of request</dt><dd class=\"sp-pre\">Firewall rule (create, change or delete)</dd>")
	agent.setLang("it")

	// Phone registration: every service's fields, none with the HTML
	// required attribute (only the chosen service's apply).
	call := agent.get("/operatore/chiamata").Body
	mustContain(t, call, `data-sp-service="sicurezza-informatica"`, `data-sp-service="dispositivi-hardware-sito-web"`, "Informazioni per «",
		`name="f.dispositivi-hardware-sito-web.ubicazione"`)
	mustNotContain(t, call, `name="f.sicurezza-informatica.tipo" required`)
	reg := url.Values{"action": {"register"}, "caller": {"mario.rossi@provincia.brindisi.it"}, "service": {"dispositivi-hardware-sito-web"},
		"subject": {"Fotocopiatore bloccato"}, "channel": {"phone"}, "f.sicurezza-informatica.porta": {"non conta"}}
	res = agent.post("/operatore/chiamata", reg)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("call without the device: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `id="f-dispositivi-hardware-sito-web-dispositivo-error">Questo campo è obbligatorio.`, `value="non conta"`)
	reg.Set("f.dispositivi-hardware-sito-web.dispositivo", "fotocopiatore")
	res = agent.post("/operatore/chiamata", reg)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("call: %d %s", res.StatusCode, res.Body)
	}
	mustContain(t, agent.get(res.Header.Get("Location")).Body, "<dt>Dispositivo</dt><dd class=\"sp-pre\">Fotocopiatore</dd>")

	// A request that came by e-mail has no values: the agent completes
	// them on the ticket page; the desk checks them the same way.
	plain := h.create(h.actor("antonio.pugliese@provincia.brindisi.it"), desk.NewTicket{Subject: "Stampante", Service: "dispositivi-hardware-sito-web",
		Channel: desk.ChannelEmail, Requester: desk.Contact{Email: "mario.rossi@provincia.brindisi.it"}})
	page := "/operatore/ticket/" + plain.Number
	mustContain(t, agent.get(page).Body, `action="`+page+`/dati"`, `name="f.dispositivi-hardware-sito-web.dispositivo" required`)
	res = agent.post(page+"/dati", url.Values{"f.dispositivi-hardware-sito-web.ubicazione": {"Piano terra"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("incomplete: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `<details class="mt-2 mb-3" id="dati" open>`, `id="f-dispositivi-hardware-sito-web-dispositivo-error">Questo campo è obbligatorio.`, `value="Piano terra"`)
	res = agent.post(page+"/dati", url.Values{"f.dispositivi-hardware-sito-web.dispositivo": {"stampante-locale"}, "f.dispositivi-hardware-sito-web.ubicazione": {"Piano terra"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("complete: %d %s", res.StatusCode, res.Body)
	}
	body := agent.get(page).Body
	mustContain(t, body, "<dt>Dispositivo</dt><dd class=\"sp-pre\">Stampante locale</dd>", "Dati della richiesta aggiornati: Dispositivo, Ubicazione",
		`<option value="stampante-locale" selected>`)
	if res := emp.post(page+"/dati", url.Values{"f.dispositivi-hardware-sito-web.dispositivo": {"fotocopiatore"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("requester completing fields: %d", res.StatusCode)
	}
}

// TestApprovalsList: the IT manager's "waiting for my approval" list shows
// a firewall request until it is approved; agents have no such list.
func TestApprovalsList(t *testing.T) {
	h, _ := newWorkflowHarness(t)
	emp, boss, agent := h.client(), h.client(), h.client()
	emp.login("mario.rossi@provincia.brindisi.it")
	boss.login("luigi.settembrini@provincia.brindisi.it")
	agent.login("antonio.pugliese@provincia.brindisi.it")
	res := emp.postMultipart("/richieste/nuova", url.Values{"service": {"sicurezza-informatica"}, "subject": {"Regola firewall per il SUAP"},
		"f.sicurezza-informatica.tipo": {"regola-firewall"}, "f.sicurezza-informatica.motivazione": {"Portale SUAP"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new request: %d", res.StatusCode)
	}
	number := strings.TrimPrefix(res.Header.Get("Location"), "/richieste/")
	list := boss.get("/operatore/approvazioni")
	if list.StatusCode != http.StatusOK {
		t.Fatalf("approvals: %d", list.StatusCode)
	}
	mustContain(t, list.Body, `href="/operatore/approvazioni" aria-current="page">Da approvare`, `href="/operatore/ticket/`+number+`#fasi"`,
		"Regola firewall per il SUAP", "Assistenza tecnica per la gestione della sicurezza informatica")
	if res := agent.get("/operatore/approvazioni"); res.StatusCode != http.StatusForbidden {
		t.Errorf("agent's approvals: %d", res.StatusCode)
	}
	mustNotContain(t, agent.get("/operatore").Body, `href="/operatore/approvazioni"`)
	if res := boss.post("/operatore/ticket/"+number+"/fasi/approva", url.Values{"decision_reason": {"Va bene"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", res.StatusCode, res.Body)
	}
	list = boss.get("/operatore/approvazioni")
	mustContain(t, list.Body, "Nessuna richiesta attende la tua approvazione.")
	mustNotContain(t, list.Body, "/operatore/ticket/"+number+"#fasi")
}

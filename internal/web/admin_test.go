package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/workflow"
)

// newAdminHarness is the web UI with the mail administration and the
// catalogue wired as in serve.
func newAdminHarness(t testing.TB) *harness {
	var ma *mail.Admin
	var wf *workflow.Engine
	setup := func(t testing.TB, f *storetest.Fixture) {
		var err error
		if ma, err = mail.NewAdmin(f.Desk, []byte("0123456789abcdef0123456789abcdef")); err != nil {
			t.Fatal(err)
		}
		wf = workflow.New(workflow.Opts{Desk: f.Desk})
	}
	return newHarnessWith(t, []func(testing.TB, *storetest.Fixture){setup}, func(o *Opts) { o.Mail, o.Catalogue = ma, wf })
}

// adminPages are every administration page, for smoke and axe tests.
var adminPages = []string{"/admin", "/admin?giorni=30", "/admin/utenti", "/admin/enti", "/admin/code", "/admin/servizi", "/admin/caselle",
	"/admin/servizi/new", "/admin/regole", "/admin/indirizzi", "/admin/uffici", "/admin/risposte", "/admin/posta", "/admin/registro",
	"/admin/dati-personali", "/admin/dati-personali?persona=utente@example.it"}

func TestAdminPagesAccess(t *testing.T) {
	h := newAdminHarness(t)
	admin := h.client()
	admin.login("admin@example.it")
	for _, lang := range []string{"it", "en"} {
		admin.setLang(lang)
		for _, p := range adminPages {
			res := admin.get(p)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d\n%s\n%s", lang, p, res.StatusCode, res.Body, h.logs)
			}
			mustNotContain(t, res.Body, "⟦")
		}
	}
	// Agents and requesters are refused every administration page; the
	// approver sees the dashboard only.
	for _, who := range []string{"agente@example.it", "utente@example.it"} {
		c := h.client()
		c.login(who)
		for _, p := range adminPages {
			if res := c.get(p); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", who, p, res.StatusCode)
			}
		}
		if res := c.post("/admin/utenti", url.Values{"email": {"x@example.it"}, "role": {"admin"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s created a user: %d", who, res.StatusCode)
		}
	}
	anon := h.client()
	if res := anon.get("/admin"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous /admin: %d", res.StatusCode)
	}
}

func TestAdminUsersAndAudit(t *testing.T) {
	h := newAdminHarness(t)
	c := h.client()
	c.login("admin@example.it")
	res := c.post("/admin/utenti", url.Values{"ente": {"ente"}, "email": {"nuovo.agente@example.it"}, "name": {"Nuovo Agente"},
		"role": {"agent"}, "password": {"password-lunga"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create user: %d\n%s", res.StatusCode, res.Body)
	}
	u, err := h.f.Desk.Authenticate(context.Background(), "nuovo.agente@example.it", "password-lunga")
	if err != nil || u.Role != desk.RoleAgent {
		t.Fatalf("the new agent cannot log in: %v %+v", err, u)
	}
	mustContain(t, c.get("/admin/utenti").Body, "nuovo.agente@example.it", "nuovo.agente@example.it è stato aggiunto")

	// A duplicate is a form error, not an error page.
	res = c.post("/admin/utenti", url.Values{"ente": {"ente"}, "email": {"nuovo.agente@example.it"}, "role": {"agent"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate: %d", res.StatusCode)
	}
	mustContain(t, res.Body, `aria-invalid="true"`)

	// Promote to approver, then deactivate.
	res = c.post("/admin/utenti/"+itoa(u.ID), url.Values{"role": {"approver"}, "active": {"1"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", res.StatusCode, res.Body)
	}
	res = c.post("/admin/utenti/"+itoa(u.ID), url.Values{"role": {"approver"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", res.StatusCode)
	}
	if _, err := h.f.Desk.Authenticate(context.Background(), "nuovo.agente@example.it", "password-lunga"); err == nil {
		t.Fatal("a deactivated user can log in")
	}
	// An administrator cannot demote themselves.
	self := h.actor("admin@example.it")
	res = c.post("/admin/utenti/"+itoa(self.UserID), url.Values{"role": {"agent"}, "active": {"1"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("self-demotion: %d", res.StatusCode)
	}

	// Organisations: created by installation administrators, with their triage queue.
	if res := c.post("/admin/enti", url.Values{"code": {"comune-bari"}, "name": {"Comune di Bari"}, "province": {"BA"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create org: %d\n%s", res.StatusCode, res.Body)
	}
	if res := c.post("/admin/enti", url.Values{"code": {"Non Valido"}, "name": {"X"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad org code: %d", res.StatusCode)
	}
	mustContain(t, c.get("/admin/code?ente=comune-bari").Body, "triage")
	mustContain(t, c.get("/admin/registro?azione=org.").Body, "org.create", "org:comune-bari")

	// Every change is in the audit log, filterable and exportable.
	body := c.get("/admin/registro?azione=user.").Body
	mustContain(t, body, "user.create", "user.role", "role agent → approver", "deactivated")
	csv := c.get("/admin/registro.csv?azione=user.role")
	if csv.StatusCode != http.StatusOK || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", csv.StatusCode, csv.Header.Get("Content-Type"))
	}
	mustContain(t, csv.Body, "id,at,organisation", "user.role")
	mustNotContain(t, csv.Body, "user.create")
}

func TestAdminRulesAndPreview(t *testing.T) {
	h := newAdminHarness(t)
	c := h.client()
	c.login("admin@example.it")
	form := url.Values{"ente": {"ente"}, "pos": {"-1"}, "name": {"BDNA"}, "c1_field": {"subject"}, "c1_op": {"words"}, "c1_values": {"bdna"},
		"then_queue": {"sistemi-informativi"}, "then_priority": {"high"}, "then_tags": {"BDNA, accesso"}}
	res := c.post("/admin/regole", form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save rule: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, c.get("/admin/regole").Body, "BDNA", "coda sistemi-informativi", "etichette accesso bdna")

	msg := "From: Mario Rossi <mario@example.it>\nTo: assistenza@desk.example.it\nSubject: BDNA - errore di accesso\n\nNon riesco ad accedere.\n"
	res = c.post("/admin/regole/prova", url.Values{"ente": {"ente"}, "message": {msg}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, res.Body, "Regole che corrispondono: BDNA.", "priorità Alta")
	res = c.post("/admin/regole/prova", url.Values{"ente": {"ente"}, "message": {strings.Replace(msg, "BDNA", "Altro", 1)}})
	mustContain(t, res.Body, "Nessuna regola corrisponde")

	// A draft is tried without being saved.
	draft := url.Values{"ente": {"ente"}, "pos": {"-1"}, "draft": {"1"}, "name": {"Info"}, "c1_field": {"subject"}, "c1_values": {"errore di accesso"},
		"then_service": {"stampanti"}, "at": {"first"}, "message": {msg}}
	res = c.post("/admin/regole/prova", draft)
	mustContain(t, res.Body, "Regole che corrispondono: Info.")
	mustNotContain(t, c.get("/admin/regole").Body, "Info")

	// A bad rule (unknown queue) is a form error; the rules stay.
	bad := url.Values{"ente": {"ente"}, "pos": {"-1"}, "name": {"X"}, "c1_field": {"subject"}, "c1_values": {"x"}, "then_queue": {"nessuna"}}
	if res := c.post("/admin/regole", bad); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad rule: %d", res.StatusCode)
	}
	// Move, disable, delete.
	for _, a := range []string{"toggle", "delete"} {
		if res := c.post("/admin/regole/azione", url.Values{"ente": {"ente"}, "pos": {"0"}, "action": {a}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", a, res.StatusCode)
		}
	}
	mustContain(t, c.get("/admin/registro?azione=rule.").Body, "rule.update", "deleted", "disabled=true", "added")
	// A message that is not one.
	if res := c.post("/admin/regole/prova", url.Values{"ente": {"ente"}, "message": {""}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("empty message: %d", res.StatusCode)
	}
}

func TestAdminOfficesImport(t *testing.T) {
	h := newAdminHarness(t)
	c := h.client()
	c.login("admin@example.it")
	csv := "code;name;province;pec\nut_fe;Prefettura di Ferrara;FE;protocollo.preffe@pec.interno.it\nut_bo;Prefettura di Bologna;BO;protocollo.prefbo@pec.interno.it\nbad;Senza provincia;;x@pec.it\n"
	res := c.postMultipart("/admin/uffici/anteprima", url.Values{}, file{"file", "uffici.csv", csv})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, res.Body, "Nuovi: 2 · modificati: 0 · invariati: 0", "Righe scartate: 1")
	// Nothing is written by a preview.
	mustContain(t, c.get("/admin/uffici").Body, "Rubrica attuale (0 uffici)")
	res = c.post("/admin/uffici/applica", url.Values{"csv": {csv}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("apply: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, c.get("/admin/uffici").Body, "Rubrica attuale (2 uffici)", "protocollo.preffe@pec.interno.it")
	// Importing a changed file shows what changes.
	csv2 := strings.Replace(csv, "protocollo.prefbo", "nuovo.prefbo", 1)
	res = c.postMultipart("/admin/uffici/anteprima", url.Values{}, file{"file", "uffici.csv", csv2})
	mustContain(t, res.Body, "Nuovi: 0 · modificati: 1 · invariati: 1", "<del>protocollo.prefbo@pec.interno.it</del>")
	mustContain(t, c.get("/admin/registro?azione=directory.").Body, "2 new, 0 changed")
	// Organisation administrators do not manage the shared directory.
	if _, err := h.f.Desk.EnsureUser(context.Background(), desk.NewUser{Email: "capo@altro.example.it", Role: desk.RoleAdmin, OrgCode: "altro-ente", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	o := h.client()
	o.login("capo@altro.example.it")
	if res := o.post("/admin/uffici/applica", url.Values{"csv": {csv2}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("organisation admin applied the directory: %d", res.StatusCode)
	}
}

func TestAdminOrgAdminScope(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	if _, err := h.f.Desk.EnsureUser(ctx, desk.NewUser{Email: "capo@altro.example.it", Role: desk.RoleAdmin, OrgCode: "altro-ente", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	c.login("capo@altro.example.it")
	body := c.get("/admin/utenti").Body
	mustContain(t, body, "agente@altro.example.it")
	mustNotContain(t, body, "agente@example.it<")
	// Another organisation's data is not reachable by naming it.
	if res := c.get("/admin/utenti?ente=ente"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("other organisation's users: %d", res.StatusCode)
	}
	if res := c.post("/admin/regole", url.Values{"ente": {"ente"}, "name": {"X"}}); res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("other organisation's rules: %d", res.StatusCode)
	}
	outsider := h.actor("agente@example.it")
	if res := c.post("/admin/utenti/"+itoa(outsider.UserID), url.Values{"role": {"admin"}, "active": {"1"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("promoted another organisation's agent: %d", res.StatusCode)
	}
}

func TestAdminCannedAnswersReachTickets(t *testing.T) {
	h := newAdminHarness(t)
	c := h.client()
	c.login("admin@example.it")
	res := c.post("/admin/risposte", url.Values{"ente": {"ente"}, "code": {"password"}, "title": {"Reset della password"},
		"body": {"Gentile {nome},\nla password della richiesta {numero} è stata reimpostata."}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.StatusCode, res.Body)
	}
	tk := h.create(h.actor("utente@example.it"), desk.NewTicket{Subject: "Password scaduta"})
	a := h.client()
	a.login("agente@example.it")
	body := a.get("/operatore/ticket/" + tk.Number + "?modello=ente-password").Body
	mustContain(t, body, "Reset della password", "la password della richiesta "+tk.Number+" è stata reimpostata")
}

func TestAdminDashboardAndCSV(t *testing.T) {
	h := newAdminHarness(t)
	u := h.actor("utente@example.it")
	h.create(u, desk.NewTicket{Subject: "Uno", Channel: desk.ChannelWeb})
	h.create(h.actor("agente@example.it"), desk.NewTicket{Subject: "Due", Service: "stampanti", Channel: desk.ChannelPhone, Requester: desk.Contact{Email: "m@example.it"}})
	c := h.client()
	c.login("admin@example.it")
	body := c.get("/admin?ente=ente").Body
	mustContain(t, body, "Ticket aperti (da lavorare): 2", `role="img"`, "<title id=\"ch-status-t\">Ticket in corso per stato</title>",
		"Installazione e configurazione dispositivi hardware")
	res := c.get("/admin/cruscotto.csv?ente=ente&grafico=channel")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("csv: %d", res.StatusCode)
	}
	mustContain(t, res.Body, "Canale,Ticket", "Telefono,1")
	if res := c.get("/admin/cruscotto.csv?grafico=nope"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown chart: %d", res.StatusCode)
	}
	// The approver sees the dashboard of their organisation.
	if _, err := h.f.Desk.EnsureUser(context.Background(), desk.NewUser{Email: "resp@example.it", Role: desk.RoleApprover, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	ap := h.client()
	ap.login("resp@example.it")
	mustContain(t, ap.get("/admin").Body, "Ticket aperti (da lavorare): 2")
	if res := ap.get("/admin/utenti"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("approver on users: %d", res.StatusCode)
	}
}

func TestAdminServiceEditing(t *testing.T) {
	h, wf := newWorkflowHarness(t)
	ma, err := mail.NewAdmin(h.f.Desk, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	h.web.mail, h.web.catalogue = ma, wf
	c := h.client()
	c.login("admin@example.it")
	org := "?ente=" + workflow.OrgProvinciaBrindisi
	list := c.get("/admin/servizi" + org)
	if list.StatusCode != http.StatusOK {
		t.Fatalf("services: %d", list.StatusCode)
	}
	cat, err := wf.ExportCatalogue(context.Background(), h.actor("admin@example.it"), workflow.OrgProvinciaBrindisi)
	if err != nil || len(cat.Services) == 0 {
		t.Fatalf("catalogue: %v", err)
	}
	s := cat.Services[0]
	mustContain(t, list.Body, html.EscapeString(s.Name))
	edit := c.get("/admin/servizi/" + s.Code + org)
	if edit.StatusCode != http.StatusOK {
		t.Fatalf("edit: %d\n%s", edit.StatusCode, edit.Body)
	}
	yaml := htmlUnescape(between(edit.Body, `name="yaml"`, "</textarea>"))
	yaml = yaml[strings.Index(yaml, ">")+1:]
	if !strings.Contains(yaml, "phases:") {
		t.Fatalf("no phases in the YAML:\n%s", yaml)
	}
	changed := strings.Replace(yaml, "name: "+s.Name, "name: "+s.Name+" (rivisto)", 1)
	res := c.post("/admin/servizi/"+s.Code+org, url.Values{"yaml": {changed}, "ente": {workflow.OrgProvinciaBrindisi}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, c.get("/admin/servizi"+org).Body, html.EscapeString(s.Name+" (rivisto)"))
	// A broken file says where.
	res = c.post("/admin/servizi/"+s.Code+org, url.Values{"yaml": {"organisation: [\n"}, "ente": {workflow.OrgProvinciaBrindisi}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("broken YAML: %d", res.StatusCode)
	}
	mustContain(t, res.Body, "line")
	// A new service from the template.
	nw := c.get("/admin/servizi/new" + org)
	tmpl := htmlUnescape(between(nw.Body, `name="yaml"`, "</textarea>"))
	tmpl = tmpl[strings.Index(tmpl, ">")+1:]
	res = c.post("/admin/servizi/new"+org, url.Values{"yaml": {tmpl}, "ente": {workflow.OrgProvinciaBrindisi}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new service: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, c.get("/admin/servizi"+org).Body, "Nuovo servizio", "Verifica dell&#39;esito")
	mustContain(t, c.get("/admin/registro?azione=service.").Body, "service.update", "nuovo-servizio")
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}

func htmlUnescape(s string) string { return html.UnescapeString(s) }

// TestAdminCatalogueDynamicKeys checks the translation keys the
// administration templates build from identifiers.
func TestAdminCatalogueDynamicKeys(t *testing.T) {
	var keys []string
	p := &adminPage{Page: Page{Lang: "it", User: &desk.User{Role: desk.RoleAdmin, InstallationAdmin: true}}}
	for _, s := range p.AdminSections() {
		keys = append(keys, "admin.section."+s.ID)
	}
	v := &rulesView{}
	for _, f := range v.Fields() {
		keys = append(keys, "rule.field."+f)
	}
	for _, o := range v.Ops() {
		keys = append(keys, "rule.op."+o)
	}
	for _, r := range v.Templates() {
		keys = append(keys, "rule.reply."+r)
	}
	for _, a := range v.RuleActions() {
		if a != "toggle" {
			keys = append(keys, "admin.rules."+a)
		}
	}
	for _, r := range desk.Roles {
		keys = append(keys, "role."+string(r))
	}
	for _, k := range []string{"desk", "pec", "retired"} {
		keys = append(keys, "admin.addresses.kind."+k)
	}
	for _, k := range []string{"new", "changed", "same"} {
		keys = append(keys, "admin.offices.kind."+k)
	}
	for _, o := range (&mailLogView{Outcomes: nil}).outcomes() {
		keys = append(keys, "outcome."+o)
	}
	for _, id := range []string{"status", "channel", "service", "queue"} {
		keys = append(keys, "dash."+id+".title", "dash."+id+".col")
	}
	for _, k := range privacyCountKeys {
		keys = append(keys, "admin.privacy.count."+k)
	}
	for _, k := range privacyReportKeys {
		keys = append(keys, "admin.privacy.report."+k)
	}
	for _, k := range privacyExemptKinds {
		keys = append(keys, "admin.privacy.kind."+k)
	}
	for _, k := range keys {
		if _, ok := catalogue[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
}

// TestAdminBadInput: malformed requests get a 4xx page, never a 500, and
// change nothing.
func TestAdminBadInput(t *testing.T) {
	h := newAdminHarness(t)
	c := h.client()
	c.login("admin@example.it")
	before := h.f.Count(t, "audit_log")
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/admin?ente=nessuno", nil},
		{"GET", "/admin/cruscotto.csv?ente=nessuno&grafico=status", nil},
		{"GET", "/admin/utenti?ruolo=capo", nil},
		{"GET", "/admin/registro?dal=ieri", nil},
		{"GET", "/admin/registro.csv?al=31-12-2026", nil},
		{"GET", "/admin/servizi/non-esiste", nil},
		{"GET", "/admin/code?ente=nessuno", nil},
		{"POST", "/admin/utenti/abc", url.Values{"role": {"agent"}}},
		{"POST", "/admin/utenti/999999", url.Values{"role": {"agent"}, "active": {"1"}}},
		{"POST", "/admin/utenti", url.Values{"email": {"non-una-email"}, "role": {"agent"}}},
		{"POST", "/admin/utenti", url.Values{"email": {"x@example.it"}, "role": {"capo"}}},
		{"POST", "/admin/utenti", url.Values{"email": {"y@example.it"}, "role": {"agent"}, "password": {"corta"}}},
		{"POST", "/admin/code", url.Values{"code": {"Con Spazi"}, "name": {"X"}}},
		{"POST", "/admin/code/999999", url.Values{"name": {"X"}}},
		{"POST", "/admin/caselle", url.Values{"address": {"casella@example.it"}, "imap": {"ftp://x"}, "smtp": {"smtp://127.0.0.1:25"}}},
		{"POST", "/admin/caselle", url.Values{"address": {"@@"}, "imap": {"imap://u@h/INBOX"}, "smtp": {"smtp://h:25"}}},
		{"POST", "/admin/caselle/scollega", url.Values{"address": {"nessuna@example.it"}}},
		{"POST", "/admin/regole", url.Values{"name": {""}}},
		{"POST", "/admin/regole", url.Values{"name": {"X"}, "c1_field": {"subject"}, "c1_values": {"x"}, "then_priority": {"altissima"}}},
		{"POST", "/admin/regole/azione", url.Values{"pos": {"7"}, "action": {"up"}}},
		{"POST", "/admin/regole/azione", url.Values{"pos": {"x"}, "action": {"delete"}}},
		{"POST", "/admin/regole/json", url.Values{"json": {"[{\"name\": 3}]"}}},
		{"POST", "/admin/regole/json", url.Values{"json": {"[{\"name\": \"x\", \"then\": {\"reply\": \"boh\"}}]"}}},
		{"POST", "/admin/regole/prova", url.Values{"message": {"\x00\x01\x02"}}},
		{"POST", "/admin/indirizzi", url.Values{"address": {"vecchio@example.it"}, "from": {"domani"}}},
		{"POST", "/admin/indirizzi", url.Values{"address": {"non valido"}}},
		{"POST", "/admin/indirizzi/rimuovi", url.Values{"address": {"nessuno@example.it"}}},
		{"POST", "/admin/uffici/anteprima", url.Values{"csv": {"solo,intestazione\n"}}},
		{"POST", "/admin/uffici/applica", url.Values{"csv": {"\"non chiuso"}}},
		{"POST", "/admin/risposte", url.Values{"code": {"x"}, "title": {""}, "body": {"y"}}},
		{"POST", "/admin/risposte/999999/elimina", nil},
		{"POST", "/admin/enti", url.Values{"code": {"nuovo"}, "name": {"Nuovo"}, "parent": {"nessuno"}}},
		{"POST", "/admin/servizi/importa", url.Values{}},
		{"POST", "/admin/servizi/non-esiste/stato", url.Values{"active": {"0"}}},
		{"GET", "/admin/dati-personali?persona=nessuno@example.it", nil},
		{"GET", "/admin/dati-personali?persona=user:abc", nil},
		{"GET", "/admin/dati-personali/export.json", nil},
		{"GET", "/admin/dati-personali/export.html?persona=user:0", nil},
		{"POST", "/admin/dati-personali/cancella", url.Values{}},
		{"POST", "/admin/dati-personali/cancella", url.Values{"persona": {"utente@example.it"}, "conferma": {"utente"}}},
		{"POST", "/admin/dati-personali/cancella", url.Values{"persona": {"nessuno@example.it"}, "conferma": {"nessuno@example.it"}}},
	} {
		var res response
		if tc.method == "GET" {
			res = c.get(tc.path)
		} else {
			res = c.post(tc.path, tc.form)
		}
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Errorf("%s %s %v: status %d", tc.method, tc.path, tc.form, res.StatusCode)
		}
	}
	if after := h.f.Count(t, "audit_log"); after != before {
		t.Errorf("refused requests wrote %d audit entries", after-before)
	}
	mustNotContain(t, h.logs.String(), "level=ERROR")
}

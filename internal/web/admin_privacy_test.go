package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/desk"
)

// privacyUser reads a user as the store holds it.
func (h *harness) privacyUser(id int64) desk.User {
	h.t.Helper()
	var u desk.User
	err := h.f.DB.View(context.Background(), func(tx desk.Tx) error {
		var err error
		u, err = tx.UserByID(context.Background(), id)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// countRow is a line of the page's summary and report tables.
func countRow(label, n string) string {
	return `<tr><th scope="row">` + label + `</th><td>` + n + `</td></tr>`
}

// TestAdminPersonalData covers the personal-data page: the look-up with its
// counts, the JSON and printable exports, erasure refused without the right
// confirmation and done with it (shown once, then gone on reload), and the
// tenancy rules (agents refused, another organisation's administrator
// finds nobody).
func TestAdminPersonalData(t *testing.T) {
	h := newAdminHarness(t)
	ctx := context.Background()
	ugo := h.actor("utente@example.it")
	k1 := h.create(ugo, desk.NewTicket{Subject: "Stampante guasta", Description: "Chiamatemi allo 0831 565353", Channel: desk.ChannelWeb,
		Attachments: []desk.NewAttachment{{Name: "foto.txt", ContentType: "text/plain", Data: []byte("foto della stampante")}}})
	h.create(ugo, desk.NewTicket{Subject: "Password scaduta", Description: "Non accedo", Channel: desk.ChannelWeb})
	if _, err := h.f.Desk.AddMessage(ctx, ugo, k1.Number, desk.NewMessage{Body: "Funziona ancora male"}); err != nil {
		t.Fatal(err)
	}
	// An administrator of another organisation only.
	if _, err := h.f.Desk.EnsureUser(ctx, desk.NewUser{Email: "admin@altro.example.it", Name: "Olga Outsider", Role: desk.RoleAdmin,
		OrgCode: "altro-ente", Password: testPassword}); err != nil {
		t.Fatal(err)
	}

	admin := h.client()
	admin.login("admin@example.it")
	res := admin.get("/admin/dati-personali")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("page: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, res.Body, `href="/admin/dati-personali" aria-current="page"`, `id="persona"`)
	mustNotContain(t, res.Body, `action="/admin/dati-personali/cancella"`)

	res = admin.get("/admin/dati-personali?persona=" + url.QueryEscape(" Utente@Example.it "))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("look-up: %d\n%s", res.StatusCode, res.Body)
	}
	mustContain(t, res.Body, "Ugo Utente", "utente@example.it", "Richiedente", "attivo",
		countRow("Richieste di cui è richiedente", "2"), countRow("Messaggi scritti", "1"), countRow("Allegati inviati", "1"),
		countRow("Cancellazioni già eseguite", "0"),
		`href="/admin/dati-personali/export.json?persona=Utente%40Example.it"`, `href="/admin/dati-personali/export.html?persona=Utente%40Example.it"`,
		`action="/admin/dati-personali/cancella"`, `name="persona" value="Utente@Example.it"`, `aria-describedby="conferma-hint erase-warning"`)
	mustNotContain(t, res.Body, "⟦")
	en := h.client()
	en.login("admin@example.it")
	en.setLang("en")
	mustContain(t, en.get("/admin/dati-personali?persona=utente@example.it").Body, countRow("Requests they asked", "2"), "Erase the personal data", "cannot be undone")

	// JSON: the API's document, as a download with a safe name.
	res = admin.get("/admin/dati-personali/export.json?persona=utente@example.it")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if got := res.Header.Get("Content-Disposition"); got != `attachment; filename="dati-personali-utente_example.it.json"` {
		t.Errorf("disposition %q", got)
	}
	var doc api.PersonalData
	if err := json.Unmarshal([]byte(res.Body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Person.Email != "utente@example.it" || doc.Person.Name != "Ugo Utente" || len(doc.Tickets) != 2 || len(doc.Messages) != 1 || len(doc.Attachments) != 1 {
		t.Errorf("json export: %+v", doc)
	}
	// HTML: the printable page under its own policy.
	res = admin.get("/admin/dati-personali/export.html?persona=utente@example.it")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Security-Policy") != api.PersonalDataCSP ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("html: %d %q %q", res.StatusCode, res.Header.Get("Content-Security-Policy"), res.Header.Get("Content-Type"))
	}
	mustContain(t, res.Body, "Dati personali / Personal data: Ugo Utente", "Stampante guasta", "foto.txt")
	// Each look-up and export is in the audit log.
	mustContain(t, admin.get("/admin/registro?azione=export.personal_data").Body, "user:"+itoa(ugo.UserID))

	intact := func(who string) {
		t.Helper()
		if u := h.privacyUser(ugo.UserID); u.Name != "Ugo Utente" || u.Email != "utente@example.it" || u.Redacted || !u.Active {
			t.Fatalf("after %s the person changed: %+v", who, u)
		}
	}

	// Agents are refused everything.
	agent := h.client()
	agent.login("agente@example.it")
	for _, p := range []string{"/admin/dati-personali?persona=utente@example.it", "/admin/dati-personali/export.json?persona=utente@example.it",
		"/admin/dati-personali/export.html?persona=utente@example.it"} {
		if res := agent.get(p); (res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound) || strings.Contains(res.Body, "Ugo Utente") {
			t.Errorf("agent %s: %d", p, res.StatusCode)
		}
	}
	if res := agent.post("/admin/dati-personali/cancella", url.Values{"persona": {"utente@example.it"}, "conferma": {"utente@example.it"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("agent erasure: %d", res.StatusCode)
	}
	intact("the agent's erasure")

	// Another organisation's administrator finds nobody, and erases nothing;
	// their own organisation's people they do find.
	other := h.client()
	other.login("admin@altro.example.it")
	res = other.get("/admin/dati-personali?persona=utente@example.it")
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("other organisation's look-up: %d", res.StatusCode)
	}
	mustContain(t, res.Body, "Nessuna persona registrata come «utente@example.it» negli enti che amministri.", `aria-invalid="true"`, `id="persona-error"`)
	mustNotContain(t, res.Body, "Ugo Utente", "Richieste di cui è richiedente", `action="/admin/dati-personali/cancella"`)
	for _, p := range []string{"/admin/dati-personali/export.json?persona=utente@example.it", "/admin/dati-personali/export.html?persona=utente@example.it"} {
		if res := other.get(p); res.StatusCode != http.StatusNotFound || strings.Contains(res.Body, "Ugo Utente") {
			t.Errorf("other organisation %s: %d", p, res.StatusCode)
		}
	}
	if res := other.post("/admin/dati-personali/cancella", url.Values{"persona": {"utente@example.it"}, "conferma": {"utente@example.it"}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("other organisation's erasure: %d\n%s", res.StatusCode, res.Body)
	}
	intact("the other organisation's erasure")
	mustContain(t, other.get("/admin/dati-personali?persona=agente@altro.example.it").Body, "Otto Outsider")

	// A wrong confirmation erases nothing and says so on the field.
	before := h.f.Count(t, "audit_log")
	res = admin.post("/admin/dati-personali/cancella", url.Values{"persona": {"utente@example.it"}, "conferma": {"altro@example.it"}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong confirmation: %d", res.StatusCode)
	}
	mustContain(t, res.Body, "La conferma non corrisponde", `aria-describedby="conferma-hint erase-warning conferma-error"`, `aria-invalid="true"`, `href="#conferma"`)
	intact("a wrong confirmation")
	if res := admin.post("/admin/dati-personali/cancella", url.Values{"persona": {"utente@example.it"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no confirmation: %d", res.StatusCode)
	}
	intact("no confirmation")
	if after := h.f.Count(t, "audit_log"); after != before {
		t.Errorf("refused erasures wrote %d audit entries", after-before)
	}
	// Administrators cannot erase themselves: a message, not an error page.
	res = admin.post("/admin/dati-personali/cancella", url.Values{"persona": {"admin@example.it"}, "conferma": {"admin@example.it"}})
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("self-erasure: %d", res.StatusCode)
	}
	mustContain(t, res.Body, "Non puoi cancellare i dati di questa persona", `id="conferma-error"`)

	// The right confirmation (trimmed, in any case) erases, then the page
	// shows the report once.
	res = admin.post("/admin/dati-personali/cancella", url.Values{"persona": {"utente@example.it"}, "conferma": {"  UTENTE@example.IT "}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/dati-personali#esito" {
		t.Fatalf("erasure: %d %s\n%s", res.StatusCode, res.Header.Get("Location"), res.Body)
	}
	u := h.privacyUser(ugo.UserID)
	if u.Name != desk.RedactedMarker || !u.Redacted || u.Active || u.Email == "utente@example.it" {
		t.Fatalf("not redacted: %+v", u)
	}
	res = admin.get("/admin/dati-personali")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("report: %d", res.StatusCode)
	}
	mustContain(t, res.Body, "I dati personali di user:"+itoa(ugo.UserID)+" sono stati oscurati.", `id="h-report"`,
		countRow("Richieste oscurate", "2"), countRow("Messaggi scritti dalla persona", "1"), countRow("Allegati", "1"),
		"Nessun dato conservato come esente.", `href="/admin/dati-personali?persona=user%3A`+itoa(ugo.UserID)+`"`)
	mustNotContain(t, res.Body, "Ugo Utente", "utente@example.it", "⟦")
	// Reloading shows no report and erases nothing more.
	mustNotContain(t, admin.get("/admin/dati-personali").Body, `id="h-report"`)
	res = admin.get("/admin/dati-personali?persona=user:" + itoa(ugo.UserID))
	mustContain(t, res.Body, "dati oscurati", "disattivato", countRow("Cancellazioni già eseguite", "1"), desk.RedactedMarker)
	mustNotContain(t, res.Body, "Ugo Utente")
	if res := admin.get("/admin/dati-personali?persona=utente@example.it"); res.StatusCode != http.StatusNotFound {
		t.Errorf("the old address still finds the person: %d", res.StatusCode)
	}
	mustContain(t, admin.get("/admin/registro?azione=redact").Body, "user:"+itoa(ugo.UserID), "personal data erased: 2 tickets")
	mustNotContain(t, h.logs.String(), "level=ERROR")
}

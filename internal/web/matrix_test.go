package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/workflow"
)

// The authorisation matrix of the pages: every route of Web.Routes() ×
// every role × a ticket of the caller's organisation ("own") and of
// another ("other"). Allowed requests must answer 200 (or a 303 redirect
// that is not to the log-in page) — each case prepares the state that
// makes the action valid; denied requests must answer 403 or 404 (the
// anonymous visitor of a private page is sent to /login); in every case,
// nothing of the other organisation may appear in the page. A route
// without an entry fails the test.

var wmRoles = []string{"anonymous", "requester", "colleague", "agent", "approver", "orgadmin", "instadmin"}

var wmLeaks = []string{"SEGRETO-BO", "riservato-bologna", "luca@pref-bo.example.it", "Prefettura di Bologna", "segreto.pdf"}

var (
	wmAll     = wmRoles
	wmSigned  = []string{"requester", "colleague", "agent", "approver", "orgadmin", "instadmin"}
	wmStaff   = []string{"agent", "approver", "orgadmin", "instadmin"}
	wmRequest = []string{"requester", "agent", "approver", "orgadmin", "instadmin"} // may act as the requester
)

// wmCase is one request.
type wmCase struct {
	path  string
	form  url.Values
	multi bool // send as multipart/form-data
}

type wmRoute struct {
	// build makes the request for a target ticket (zero for routes
	// without {number}).
	build func(e *wmEnv, k desk.Ticket) wmCase
	// allow are the roles allowed on own tickets (and for routes without
	// a ticket); on other tickets only instadmin is.
	allow []string
	// fresh runs each case with a newly signed-in client (log-out ends
	// the session it is given).
	fresh bool
	// service registers the target with the printer service, whose phases
	// start with an approval gate.
	service bool
	// notFound marks the catch-all: 404 for everyone.
	notFound bool
	// noneOther: on other tickets nobody is allowed, not even instadmin.
	noneOther bool
	// authz: the request is a bare form, so an allowed caller may get a
	// form error (4xx other than 401/403/404); what is checked is that the
	// caller is let through and denied callers are not.
	authz bool
	// missing: the object named does not exist; allowed callers get 404,
	// the others must get 403.
	missing bool
	// denyCodes are statuses accepted for a denial besides 403/404.
	denyCodes []int
}

// wmPersons maps roles to the tenancy fixture's people.
var wmPersons = map[string]string{"requester": "requesterFE", "colleague": "colleagueFE", "agent": "agentFE",
	"approver": "approverFE", "orgadmin": "adminFE"}

// wmAdmin is an administration page: bare forms for posts.
func wmAdmin(method, path string) wmRoute {
	r := wmRoute{allow: []string{"orgadmin", "instadmin"}}
	if method == "GET" {
		r.build = wmGet(path)
	} else {
		r.build, r.authz = wmPost(path, url.Values{}), true
	}
	return r
}

// wmMissing posts about an object that does not exist: administrators get
// past the check (then not found), everyone else is refused with 403.
func wmMissing(path string) wmRoute {
	return wmRoute{build: wmPost(path, url.Values{}), allow: []string{"orgadmin", "instadmin"}, missing: true}
}

// wmMailPage opens the mail of the certified request of pref-fe; on a
// ticket of Bologna, nobody gets it.
func wmMailPage(suffix string) func(*wmEnv, desk.Ticket) wmCase {
	return func(e *wmEnv, k desk.Ticket) wmCase {
		number := e.pecTicket
		if k.OrgCode == "pref-bo" {
			number = k.Number
		}
		return wmCase{path: fmt.Sprintf("/operatore/ticket/%s/posta/%d%s", number, e.pecEvidence, suffix)}
	}
}

func wmGet(suffix string) func(*wmEnv, desk.Ticket) wmCase {
	return func(e *wmEnv, k desk.Ticket) wmCase { return wmCase{path: strings.ReplaceAll(suffix, "{n}", k.Number)} }
}

func wmPost(suffix string, form url.Values) func(*wmEnv, desk.Ticket) wmCase {
	return func(e *wmEnv, k desk.Ticket) wmCase {
		return wmCase{path: strings.ReplaceAll(suffix, "{n}", k.Number), form: form}
	}
}

func wmMulti(suffix string, form url.Values) func(*wmEnv, desk.Ticket) wmCase {
	return func(e *wmEnv, k desk.Ticket) wmCase {
		return wmCase{path: strings.ReplaceAll(suffix, "{n}", k.Number), form: form, multi: true}
	}
}

func (e *wmEnv) resolved(k desk.Ticket) {
	if _, err := e.tn.Desk.Transition(context.Background(), desk.SystemActor, k.Number, desk.TransitionInput{To: desk.StatusResolved}); err != nil {
		e.t.Fatal(err)
	}
}

func wmAttachment(prefix string) func(*wmEnv, desk.Ticket) wmCase {
	return func(e *wmEnv, k desk.Ticket) wmCase {
		var id int64
		err := e.tn.DB.View(context.Background(), func(tx desk.Tx) error {
			atts, err := tx.Attachments(context.Background(), k.ID)
			if err == nil && len(atts) > 0 {
				id = atts[0].ID
			}
			return err
		})
		if err != nil || id == 0 {
			e.t.Fatalf("attachment: %v", err)
		}
		return wmCase{path: fmt.Sprintf("%s/%s/allegati/%d", prefix, k.Number, id)}
	}
}

var wmMatrix = map[string]wmRoute{
	"GET /{$}":              {build: wmGet("/"), allow: wmAll},
	"GET /login":            {build: wmGet("/login"), allow: wmAll},
	"POST /login":           {build: wmPost("/login", url.Values{"email": {"utente@pref-fe.example.it"}, "password": {testPassword}}), allow: wmAll, fresh: true},
	"GET /logout":           {build: wmGet("/logout"), allow: wmAll},
	"POST /logout":          {build: wmPost("/logout", nil), allow: wmAll, fresh: true},
	"GET /lingua/{lang}":    {build: wmGet("/lingua/en"), allow: wmAll},
	"GET /accessibilita":    {build: wmGet("/accessibilita"), allow: wmAll},
	"POST /accessibilita":   {build: wmPost("/accessibilita", url.Values{"email": {"a@example.it"}, "text": {"contrasto basso"}}), allow: wmAll},
	"GET /richieste":        {build: wmGet("/richieste"), allow: wmSigned},
	"GET /richieste/nuova":  {build: wmGet("/richieste/nuova"), allow: wmSigned},
	"POST /richieste/nuova": {build: wmMulti("/richieste/nuova", url.Values{"subject": {"Nuova"}, "description": {"Testo"}, "service": {noService}}), allow: wmSigned},
	"GET /richieste/{number}": {build: wmGet("/richieste/{n}"),
		allow: []string{"requester", "colleague", "agent", "approver", "orgadmin", "instadmin"}},
	"POST /richieste/{number}/risposta": {build: wmMulti("/richieste/{n}/risposta", url.Values{"body": {"Grazie"}}), allow: wmRequest},
	"POST /richieste/{number}/conferma": {build: func(e *wmEnv, k desk.Ticket) wmCase {
		e.resolved(k)
		return wmCase{path: "/richieste/" + k.Number + "/conferma", form: url.Values{}}
	}, allow: wmRequest},
	"POST /richieste/{number}/riapri": {build: func(e *wmEnv, k desk.Ticket) wmCase {
		e.resolved(k)
		return wmCase{path: "/richieste/" + k.Number + "/riapri", form: url.Values{"reason": {"non funziona"}}}
	}, allow: wmRequest},
	"GET /richieste/{number}/allegati/{id}": {build: wmAttachment("/richieste"), allow: wmSigned},
	"GET /richieste/{number}/aggiornamenti": {build: wmGet("/richieste/{n}/aggiornamenti?v=x"), allow: wmSigned},
	"GET /operatore":                        {build: wmGet("/operatore"), allow: wmStaff},
	"GET /operatore/chiamata":               {build: wmGet("/operatore/chiamata"), allow: wmStaff},
	"POST /operatore/chiamata": {build: wmPost("/operatore/chiamata", url.Values{"caller_email": {"chiamante@pref-fe.example.it"},
		"caller_name": {"Chiamante"}, "subject": {"Telefonata"}, "channel": {"phone"}, "priority": {"normal"}}), allow: wmStaff},
	"GET /operatore/persone":                        {build: wmGet("/operatore/persone?q=pref"), allow: wmStaff},
	"GET /operatore/ticket/{number}":                {build: wmGet("/operatore/ticket/{n}"), allow: wmStaff},
	"POST /operatore/ticket/{number}/messaggi":      {build: wmMulti("/operatore/ticket/{n}/messaggi", url.Values{"body": {"Nota"}, "kind": {"note"}}), allow: wmStaff},
	"POST /operatore/ticket/{number}/stato":         {build: wmPost("/operatore/ticket/{n}/stato", url.Values{"to": {"open"}}), allow: wmStaff},
	"POST /operatore/ticket/{number}/campi":         {build: wmPost("/operatore/ticket/{n}/campi", url.Values{"priority": {"high"}}), allow: wmStaff},
	"POST /operatore/ticket/{number}/assegna":       {build: wmPost("/operatore/ticket/{n}/assegna", url.Values{"assignee": {"me"}}), allow: wmStaff},
	"POST /operatore/ticket/{number}/escala":        {build: wmPost("/operatore/ticket/{n}/escala", url.Values{"escalate_reason": {"secondo livello"}}), allow: wmStaff},
	"POST /operatore/ticket/{number}/collega":       {build: wmOther("collega", "other"), allow: wmStaff},
	"POST /operatore/ticket/{number}/unisci":        {build: wmOther("unisci", "target"), allow: wmStaff},
	"POST /operatore/ticket/{number}/fasi/{action}": {build: wmPost("/operatore/ticket/{n}/fasi/approva", url.Values{"decision_reason": {"ok"}}), allow: []string{"approver", "orgadmin", "instadmin"}, service: true},
	"GET /operatore/ticket/{number}/allegati/{id}":  {build: wmAttachment("/operatore/ticket"), allow: wmStaff},
	"GET /operatore/ticket/{number}/aggiornamenti":  {build: wmGet("/operatore/ticket/{n}/aggiornamenti?v=x"), allow: wmStaff},
	// The certified request of pref-fe (asked by a citizen); other: its
	// evidence asked through a ticket of Bologna, which nobody gets.
	"GET /operatore/ticket/{number}/pec/{id}": {build: func(e *wmEnv, k desk.Ticket) wmCase {
		if k.OrgCode == "pref-bo" {
			return wmCase{path: fmt.Sprintf("/operatore/ticket/%s/pec/%d", k.Number, e.pecEvidence)}
		}
		return wmCase{path: fmt.Sprintf("/operatore/ticket/%s/pec/%d", e.pecTicket, e.pecEvidence)}
	}, allow: wmStaff, noneOther: true},
	"GET /operatore/approvazioni":                    {build: wmGet("/operatore/approvazioni"), allow: []string{"approver", "orgadmin", "instadmin"}},
	"POST /operatore/viste":                          {build: wmPost("/operatore/viste", url.Values{"name": {"Le mie urgenti"}, "query": {"stato=open"}}), allow: wmStaff, authz: true},
	"POST /operatore/ticket/{number}/dati":           {build: wmPost("/operatore/ticket/{n}/dati", url.Values{}), allow: wmStaff, authz: true},
	"GET /operatore/ticket/{number}/posta/{id}":      {build: wmMailPage(""), allow: wmStaff, noneOther: true},
	"GET /operatore/ticket/{number}/posta/{id}/html": {build: wmMailPage("/html"), allow: wmStaff, noneOther: true},
	"POST /operatore/viste/{id}/elimina": {build: func(e *wmEnv, _ desk.Ticket) wmCase {
		// The caller's own view (staff), else one of the FE agent's.
		owner := "agentFE"
		if p, ok := wmPersons[e.role]; ok && roleOf(e.role).Staff() {
			owner = p
		}
		if e.role == "instadmin" {
			owner = ""
		}
		a := desk.SystemActor
		if owner != "" {
			a = e.tn.Actor(e.t, owner)
		} else {
			a = e.instadmin
		}
		v, err := e.tn.Desk.SaveView(context.Background(), a, fmt.Sprintf("vista %d", e.seq.Add(1)), "stato=open", false)
		if err != nil {
			e.t.Fatal(err)
		}
		return wmCase{path: fmt.Sprintf("/operatore/viste/%d/elimina", v.ID), form: url.Values{}}
	}, allow: wmStaff},
	"GET /admin":               {build: wmGet("/admin"), allow: []string{"approver", "orgadmin", "instadmin"}},
	"GET /admin/cruscotto.csv": {build: wmGet("/admin/cruscotto.csv?grafico=trend"), allow: []string{"approver", "orgadmin", "instadmin"}},
	"GET /admin/utenti":        wmAdmin("GET", "/admin/utenti"),
	"POST /admin/utenti":       wmAdmin("POST", "/admin/utenti"),
	"POST /admin/utenti/{id}": {build: func(e *wmEnv, _ desk.Ticket) wmCase {
		return wmCase{path: fmt.Sprintf("/admin/utenti/%d", e.tn.Actor(e.t, "agentFE").UserID), form: url.Values{}}
	}, allow: []string{"orgadmin", "instadmin"}, authz: true},
	"GET /admin/enti": wmAdmin("GET", "/admin/enti"),
	// A bare form creates a top-level organisation: the installation's only.
	"POST /admin/enti":      {build: wmPost("/admin/enti", url.Values{}), allow: []string{"instadmin"}, authz: true},
	"GET /admin/code":       wmAdmin("GET", "/admin/code"),
	"POST /admin/code":      wmAdmin("POST", "/admin/code"),
	"POST /admin/code/{id}": wmAdmin("POST", "/admin/code/1"),
	"GET /admin/servizi":    wmAdmin("GET", "/admin/servizi"),
	// The upload is read before the caller is checked: others get 400 (no data either way).
	"POST /admin/servizi/importa":      {build: wmPost("/admin/servizi/importa", url.Values{}), allow: []string{"orgadmin", "instadmin"}, authz: true},
	"POST /admin/servizi/{code}/stato": {build: wmPost("/admin/servizi/firma-digitale/stato", url.Values{"ente": {"pref-fe"}}), allow: []string{"orgadmin", "instadmin"}, authz: true},
	"GET /admin/servizi/{code}":        wmAdmin("GET", "/admin/servizi/firma-digitale?ente=pref-fe"),
	"POST /admin/servizi/{code}":       wmAdmin("POST", "/admin/servizi/firma-digitale"),
	"GET /admin/caselle":               wmAdmin("GET", "/admin/caselle"),
	"POST /admin/caselle":              wmAdmin("POST", "/admin/caselle"),
	"POST /admin/caselle/scollega":     wmMissing("/admin/caselle/scollega"),
	"GET /admin/regole":                wmAdmin("GET", "/admin/regole"),
	"POST /admin/regole":               wmAdmin("POST", "/admin/regole"),
	"POST /admin/regole/azione":        wmMissing("/admin/regole/azione"),
	"POST /admin/regole/json":          wmAdmin("POST", "/admin/regole/json"),
	"POST /admin/regole/prova":         wmAdmin("POST", "/admin/regole/prova"),
	"GET /admin/indirizzi":             wmAdmin("GET", "/admin/indirizzi"),
	"POST /admin/indirizzi":            wmAdmin("POST", "/admin/indirizzi"),
	"POST /admin/indirizzi/rimuovi":    wmMissing("/admin/indirizzi/rimuovi"),
	"GET /admin/uffici":                wmAdmin("GET", "/admin/uffici"),
	// The office directory is the installation's.
	"POST /admin/uffici/anteprima": {build: wmPost("/admin/uffici/anteprima", url.Values{}), allow: []string{"instadmin"}, authz: true},
	"POST /admin/uffici/applica":   {build: wmPost("/admin/uffici/applica", url.Values{}), allow: []string{"instadmin"}, authz: true},
	"GET /admin/risposte":          wmAdmin("GET", "/admin/risposte"),
	"POST /admin/risposte":         wmAdmin("POST", "/admin/risposte"),
	// A canned answer of pref-fe, made afresh for each call.
	"POST /admin/risposte/{id}/elimina": {build: func(e *wmEnv, _ desk.Ticket) wmCase {
		c, err := e.tn.Desk.SaveCanned(context.Background(), desk.SystemActor, "pref-fe", desk.CannedAnswer{Code: fmt.Sprintf("saluti-%d", e.seq.Add(1)), Title: "Saluti", Body: "Buongiorno"})
		if err != nil {
			e.t.Fatal(err)
		}
		return wmCase{path: fmt.Sprintf("/admin/risposte/%d/elimina", c.ID), form: url.Values{}}
	}, allow: []string{"orgadmin", "instadmin"}},
	"GET /admin/posta":        wmAdmin("GET", "/admin/posta"),
	"GET /admin/registro":     wmAdmin("GET", "/admin/registro"),
	"GET /admin/registro.csv": wmAdmin("GET", "/admin/registro.csv"),
	// Personal data of pref-fe's requester (Ferrara's administrator and the
	// installation's may see it); the erasure is a bare form (nothing erased).
	"GET /admin/dati-personali":             {build: wmPerson("/admin/dati-personali"), allow: []string{"orgadmin", "instadmin"}},
	"GET /admin/dati-personali/export.json": {build: wmPerson("/admin/dati-personali/export.json"), allow: []string{"orgadmin", "instadmin"}},
	"GET /admin/dati-personali/export.html": {build: wmPerson("/admin/dati-personali/export.html"), allow: []string{"orgadmin", "instadmin"}},
	"POST /admin/dati-personali/cancella":   wmAdmin("POST", "/admin/dati-personali/cancella"),
	// No identity provider is configured here: no such provider for anyone.
	"GET /login/sso/{id}":          {build: wmGet("/login/sso/nessuno"), notFound: true},
	"GET /login/sso/{id}/callback": {build: wmGet("/login/sso/nessuno/callback?state=x&code=y"), notFound: true},
	"/":                            {build: wmGet("/nessuna-pagina"), notFound: true},
}

// wmPerson asks path about pref-fe's requester.
func wmPerson(path string) func(*wmEnv, desk.Ticket) wmCase {
	return func(e *wmEnv, _ desk.Ticket) wmCase {
		return wmCase{path: path + "?persona=" + url.QueryEscape(e.tn.People["requesterFE"])}
	}
}

// wmOther posts to a ticket action naming a second ticket of the target's
// organisation.
func wmOther(action, field string) func(*wmEnv, desk.Ticket) wmCase {
	return func(e *wmEnv, k desk.Ticket) wmCase {
		o := e.ticket(k.OrgCode, false)
		return wmCase{path: "/operatore/ticket/" + k.Number + "/" + action, form: url.Values{field: {o.Number}, "kind": {"related"}}}
	}
}

type wmEnv struct {
	t       *testing.T
	tn      *storetest.Tenancy
	web     *Web
	srv     *httptest.Server
	clients map[string]*client
	emails  map[string]string
	seq     atomic.Int64
	// pecTicket is a ticket of pref-fe opened by a certified message,
	// pecEvidence that message's id.
	pecTicket   string
	pecEvidence int64
	role        string     // the caller of the case being built
	instadmin   desk.Actor // the installation administrator
}

// wmPECSetup connects a PEC mailbox to pref-fe and takes in one signed
// certified request.
func wmPECSetup(t *testing.T, tn *storetest.Tenancy) (string, int64) {
	ctx := context.Background()
	pki := pectest.NewPKI(t)
	m, err := mail.NewWith(mail.Opts{Store: tn.DB, Key: []byte("0123456789abcdef0123456789abcdef-matrix"),
		PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}})
	if err != nil {
		t.Fatal(err)
	}
	mb, _, err := mail.SaveMailbox(ctx, tn.DB, m.Sealer, mail.MailboxInput{Address: pectest.DeskPEC, PEC: true, Org: "pref-fe",
		IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Processor.Ingest(ctx, mb, 1, 1, pectest.Envelope(pki.Signer).Build(t))
	if err != nil || res.Outcome != mailbox.OutTicket {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	var id int64
	err = mailbox.View(ctx, tn.DB, func(tx mailbox.Tx) error {
		log, err := tx.MailLog(ctx, mailbox.LogQuery{Limit: 1})
		if err == nil {
			id = log[0].ID
		}
		return err
	})
	if err != nil || id == 0 {
		t.Fatalf("PEC message: %v", err)
	}
	// The mail pages show HTML mail: give the message an HTML part.
	if _, err := tn.DB.SQL().Exec(fmt.Sprintf("UPDATE mail_in SET html = '<p>Richiesta certificata</p>' WHERE id = %d", id)); err != nil {
		t.Fatal(err)
	}
	return res.Ticket, id
}

// ticket registers a ticket in org (pref-fe: asked by the FE requester;
// pref-bo: full of Bologna's secrets), with an attachment.
func (e *wmEnv) ticket(org string, service bool) desk.Ticket {
	in := desk.NewTicket{OrgCode: org, Channel: desk.ChannelWeb,
		Attachments: []desk.NewAttachment{{Name: "nota.txt", ContentType: "text/plain", Data: []byte("allegato")}}}
	if service {
		in.Service = "dispositivi-hardware-sito-web"
	}
	by := desk.SystemActor
	if org == "pref-bo" {
		in.Subject, in.Description = "SEGRETO-BO stampante", "riservato-bologna"
		in.Requester = desk.Contact{Email: "luca@pref-bo.example.it", Name: "Luca"}
		in.Attachments[0].Name = "segreto.pdf"
	} else {
		in.Subject, in.Description = "Stampante di Ferrara", "guasta"
		by = e.tn.Actor(e.t, "requesterFE")
	}
	k, err := e.tn.Desk.CreateTicket(context.Background(), by, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

func newMatrixWeb(t *testing.T, db *store.DB) *wmEnv {
	t.Helper()
	ctx := context.Background()
	tn := storetest.NewTenancy(t, db)
	wf := workflow.New(workflow.Opts{Desk: tn.Desk})
	tn.Desk.SetHooks(wf.GuardTransition, func(ctx context.Context, k desk.Ticket) {
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
	for _, org := range []string{"pref-fe", "pref-bo"} {
		if _, err := wf.ImportCatalogue(ctx, desk.SystemActor, org, cat); err != nil {
			t.Fatal(err)
		}
	}
	tn.Grant(t, "colleagueFE", desk.NewMembership{Organisation: "pref-fe"})
	emails := map[string]string{"requester": tn.People["requesterFE"], "colleague": tn.People["colleagueFE"], "agent": tn.People["agentFE"],
		"approver": tn.People["approverFE"], "orgadmin": tn.People["adminFE"], "instadmin": "admin@installazione.example.it"}
	for role, email := range emails {
		if _, err := tn.Desk.EnsureUser(ctx, desk.NewUser{Email: email, Role: roleOf(role), InstallationAdmin: role == "instadmin", Password: testPassword}); err != nil {
			t.Fatal(err)
		}
	}
	pecTicket, pecID := wmPECSetup(t, tn)
	madmin, err := mail.NewAdmin(tn.Desk, []byte("0123456789abcdef0123456789abcdef-matrix"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Opts{Desk: tn.Desk, DB: db, Key: []byte("0123456789abcdef0123456789abcdef"), Workflow: wf,
		PEC: mail.PECService{Desk: tn.Desk, Store: db}, Mail: madmin, Catalogue: wf,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LivePoll: time.Millisecond, LiveMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := &wmEnv{t: t, tn: tn, web: w, clients: map[string]*client{}, emails: emails, pecTicket: pecTicket, pecEvidence: pecID}
	e.srv = httptest.NewServer(w)
	t.Cleanup(func() { w.Close(); e.srv.Close() })
	for _, role := range wmRoles {
		e.clients[role] = e.newClient(role)
	}
	u, err := tn.Desk.EnsureUser(ctx, desk.NewUser{Email: emails["instadmin"], Role: desk.RoleAdmin, InstallationAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.instadmin, err = tn.Desk.ActorOf(ctx, u); err != nil {
		t.Fatal(err)
	}
	return e
}

func roleOf(role string) desk.Role {
	switch role {
	case "requester", "colleague":
		return desk.RoleRequester
	case "agent":
		return desk.RoleAgent
	case "approver":
		return desk.RoleApprover
	}
	return desk.RoleAdmin
}

// newClient returns a client signed in as role (anonymous: not signed in).
func (e *wmEnv) newClient(role string) *client {
	h := &harness{t: e.t, srv: e.srv, web: e.web}
	jar, _ := cookiejar.New(nil)
	c := &client{h: h, hdr: http.Header{}, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	if role != "anonymous" {
		c.login(e.emails[role])
	}
	return c
}

func (e *wmEnv) send(c *client, method string, k wmCase) response {
	c.h.t = e.t
	if method == "GET" {
		return c.get(k.path)
	}
	if !k.multi {
		return c.post(k.path, k.form)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for f, vs := range k.form {
		for _, v := range vs {
			_ = mw.WriteField(f, v)
		}
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", e.srv.URL+k.path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func TestPageAuthorisationMatrix(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			e := newMatrixWeb(t, open(t))
			for _, route := range e.web.Routes() {
				entry, ok := wmMatrix[route]
				if !ok {
					t.Errorf("page route %q has no entry in the authorisation matrix (internal/web/matrix_test.go)", route)
					continue
				}
				method, path, found := strings.Cut(route, " ")
				if !found {
					method, path = "GET", route
				}
				t.Run(strings.NewReplacer("/", "_", " ", "_").Replace(route), func(t *testing.T) {
					e.t = t
					for _, target := range []string{"own", "other"} {
						if target == "other" && !strings.Contains(path, "{number}") {
							continue
						}
						for _, role := range wmRoles {
							var k desk.Ticket
							if strings.Contains(path, "{number}") {
								org := "pref-fe"
								if target == "other" {
									org = "pref-bo"
								}
								k = e.ticket(org, entry.service)
							}
							c := e.clients[role]
							if entry.fresh {
								c = e.newClient(role)
							}
							e.role = role
							req := entry.build(e, k)
							res := e.send(c, method, req)
							allowed := slices.Contains(entry.allow, role) && (target == "own" || role == "instadmin" && !entry.noneOther)
							loc := res.Header.Get("Location")
							toLogin := res.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/login")
							private := !slices.Contains(entry.allow, "anonymous")
							switch {
							case entry.notFound:
								if res.StatusCode != http.StatusNotFound {
									t.Errorf("%s as %s: %d, want 404", req.path, role, res.StatusCode)
								}
							case entry.missing && role != "anonymous":
								if want := map[bool]int{true: http.StatusNotFound, false: http.StatusForbidden}[allowed]; res.StatusCode != want {
									t.Errorf("%s %s as %s: %d, want %d", method, req.path, role, res.StatusCode, want)
								}
							case allowed && entry.authz && (toLogin || res.StatusCode >= 500 || res.StatusCode == http.StatusForbidden || res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusUnauthorized):
								t.Errorf("%s %s as %s (%s): %d %s, want to be let through\n%.400s", method, req.path, role, target, res.StatusCode, loc, res.Body)
							case allowed && !entry.authz && !(res.StatusCode == http.StatusOK || res.StatusCode == http.StatusSeeOther && !toLogin):
								t.Errorf("%s %s as %s (%s): %d %s, want 200 or a redirect\n%.400s", method, req.path, role, target, res.StatusCode, loc, res.Body)
							case !allowed && role == "anonymous" && private && !toLogin:
								t.Errorf("%s %s anonymous: %d %s, want a redirect to /login", method, req.path, res.StatusCode, loc)
							case !allowed && role != "anonymous" && res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound && !slices.Contains(entry.denyCodes, res.StatusCode):
								t.Errorf("%s %s as %s (%s): %d %s, want 403 or 404\n%.400s", method, req.path, role, target, res.StatusCode, loc, res.Body)
							}
							if role != "instadmin" {
								for _, leak := range wmLeaks {
									if strings.Contains(res.Body, leak) {
										t.Errorf("%s %s as %s (%s): the page holds %q of the other organisation", method, req.path, role, target, leak)
									}
								}
							}
						}
					}
				})
			}
		})
	}
}

// TestPageMatrixCoversOnlyRealRoutes: an entry for a route that no longer
// exists is a mistake too.
func TestPageMatrixCoversOnlyRealRoutes(t *testing.T) {
	h := newHarness(t)
	have := map[string]bool{}
	for _, r := range h.web.Routes() {
		have[r] = true
	}
	for key := range wmMatrix {
		if !have[key] {
			t.Errorf("matrix entry %q names no route", key)
		}
	}
}

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
	"/": {build: wmGet("/nessuna-pagina"), notFound: true},
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
	w, err := New(Opts{Desk: tn.Desk, DB: db, Key: []byte("0123456789abcdef0123456789abcdef"), Workflow: wf,
		PEC:    mail.PECService{Desk: tn.Desk, Store: db},
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
							case allowed && !(res.StatusCode == http.StatusOK || res.StatusCode == http.StatusSeeOther && !toLogin):
								t.Errorf("%s %s as %s (%s): %d %s, want 200 or a redirect\n%.400s", method, req.path, role, target, res.StatusCode, loc, res.Body)
							case !allowed && role == "anonymous" && private && !toLogin:
								t.Errorf("%s %s anonymous: %d %s, want a redirect to /login", method, req.path, res.StatusCode, loc)
							case !allowed && role != "anonymous" && res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusNotFound:
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

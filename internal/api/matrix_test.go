package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/sportello/sportello/internal/api"
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

// The authorisation matrix: every route of api.Routes() × every role ×
// a target in the caller's organisation ("own") and in another ("other").
// Allowed calls must succeed (2xx) — each case prepares the state that
// makes the call valid — and denied calls must get 401 (no token), 403 or
// 404; in every case, nothing of the other organisation may appear in the
// body. A route without an entry fails the test: add one when you add a
// route.

// mxRoles are the callers. Every FE role belongs to (or works for) the
// Prefettura di Ferrara; "other" targets are in the Prefettura di Bologna.
var mxRoles = []string{"anonymous", "requester", "colleague", "agent", "approver", "orgadmin", "instadmin", "readonly"}

// Leak markers: content of the other organisation that no FE caller may
// ever receive (none of it is sent by the callers themselves).
var mxLeaks = []string{"SEGRETO-BO", "riservato-bologna", "luca@pref-bo.example.it", "Prefettura di Bologna", "segreto.pdf"}

type mxEnv struct {
	t      *testing.T
	srv    *httptest.Server
	tn     *storetest.Tenancy
	wf     *workflow.Engine
	tokens map[string]string
	actors map[string]desk.Actor
	router routers.Router
	seq    atomic.Int64
	yaml   string // the FE catalogue as exported
	role   string // the caller of the case being built
	// pecTicket is a ticket of pref-fe opened by a certified message,
	// pecEvidence that message's id.
	pecTicket   string
	pecEvidence int64
}

// pecSetup connects a PEC mailbox to pref-fe and takes in one signed
// certified request.
func (e *mxEnv) pecSetup(t *testing.T) {
	ctx := context.Background()
	pki := pectest.NewPKI(t)
	m, err := mail.NewWith(mail.Opts{Store: e.tn.DB, Key: []byte("0123456789abcdef0123456789abcdef-matrix"),
		PEC: pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}})
	if err != nil {
		t.Fatal(err)
	}
	mb, _, err := mail.SaveMailbox(ctx, e.tn.DB, m.Sealer, mail.MailboxInput{Address: pectest.DeskPEC, PEC: true, Org: "pref-fe",
		IMAP: "imaps://u:p@127.0.0.1:1/INBOX", SMTP: "smtps://u:p@127.0.0.1:1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Processor.Ingest(ctx, mb, 1, 1, pectest.Envelope(pki.Signer).Build(t))
	if err != nil || res.Outcome != mailbox.OutTicket {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	e.pecTicket = res.Ticket
	err = mailbox.View(ctx, e.tn.DB, func(tx mailbox.Tx) error {
		log, err := tx.MailLog(ctx, mailbox.LogQuery{Limit: 1})
		if err == nil {
			e.pecEvidence = log[0].ID
		}
		return err
	})
	if err != nil || e.pecEvidence == 0 {
		t.Fatalf("PEC message: %v", err)
	}
}

// mxCase is one call to make.
type mxCase struct {
	path string
	body any
	raw  string // a raw body (catalogue YAML)
}

// mxRoute is a route's entry in the matrix.
type mxRoute struct {
	// own and other build the call for a target ticket (zero Ticket for
	// routes without {number}); other nil: the route has no "other" form.
	own, other func(e *mxEnv, k desk.Ticket) mxCase
	// allowOwn are the roles allowed on own; on other only instadmin is,
	// unless allowOther says otherwise.
	allowOwn, allowOther []string
	// denyCodes are the statuses accepted for a denial besides 403/404
	// (400 where naming another organisation is an unknown value).
	denyCodes []int
	// authz: the catalogue gives the route nothing valid to do (a service
	// without fields), so an allowed caller gets past the checks into a
	// 4xx other than 401/403/404; denied callers still get 403/404.
	authz bool
}

var (
	mxSeeing  = []string{"requester", "colleague", "agent", "approver", "orgadmin", "instadmin", "readonly"}
	mxAuthed  = mxSeeing
	mxWriters = []string{"requester", "colleague", "agent", "approver", "orgadmin", "instadmin"}
	mxStaff   = []string{"agent", "approver", "orgadmin", "instadmin"}
	mxStaffRO = []string{"agent", "approver", "orgadmin", "instadmin", "readonly"}
	mxAdmins  = []string{"orgadmin", "instadmin"}
)

func onTicket(suffix string, body any) func(*mxEnv, desk.Ticket) mxCase {
	return func(e *mxEnv, k desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/tickets/" + k.Number + suffix, body: body}
	}
}

func fixed(path string, body any) func(*mxEnv, desk.Ticket) mxCase {
	return func(*mxEnv, desk.Ticket) mxCase { return mxCase{path: path, body: body} }
}

// mxMatrix is keyed by "METHOD PATH" exactly as in api.Routes().
var mxMatrix = map[string]mxRoute{
	"GET /api/v1/openapi.json": {own: fixed("/api/v1/openapi.json", nil), allowOwn: mxRoles},
	"GET /api/v1/me":           {own: fixed("/api/v1/me", nil), allowOwn: mxAuthed},
	"GET /api/v1/tickets": {own: fixed("/api/v1/tickets?limit=100", nil), allowOwn: mxAuthed,
		// Searching for the other organisation's words finds nothing.
		other: fixed("/api/v1/tickets?q=SEGRETO", nil), allowOther: mxAuthed},
	"POST /api/v1/tickets": {
		own: func(e *mxEnv, _ desk.Ticket) mxCase {
			return mxCase{path: "/api/v1/tickets", body: map[string]any{"subject": "Nuova richiesta", "description": "Testo"}}
		},
		other: func(e *mxEnv, _ desk.Ticket) mxCase {
			return mxCase{path: "/api/v1/tickets", body: map[string]any{"subject": "Nuova richiesta", "organisation": "pref-bo"}}
		},
		allowOwn: mxWriters, denyCodes: []int{400}},
	"GET /api/v1/tickets/{number}":          {own: onTicket("", nil), other: onTicket("", nil), allowOwn: mxSeeing},
	"PATCH /api/v1/tickets/{number}":        {own: onTicket("", map[string]any{"priority": "high"}), other: onTicket("", map[string]any{"priority": "high"}), allowOwn: mxStaff},
	"GET /api/v1/tickets/{number}/messages": {own: onTicket("/messages", nil), other: onTicket("/messages", nil), allowOwn: mxSeeing},
	"GET /api/v1/tickets/{number}/history":  {own: onTicket("/history", nil), other: onTicket("/history", nil), allowOwn: mxSeeing},
	"POST /api/v1/tickets/{number}/comments": {own: onTicket("/comments", map[string]any{"body": "Risposta"}),
		other: onTicket("/comments", map[string]any{"body": "Risposta"}), allowOwn: []string{"requester", "agent", "approver", "orgadmin", "instadmin"}},
	"POST /api/v1/tickets/{number}/transitions": {own: onTicket("/transitions", map[string]any{"to": "cancelled"}),
		other: onTicket("/transitions", map[string]any{"to": "cancelled"}), allowOwn: []string{"requester", "agent", "approver", "orgadmin", "instadmin"}},
	"POST /api/v1/tickets/{number}/escalate": {own: onTicket("/escalate", map[string]any{"reason": "serve il secondo livello"}),
		other: onTicket("/escalate", map[string]any{"reason": "x"}), allowOwn: mxStaff},
	"POST /api/v1/tickets/{number}/links": {own: func(e *mxEnv, k desk.Ticket) mxCase {
		o := e.ticket(k.OrgCode, "")
		return mxCase{path: "/api/v1/tickets/" + k.Number + "/links", body: map[string]any{"ticket": o.Number, "kind": "related"}}
	}, other: func(e *mxEnv, k desk.Ticket) mxCase {
		o := e.ticket(k.OrgCode, "")
		return mxCase{path: "/api/v1/tickets/" + k.Number + "/links", body: map[string]any{"ticket": o.Number}}
	}, allowOwn: mxStaff},
	"POST /api/v1/tickets/{number}/merge": {own: func(e *mxEnv, k desk.Ticket) mxCase {
		o := e.ticket(k.OrgCode, "")
		return mxCase{path: "/api/v1/tickets/" + k.Number + "/merge", body: map[string]any{"into": o.Number}}
	}, other: func(e *mxEnv, k desk.Ticket) mxCase {
		o := e.ticket(k.OrgCode, "")
		return mxCase{path: "/api/v1/tickets/" + k.Number + "/merge", body: map[string]any{"into": o.Number}}
	}, allowOwn: mxStaff},
	"GET /api/v1/tickets/{number}/attachments/{id}":        {own: attachmentCase, other: attachmentCase, allowOwn: mxSeeing},
	"GET /api/v1/tickets/{number}/phases":                  {own: onTicket("/phases", nil), other: onTicket("/phases", nil), allowOwn: mxSeeing},
	"POST /api/v1/tickets/{number}/phases/{code}/complete": {own: phaseCase("complete"), other: phaseCase("complete"), allowOwn: mxStaff},
	"POST /api/v1/tickets/{number}/phases/{code}/skip":     {own: phaseCase("skip"), other: phaseCase("skip"), allowOwn: mxStaff},
	"POST /api/v1/tickets/{number}/approval": {own: onTicket("/approval", map[string]any{"decision": "approve", "reason": "ok"}),
		other: onTicket("/approval", map[string]any{"decision": "approve", "reason": "ok"}), allowOwn: []string{"approver", "orgadmin", "instadmin"}},
	"POST /api/v1/tickets/{number}/supplier-calls":              {own: supplierCallCase, other: supplierCallCase, allowOwn: mxStaff},
	"POST /api/v1/tickets/{number}/supplier-calls/{id}/resolve": {own: supplierResolveCase, other: supplierResolveCase, allowOwn: mxStaff},
	"POST /api/v1/tickets/{number}/verification":                {own: verificationCase, other: verificationCase, allowOwn: mxStaff},
	"GET /api/v1/catalogue": {own: fixed("/api/v1/catalogue?organisation=pref-fe", nil), other: fixed("/api/v1/catalogue?organisation=pref-bo", nil),
		allowOwn: mxStaffRO, denyCodes: []int{400}},
	"PUT /api/v1/catalogue": {own: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/catalogue?organisation=pref-fe", raw: e.yaml}
	}, other: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/catalogue?organisation=pref-bo", raw: e.yaml}
	}, allowOwn: mxAdmins, denyCodes: []int{400}},
	"GET /api/v1/users": {own: fixed("/api/v1/users?q=pref-fe", nil), other: fixed("/api/v1/users?q=pref-bo", nil),
		allowOwn: mxStaffRO, allowOther: mxStaffRO},
	"POST /api/v1/users": {own: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/users", body: map[string]any{"email": e.unique("nuovo"), "name": "Nuovo", "role": "requester", "organisation": "pref-fe"}}
	}, other: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/users", body: map[string]any{"email": e.unique("nuovo"), "name": "Nuovo", "role": "requester", "organisation": "pref-bo"}}
	}, allowOwn: mxAdmins, denyCodes: []int{400}},
	"GET /api/v1/queues":        {own: fixed("/api/v1/queues", nil), allowOwn: mxStaffRO},
	"GET /api/v1/services":      {own: fixed("/api/v1/services", nil), allowOwn: mxAuthed},
	"GET /api/v1/organisations": {own: fixed("/api/v1/organisations", nil), allowOwn: mxAuthed},
	"POST /api/v1/organisations": {own: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/organisations", body: map[string]any{"code": strings.TrimSuffix(e.unique("comune"), "@example.it"), "name": "Comune", "parent": "pref-fe"}}
	}, other: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/organisations", body: map[string]any{"code": strings.TrimSuffix(e.unique("comune"), "@example.it"), "name": "Comune", "parent": "pref-bo"}}
	}, allowOwn: mxAdmins, denyCodes: []int{400}},
	"GET /api/v1/users/{email}/memberships": {own: fixed("/api/v1/users/agente@pref-fe.example.it/memberships", nil),
		other: fixed("/api/v1/users/agente@pref-bo.example.it/memberships", nil), allowOwn: mxAdmins},
	"POST /api/v1/users/{email}/memberships": {own: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/users/" + e.user("pref-fe", desk.RoleAgent) + "/memberships", body: map[string]any{"organisation": "pref-fe", "queue": "protocollo"}}
	}, other: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: "/api/v1/users/" + e.user("pref-bo", desk.RoleAgent) + "/memberships", body: map[string]any{"organisation": "pref-bo"}}
	}, allowOwn: mxAdmins},
	"DELETE /api/v1/users/{email}/memberships/{id}": {own: removeMembershipCase("pref-fe"), other: removeMembershipCase("pref-bo"), allowOwn: mxAdmins},
	"GET /api/v1/tokens":                            {own: fixed("/api/v1/tokens", nil), allowOwn: mxAuthed},
	"GET /api/v1/tickets/{number}/pec":              {own: onTicket("/pec", nil), other: onTicket("/pec", nil), allowOwn: mxSeeing},
	// Own: the certified request of pref-fe (asked by a citizen, so not by
	// the FE requester); other: that evidence asked through a ticket of
	// Bologna, which nobody gets.
	"GET /api/v1/tickets/{number}/pec/evidence/{id}": {own: func(e *mxEnv, _ desk.Ticket) mxCase {
		return mxCase{path: fmt.Sprintf("/api/v1/tickets/%s/pec/evidence/%d", e.pecTicket, e.pecEvidence)}
	}, other: func(e *mxEnv, k desk.Ticket) mxCase {
		return mxCase{path: fmt.Sprintf("/api/v1/tickets/%s/pec/evidence/%d", k.Number, e.pecEvidence)}
	}, allowOwn: []string{"colleague", "agent", "approver", "orgadmin", "instadmin", "readonly"}, allowOther: []string{}},
	"PUT /api/v1/tickets/{number}/fields": {own: onTicket("/fields", map[string]any{"fields": map[string]string{}}),
		other: onTicket("/fields", map[string]any{"fields": map[string]string{}}), allowOwn: mxStaff, authz: true},
	"GET /api/v1/audit": {own: fixed("/api/v1/audit", nil), other: fixed("/api/v1/audit?organisation=pref-bo", nil), allowOwn: mxAdmins},
	"GET /api/v1/privacy/people/{person}": {own: fixed("/api/v1/privacy/people/collega@pref-fe.example.it", nil),
		other: fixed("/api/v1/privacy/people/agente@pref-bo.example.it", nil), allowOwn: mxAdmins},
	"POST /api/v1/privacy/people/{person}/erasure": {own: func(e *mxEnv, _ desk.Ticket) mxCase {
		email := e.user("pref-fe", desk.RoleRequester)
		return mxCase{path: "/api/v1/privacy/people/" + email + "/erasure", body: map[string]any{"confirm": email}}
	}, other: func(e *mxEnv, _ desk.Ticket) mxCase {
		email := e.user("pref-bo", desk.RoleRequester)
		return mxCase{path: "/api/v1/privacy/people/" + email + "/erasure", body: map[string]any{"confirm": email}}
	}, allowOwn: mxAdmins},
	"GET /api/v1/pec/alerts": {own: fixed("/api/v1/pec/alerts", nil), allowOwn: mxStaffRO},
	"GET /api/v1/mailboxes":  {own: fixed("/api/v1/mailboxes", nil), allowOwn: mxAdmins},
	"POST /api/v1/tokens": {own: fixed("/api/v1/tokens", map[string]any{"name": "integrazione", "scopes": []string{"read"}, "expires_in_days": 30}),
		allowOwn: mxWriters},
	// Own: a token of the caller (the FE agent's for the anonymous caller);
	// other: a token of Bologna's agent, which nobody revokes through this route.
	"DELETE /api/v1/tokens/{id}": {own: func(e *mxEnv, _ desk.Ticket) mxCase {
		uid := e.actors["agent"].UserID
		if a, ok := e.actors[e.role]; ok {
			uid = a.UserID
		}
		return e.tokenCase(uid)
	}, other: func(e *mxEnv, _ desk.Ticket) mxCase {
		return e.tokenCase(e.tn.Actor(e.t, "agentBO").UserID)
	}, allowOwn: mxWriters, allowOther: []string{}},
}

func (e *mxEnv) tokenCase(uid int64) mxCase {
	_, tk, err := e.tn.Desk.CreateScopedToken(context.Background(), uid, "da revocare", 0, desk.ScopeRead)
	if err != nil {
		e.t.Fatal(err)
	}
	return mxCase{path: fmt.Sprintf("/api/v1/tokens/%d", tk.ID)}
}

func attachmentCase(e *mxEnv, k desk.Ticket) mxCase {
	var id int64
	err := e.tn.DB.View(context.Background(), func(tx desk.Tx) error {
		atts, err := tx.Attachments(context.Background(), k.ID)
		if err == nil && len(atts) > 0 {
			id = atts[0].ID
		}
		return err
	})
	if err != nil || id == 0 {
		e.t.Fatalf("attachment of %s: %v", k.Number, err)
	}
	return mxCase{path: fmt.Sprintf("/api/v1/tickets/%s/attachments/%d", k.Number, id)}
}

// approved passes the ticket's approval gate, as the installation's
// administrator, so that the phases after it can be worked.
func (e *mxEnv) approved(k desk.Ticket) {
	if _, err := e.wf.Approve(context.Background(), e.actors["instadmin"], k.Number, "ok"); err != nil {
		e.t.Fatal(err)
	}
}

func phaseCase(action string) func(*mxEnv, desk.Ticket) mxCase {
	return func(e *mxEnv, k desk.Ticket) mxCase {
		e.approved(k)
		p, err := e.wf.Progress(context.Background(), desk.SystemActor, k.Number)
		if err != nil {
			e.t.Fatal(err)
		}
		cur, ok := p.Current()
		if !ok || cur.RequiresApproval {
			e.t.Fatalf("ticket %s has no current ordinary phase: %+v", k.Number, p.Phases)
		}
		return mxCase{path: "/api/v1/tickets/" + k.Number + "/phases/" + cur.Code + "/" + action, body: map[string]any{"note": "fatto"}}
	}
}

func supplierCallCase(e *mxEnv, k desk.Ticket) mxCase {
	e.approved(k)
	return mxCase{path: "/api/v1/tickets/" + k.Number + "/supplier-calls", body: map[string]any{"supplier": "Fornitore", "reference": "RIF-1"}}
}

func supplierResolveCase(e *mxEnv, k desk.Ticket) mxCase {
	e.approved(k)
	c, err := e.wf.CallSupplier(context.Background(), e.actors["instadmin"], k.Number, workflow.SupplierCall{Supplier: "Fornitore", Reference: "RIF-2"})
	if err != nil {
		e.t.Fatal(err)
	}
	return mxCase{path: fmt.Sprintf("/api/v1/tickets/%s/supplier-calls/%d/resolve", k.Number, c.ID), body: map[string]any{"resolution": "fatto"}}
}

func verificationCase(e *mxEnv, k desk.Ticket) mxCase {
	e.approved(k)
	return mxCase{path: "/api/v1/tickets/" + k.Number + "/verification", body: map[string]any{"note": "verificato", "cause": map[string]any{"category": "hardware", "text": "guasto"}}}
}

func removeMembershipCase(org string) func(*mxEnv, desk.Ticket) mxCase {
	return func(e *mxEnv, _ desk.Ticket) mxCase {
		email := e.user(org, desk.RoleAgent)
		m, err := e.tn.Desk.AddMembership(context.Background(), desk.SystemActor, email, desk.NewMembership{Organisation: org})
		if err != nil {
			e.t.Fatal(err)
		}
		return mxCase{path: fmt.Sprintf("/api/v1/users/%s/memberships/%d", email, m.ID)}
	}
}

func (e *mxEnv) unique(prefix string) string {
	return fmt.Sprintf("%s%d@example.it", prefix, e.seq.Add(1))
}

// user registers a fresh person of the organisation and returns the e-mail.
func (e *mxEnv) user(org string, role desk.Role) string {
	email := fmt.Sprintf("persona%d@%s.example.it", e.seq.Add(1), org)
	if _, err := e.tn.Desk.EnsureUser(context.Background(), desk.NewUser{Email: email, Role: role, OrgCode: org}); err != nil {
		e.t.Fatal(err)
	}
	return email
}

// ticket registers a fresh ticket of a service with phases (an approval
// gate, a supplier phase) in org: in pref-fe requested by the FE
// requester, in pref-bo full of the other organisation's secrets, with an
// attachment either way.
func (e *mxEnv) ticket(org, _ string) desk.Ticket {
	ctx := context.Background()
	in := desk.NewTicket{OrgCode: org, Service: "dispositivi-hardware-sito-web", Channel: desk.ChannelWeb,
		Attachments: []desk.NewAttachment{{Name: "nota.txt", ContentType: "text/plain", Data: []byte("allegato")}}}
	by := desk.SystemActor
	if org == "pref-bo" {
		in.Subject, in.Description = "SEGRETO-BO stampante", "riservato-bologna"
		in.Requester = desk.Contact{Email: "luca@pref-bo.example.it", Name: "Luca"}
		in.Attachments[0].Name = "segreto.pdf"
		in.Channel = desk.ChannelPhone
	} else {
		in.Subject, in.Description = "Stampante di Ferrara", "guasta"
		by = e.actors["requester"]
	}
	k, err := e.tn.Desk.CreateTicket(ctx, by, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

func newMatrixEnv(t *testing.T, db *store.DB) *mxEnv {
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
	inst, err := tn.Desk.EnsureUser(ctx, desk.NewUser{Email: "admin@installazione.example.it", Role: desk.RoleAdmin, InstallationAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &mxEnv{t: t, tn: tn, wf: wf, tokens: map[string]string{}, actors: map[string]desk.Actor{}}
	users := map[string]int64{"instadmin": inst.ID}
	for role, person := range map[string]string{"requester": "requesterFE", "colleague": "colleagueFE", "agent": "agentFE",
		"approver": "approverFE", "orgadmin": "adminFE", "readonly": "agentFE"} {
		a := tn.Actor(t, person)
		users[role] = a.UserID
	}
	for role, uid := range users {
		scopes := desk.AllScopes
		if role == "readonly" {
			scopes = desk.ScopeRead
		}
		tok, _, err := tn.Desk.CreateScopedToken(ctx, uid, role, 0, scopes)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[role] = tok
		if e.actors[role], err = tn.Desk.TokenActor(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	exp, err := wf.ExportCatalogue(ctx, desk.SystemActor, "pref-fe")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := catalog.Export(&buf, exp, catalog.FormatYAML); err != nil {
		t.Fatal(err)
	}
	e.yaml = buf.String()
	e.pecSetup(t)
	e.srv = httptest.NewServer(api.New(api.Opts{Desk: tn.Desk, Workflow: wf, MaxBody: 2 << 20, PEC: mail.PECService{Desk: tn.Desk, Store: db}}))
	t.Cleanup(e.srv.Close)
	doc := loadDoc(t)
	doc.Servers = openapi3.Servers{{URL: e.srv.URL + "/api/v1"}}
	if e.router, err = legacy.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *mxEnv) call(role, method string, c mxCase) (int, string) {
	e.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch {
	case c.raw != "":
		rd, ctype = strings.NewReader(c.raw), "application/yaml"
	case c.body != nil:
		b, _ := json.Marshal(c.body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+c.path, rd)
	req.Header.Set("Content-Type", ctype)
	if role != "anonymous" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 400 {
		var eb map[string]any
		if json.Unmarshal(raw, &eb) != nil || eb["code"] == "" || eb["message"] == "" {
			e.t.Errorf("%s %s as %s: error is not {code, message}: %s", method, c.path, role, raw)
		}
	}
	if !strings.HasPrefix(c.path, "/api/v1/catalogue") { // YAML, checked by the catalogue's own tests
		(&env{t: e.t, router: e.router}).validate(req, res, raw)
	}
	return res.StatusCode, string(raw)
}

func TestAuthorisationMatrix(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			e := newMatrixEnv(t, open(t))
			for _, r := range api.New(api.Opts{}).Routes() {
				key := r.Method + " " + r.Path
				entry, ok := mxMatrix[key]
				if !ok {
					t.Errorf("route %s has no entry in the authorisation matrix (internal/api/matrix_test.go)", key)
					continue
				}
				t.Run(strings.ReplaceAll(key, "/", "_"), func(t *testing.T) {
					e.t = t
					defer func() { e.t = nil }()
					ticketRoute := strings.Contains(r.Path, "{number}")
					for _, target := range []string{"own", "other"} {
						build, allowed := entry.own, entry.allowOwn
						if target == "other" {
							if entry.other == nil {
								continue
							}
							build, allowed = entry.other, []string{"instadmin"}
							if entry.allowOther != nil {
								allowed = entry.allowOther
							}
						}
						for _, role := range mxRoles {
							var k desk.Ticket
							if ticketRoute {
								org := "pref-fe"
								if target == "other" {
									org = "pref-bo"
								}
								k = e.ticket(org, "")
							}
							e.role = role
							c := build(e, k)
							code, body := e.call(role, r.Method, c)
							want := slices.Contains(allowed, role)
							switch {
							case want && entry.authz && (code == 401 || code == 403 || code == 404 || code >= 500):
								t.Errorf("%s %s as %s (%s): %d, want to get past the checks\n%.300s", r.Method, c.path, role, target, code, body)
							case want && !entry.authz && (code < 200 || code > 299):
								t.Errorf("%s %s as %s (%s): %d, want success\n%.300s", r.Method, c.path, role, target, code, body)
							case !want && role == "anonymous" && !r.Public && code != 401:
								t.Errorf("%s %s without a token: %d, want 401", r.Method, c.path, code)
							case !want && role != "anonymous" && code != 403 && code != 404 && !slices.Contains(entry.denyCodes, code):
								t.Errorf("%s %s as %s (%s): %d, want 403 or 404\n%.300s", r.Method, c.path, role, target, code, body)
							}
							if role == "readonly" && !want && r.RequiredScope() != desk.ScopeRead && code != 403 {
								t.Errorf("%s %s with a read-only token: %d, want 403", r.Method, c.path, code)
							}
							if role != "instadmin" {
								for _, leak := range mxLeaks {
									if strings.Contains(body, leak) {
										t.Errorf("%s %s as %s (%s): the body holds %q of the other organisation\n%.300s", r.Method, c.path, role, target, leak, body)
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

// TestMatrixCoversOnlyRealRoutes keeps the matrix honest: an entry for a
// route that no longer exists is a mistake too.
func TestMatrixCoversOnlyRealRoutes(t *testing.T) {
	have := map[string]bool{}
	for _, r := range api.New(api.Opts{}).Routes() {
		have[r.Method+" "+r.Path] = true
	}
	for key := range mxMatrix {
		if !have[key] {
			t.Errorf("matrix entry %s names no route", key)
		}
	}
}

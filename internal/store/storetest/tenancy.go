package storetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
)

// Tenancy is a hierarchy of organisations with people and tickets in
// each, for tests of who sees what:
//
//	ministero
//	├── pref-fe (queues triage, protocollo)
//	│   └── comune-fe
//	└── pref-bo
type Tenancy struct {
	Desk *desk.Desk
	DB   *store.DB
	// Tickets by name: fe (pref-fe, triage), fe2 (pref-fe, protocollo),
	// bo (pref-bo), comune (comune-fe), mine (pref-fe, asked by RequesterFE).
	Tickets map[string]desk.Ticket
	// Emails of the people, by name.
	People map[string]string
}

// TenancyPeople are the people of NewTenancy: name → (e-mail, role, home).
var TenancyPeople = []struct {
	Name, Email string
	Role        desk.Role
	Org         string
}{
	{"agentFE", "agente@pref-fe.example.it", desk.RoleAgent, "pref-fe"},
	{"agentBO", "agente@pref-bo.example.it", desk.RoleAgent, "pref-bo"},
	{"ministry", "agente@ministero.example.it", desk.RoleAgent, "ministero"},
	{"queueAgent", "protocollo@pref-fe.example.it", desk.RoleAgent, "pref-fe"},
	{"requesterFE", "utente@pref-fe.example.it", desk.RoleRequester, "pref-fe"},
	{"colleagueFE", "collega@pref-fe.example.it", desk.RoleRequester, "pref-fe"},
	{"approverFE", "responsabile@pref-fe.example.it", desk.RoleApprover, "pref-fe"},
	{"adminMin", "admin@ministero.example.it", desk.RoleAdmin, "ministero"},
	{"adminFE", "admin@pref-fe.example.it", desk.RoleAdmin, "pref-fe"},
}

// NewTenancy builds the hierarchy on db through the domain.
func NewTenancy(tb testing.TB, db *store.DB) *Tenancy {
	tb.Helper()
	ctx := context.Background()
	d := NewDesk(tb, db, nil)
	tn := &Tenancy{Desk: d, DB: db, Tickets: map[string]desk.Ticket{}, People: map[string]string{}}
	for _, o := range []desk.NewOrg{
		{Code: "ministero", Name: "Ministero"},
		{Code: "pref-fe", Name: "Prefettura di Ferrara", Parent: "ministero", Province: "FE"},
		{Code: "pref-bo", Name: "Prefettura di Bologna", Parent: "ministero", Province: "BO"},
		{Code: "comune-fe", Name: "Comune di Ferrara", Parent: "pref-fe", Province: "FE"},
	} {
		if _, err := d.CreateOrg(ctx, desk.SystemActor, o); err != nil {
			tb.Fatal(err)
		}
	}
	err := db.Update(ctx, func(tx desk.Tx) error {
		o, err := tx.OrgByCode(ctx, "pref-fe")
		if err != nil {
			return err
		}
		return tx.CreateQueue(ctx, &desk.Queue{OrgID: o.ID, Code: "protocollo", Name: "Protocollo"})
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range TenancyPeople {
		if _, err := d.EnsureUser(ctx, desk.NewUser{Email: p.Email, Name: p.Name, Role: p.Role, OrgCode: p.Org}); err != nil {
			tb.Fatal(err)
		}
		tn.People[p.Name] = p.Email
	}
	mk := func(name, org, queue, subject string, by desk.Actor, req string) {
		t, err := d.CreateTicket(ctx, by, desk.NewTicket{OrgCode: org, Queue: queue, Subject: subject, Channel: desk.ChannelWeb,
			Requester: desk.Contact{Email: req}})
		if err != nil {
			tb.Fatalf("ticket %s: %v", name, err)
		}
		tn.Tickets[name] = t
	}
	mk("fe", "pref-fe", "", "Ferrara: accesso negato", desk.SystemActor, "mario@comune-fe.example.it")
	mk("fe2", "pref-fe", "protocollo", "Ferrara: protocollo bloccato", desk.SystemActor, "anna@pref-fe.example.it")
	mk("bo", "pref-bo", "", "Bologna: certificato scaduto", desk.SystemActor, "luca@pref-bo.example.it")
	mk("comune", "comune-fe", "", "Comune: stampante guasta", desk.SystemActor, "giulia@comune-fe.example.it")
	mk("mine", "pref-fe", "", "Ferrara: la mia richiesta", tn.Actor(tb, "requesterFE"), "")
	return tn
}

// Actor returns the actor of a person with memberships resolved.
func (tn *Tenancy) Actor(tb testing.TB, name string) desk.Actor {
	tb.Helper()
	ctx := context.Background()
	var u desk.User
	err := tn.DB.View(ctx, func(tx desk.Tx) error {
		var err error
		u, err = tx.UserByEmail(ctx, tn.People[name])
		return err
	})
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	a, err := tn.Desk.ActorOf(ctx, u)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// Grant adds a membership as the system, failing the test on error.
func (tn *Tenancy) Grant(tb testing.TB, name string, m desk.NewMembership) desk.Membership {
	tb.Helper()
	got, err := tn.Desk.AddMembership(context.Background(), desk.SystemActor, tn.People[name], m)
	if err != nil {
		tb.Fatalf("grant %s %+v: %v", name, m, err)
	}
	return got
}

// visible lists the names of the tickets the actor sees in a list.
func (tn *Tenancy) visible(tb testing.TB, a desk.Actor, text string) []string {
	tb.Helper()
	page, err := tn.Desk.ListTickets(context.Background(), a, desk.ListQuery{Text: text, Limit: 100})
	if err != nil {
		if desk.ErrorCode(err) == desk.EForbidden {
			return nil
		}
		tb.Fatal(err)
	}
	var out []string
	for name, t := range tn.Tickets {
		for _, it := range page.Items {
			if it.ID == t.ID {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// RunTenancy is the contract suite of organisations kept apart; it runs on
// every engine.
func RunTenancy(t *testing.T, open func(testing.TB) *store.DB) {
	ctx := context.Background()
	tn := NewTenancy(t, open(t))
	d := tn.Desk
	tn.Grant(t, "ministry", desk.NewMembership{Organisation: "ministero", Subtree: true})
	tn.Grant(t, "queueAgent", desk.NewMembership{Organisation: "pref-fe", Queue: "protocollo"})
	tn.Grant(t, "colleagueFE", desk.NewMembership{Organisation: "pref-fe"})

	want := map[string][]string{
		"agentFE":     {"fe", "fe2", "mine"},
		"agentBO":     {"bo"},
		"ministry":    {"bo", "comune", "fe", "fe2", "mine"},
		"queueAgent":  {"fe2"},
		"requesterFE": {"mine"},
		"colleagueFE": {"fe", "fe2", "mine"},
		"approverFE":  {"fe", "fe2", "mine"},
		"adminMin":    {"bo", "comune", "fe", "fe2", "mine"},
		"adminFE":     {"comune", "fe", "fe2", "mine"},
	}
	t.Run("Lists", func(t *testing.T) {
		for name, exp := range want {
			a := tn.Actor(t, name)
			if got := tn.visible(t, a, ""); !slices.Equal(got, exp) {
				t.Errorf("%s sees %v, want %v", name, got, exp)
			}
			// Search is scoped the same way.
			var expFE []string
			for _, n := range exp {
				if n != "bo" && n != "comune" {
					expFE = append(expFE, n)
				}
			}
			if got := tn.visible(t, a, "ferrara"); !slices.Equal(got, expFE) {
				t.Errorf("%s finds %v for 'ferrara', want %v", name, got, expFE)
			}
			// Single reads agree with lists; others are not found.
			for tname, tk := range tn.Tickets {
				_, err := d.Ticket(ctx, a, tk.Number)
				if slices.Contains(exp, tname) != (err == nil) {
					t.Errorf("%s reading %s: %v", name, tname, err)
				}
				if err != nil && desk.ErrorCode(err) != desk.ENotFound {
					t.Errorf("%s reading %s: code %s, want not_found", name, tname, desk.ErrorCode(err))
				}
			}
		}
	})

	t.Run("QueueCountsFollowScope", func(t *testing.T) {
		// A count is information too: an agent limited to one queue sees
		// that queue's counts only, one who works the organisation all.
		codes := func(name string) []string {
			qs, err := d.Queues(ctx, tn.Actor(t, name))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var out []string
			for _, q := range qs {
				out = append(out, q.Code)
			}
			sort.Strings(out)
			return out
		}
		if got := codes("queueAgent"); !slices.Equal(got, []string{"protocollo"}) {
			t.Errorf("queue agent sees queues %v, want only protocollo", got)
		}
		if got := codes("agentFE"); !slices.Contains(got, "protocollo") || !slices.Contains(got, desk.DefaultTriage) {
			t.Errorf("agent of the organisation sees queues %v, want all of pref-fe's", got)
		}
	})

	t.Run("WideScopesPageAndFilter", func(t *testing.T) {
		// Scopes of several branches (organisations, queue and own
		// requests) page newest first without repeats, with filters;
		// the second round gives the ministry more organisations than a
		// union of branches takes.
		check := func(name string) {
			t.Helper()
			a := tn.Actor(t, name)
			var got []int64
			cursor := ""
			for i := 0; i < 10; i++ {
				page, err := d.ListTickets(ctx, a, desk.ListQuery{Limit: 2, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range page.Items {
					got = append(got, k.ID)
				}
				if cursor = page.Next; cursor == "" {
					break
				}
			}
			if len(got) != len(want[name]) || !slices.IsSortedFunc(got, func(x, y int64) int { return int(y - x) }) {
				t.Errorf("%s paged %v, want %d tickets newest first", name, got, len(want[name]))
			}
			page, err := d.ListTickets(ctx, a, desk.ListQuery{Limit: 50, Statuses: []desk.Status{desk.StatusClosed}})
			if err != nil || len(page.Items) != 0 {
				t.Errorf("%s closed tickets: %v %v", name, page.Items, err)
			}
		}
		for _, name := range []string{"ministry", "colleagueFE", "queueAgent", "adminMin"} {
			check(name)
		}
		for i := 0; i < 70; i++ {
			if _, err := d.CreateOrg(ctx, desk.SystemActor, desk.NewOrg{Code: fmt.Sprintf("stazione-%d", i), Name: "Stazione", Parent: "pref-bo"}); err != nil {
				t.Fatal(err)
			}
		}
		check("ministry")
		check("adminMin")
	})

	t.Run("WorkAndRequesterRights", func(t *testing.T) {
		colleague := tn.Actor(t, "colleagueFE")
		// A granted requester reads the organisation's tickets but writes
		// only on their own.
		_, err := d.AddMessage(ctx, colleague, tn.Tickets["fe"].Number, desk.NewMessage{Body: "posso aiutare?"})
		wantCode(t, err, desk.EForbidden)
		_, err = d.Transition(ctx, colleague, tn.Tickets["fe"].Number, desk.TransitionInput{To: desk.StatusCancelled})
		wantCode(t, err, desk.EForbidden)
		tl, err := d.Timeline(ctx, colleague, tn.Tickets["fe"].Number)
		if err != nil || len(tl.Messages) != 0 && tl.Messages[0].Internal {
			t.Fatalf("timeline for a granted requester: %v", err)
		}
		// The queue agent works their queue only.
		qa := tn.Actor(t, "queueAgent")
		if _, err := d.AddMessage(ctx, qa, tn.Tickets["fe2"].Number, desk.NewMessage{Body: "nota", Internal: true}); err != nil {
			t.Fatalf("queue agent note: %v", err)
		}
		_, err = d.Escalate(ctx, qa, tn.Tickets["fe"].Number, "")
		wantCode(t, err, desk.ENotFound)
		// Moving a ticket out of the queue takes it out of the agent's reach.
		q := "triage"
		if _, err := d.Update(ctx, tn.Actor(t, "agentFE"), tn.Tickets["fe2"].Number, desk.Changes{Queue: &q}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Ticket(ctx, qa, tn.Tickets["fe2"].Number); desk.ErrorCode(err) != desk.ENotFound {
			t.Fatalf("queue agent still sees a ticket moved out of the queue: %v", err)
		}
		// Assignees must be able to work the ticket: not another prefecture's agent.
		bo := tn.People["agentBO"]
		_, err = d.Update(ctx, tn.Actor(t, "agentFE"), tn.Tickets["fe"].Number, desk.Changes{Assignee: &bo})
		wantCode(t, err, desk.EInvalid)
		min := tn.People["ministry"]
		if _, err := d.Update(ctx, tn.Actor(t, "agentFE"), tn.Tickets["fe"].Number, desk.Changes{Assignee: &min}); err != nil {
			t.Fatalf("assigning the ministry agent (subtree member): %v", err)
		}
		// Creating in another organisation is refused unless it is worked.
		_, err = d.CreateTicket(ctx, tn.Actor(t, "agentFE"), desk.NewTicket{OrgCode: "pref-bo", Subject: "x"})
		wantCode(t, err, desk.EInvalid)
		if _, err := d.CreateTicket(ctx, tn.Actor(t, "ministry"), desk.NewTicket{OrgCode: "pref-bo", Subject: "dal ministero"}); err != nil {
			t.Fatal(err)
		}
		// Staff asking another organisation for help are its requesters
		// there: they see their request, write as requester, never notes.
		req, err := d.CreateTicket(ctx, desk.SystemActor, desk.NewTicket{OrgCode: "pref-fe", Subject: "Bologna chiede a Ferrara",
			Requester: desk.Contact{Email: tn.People["agentBO"]}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.AddMessage(ctx, tn.Actor(t, "agentFE"), req.Number, desk.NewMessage{Body: "nota interna", Internal: true}); err != nil {
			t.Fatal(err)
		}
		boAgent := tn.Actor(t, "agentBO")
		m, err := d.AddMessage(ctx, boAgent, req.Number, desk.NewMessage{Body: "aggiungo un dettaglio"})
		if err != nil || m.Kind != desk.MessageIncoming {
			t.Fatalf("staff writing on their own request elsewhere: %+v %v", m.Kind, err)
		}
		_, err = d.AddMessage(ctx, boAgent, req.Number, desk.NewMessage{Body: "nota", Internal: true})
		wantCode(t, err, desk.EForbidden)
		if tl, err := d.Timeline(ctx, boAgent, req.Number); err != nil || len(tl.Messages) != 1 {
			t.Fatalf("own request elsewhere shows internal notes: %+v %v", tl.Messages, err)
		}
		// People lookup stays within the organisations worked.
		ps, err := d.FindPeople(ctx, tn.Actor(t, "agentBO"), "pref-fe", 20)
		if err != nil || len(ps) != 0 {
			t.Fatalf("Bologna's agent finds Ferrara's people: %v %v", ps, err)
		}
	})

	t.Run("Approvals", func(t *testing.T) {
		err := tn.DB.Update(ctx, func(tx desk.Tx) error {
			o, err := tx.OrgByCode(ctx, "pref-fe")
			if err != nil {
				return err
			}
			for _, code := range []string{"firewall", "stampanti"} {
				if err := tx.CreateService(ctx, &desk.Service{OrgID: o.ID, Code: code, Name: code, Active: true}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		fw, err := d.CreateTicket(ctx, desk.SystemActor, desk.NewTicket{OrgCode: "pref-fe", Service: "firewall", Subject: "regola"})
		if err != nil {
			t.Fatal(err)
		}
		pr, err := d.CreateTicket(ctx, desk.SystemActor, desk.NewTicket{OrgCode: "pref-fe", Service: "stampanti", Subject: "toner"})
		if err != nil {
			t.Fatal(err)
		}
		ap := tn.Actor(t, "approverFE")
		if !desk.CanApprove(ap, &fw) || !desk.CanApprove(ap, &pr) {
			t.Fatal("an approver without service memberships approves every ticket they work")
		}
		tn.Grant(t, "approverFE", desk.NewMembership{Organisation: "pref-fe", Service: "firewall"})
		ap = tn.Actor(t, "approverFE")
		if !desk.CanApprove(ap, &fw) || desk.CanApprove(ap, &pr) {
			t.Fatal("service membership does not narrow approvals")
		}
		bo := tn.Tickets["bo"]
		if desk.CanApprove(ap, &bo) || desk.CanApprove(tn.Actor(t, "agentFE"), &fw) {
			t.Fatal("approval outside the approver's organisation or by an agent")
		}
	})

	t.Run("Administration", func(t *testing.T) {
		adminFE, adminMin := tn.Actor(t, "adminFE"), tn.Actor(t, "adminMin")
		var fe, bo, min, comune int64
		_ = tn.DB.View(ctx, func(tx desk.Tx) error {
			for code, p := range map[string]*int64{"pref-fe": &fe, "pref-bo": &bo, "ministero": &min, "comune-fe": &comune} {
				o, err := tx.OrgByCode(ctx, code)
				if err != nil {
					return err
				}
				*p = o.ID
			}
			return nil
		})
		if !desk.CanAdminOrg(adminFE, fe) || !desk.CanAdminOrg(adminFE, comune) || desk.CanAdminOrg(adminFE, bo) || desk.CanAdminOrg(adminFE, min) {
			t.Fatal("an organisation admin administers their organisation and its descendants only")
		}
		if !desk.CanAdminOrg(adminMin, bo) || !desk.CanAdminOrg(adminMin, comune) {
			t.Fatal("the ministry's admin administers the prefectures")
		}
		// Ferrara's admin cannot hand out Bologna, nor manage Bologna's people.
		_, err := d.AddMembership(ctx, adminFE, tn.People["agentFE"], desk.NewMembership{Organisation: "pref-bo"})
		wantCode(t, err, desk.EInvalid)
		_, err = d.AddMembership(ctx, adminFE, tn.People["agentBO"], desk.NewMembership{Organisation: "pref-fe"})
		wantCode(t, err, desk.ENotFound)
		_, _, err = d.Memberships(ctx, tn.Actor(t, "agentFE"), tn.People["agentFE"])
		wantCode(t, err, desk.EForbidden)
		// The ministry's admin can, and the change is seen by tokens at once.
		tok, _, err := d.CreateToken(ctx, tn.Actor(t, "agentFE").UserID, "t", 0)
		if err != nil {
			t.Fatal(err)
		}
		ta, err := d.TokenActor(ctx, tok)
		if err != nil || CanSee(ta, tn.Tickets["bo"]) {
			t.Fatalf("token actor before the grant: %v", err)
		}
		m, err := d.AddMembership(ctx, adminMin, tn.People["agentFE"], desk.NewMembership{Organisation: "pref-bo"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = d.AddMembership(ctx, adminMin, tn.People["agentFE"], desk.NewMembership{Organisation: "pref-bo"})
		wantCode(t, err, desk.EConflict)
		if ta, _ = d.TokenActor(ctx, tok); !CanSee(ta, tn.Tickets["bo"]) || CanSee(ta, tn.Tickets["comune"]) {
			t.Fatal("token actor after the grant")
		}
		// With an explicit membership the home organisation no longer
		// applies by default: it must be named too.
		if CanSee(ta, tn.Tickets["fe"]) {
			t.Fatal("explicit memberships replace the home organisation")
		}
		_, ms, err := d.Memberships(ctx, adminMin, tn.People["agentFE"])
		if err != nil || len(ms) != 1 || ms[0].OrgCode != "pref-bo" || ms[0].Kind() != "organisation" {
			t.Fatalf("memberships %+v %v", ms, err)
		}
		wantCode(t, d.RemoveMembership(ctx, adminFE, tn.People["agentFE"], m.ID), desk.ENotFound)
		if err := d.RemoveMembership(ctx, adminMin, tn.People["agentFE"], m.ID); err != nil {
			t.Fatal(err)
		}
		if ta, _ = d.TokenActor(ctx, tok); CanSee(ta, tn.Tickets["bo"]) || !CanSee(ta, tn.Tickets["fe"]) {
			t.Fatal("token actor after the removal")
		}
		// Organisation admins create organisations below theirs only.
		if _, err := d.CreateOrg(ctx, adminFE, desk.NewOrg{Code: "comune-cento", Name: "Comune di Cento", Parent: "pref-fe"}); err != nil {
			t.Fatalf("Ferrara's admin creating below Ferrara: %v", err)
		}
		_, err = d.CreateOrg(ctx, adminFE, desk.NewOrg{Code: "comune-imola", Name: "Comune di Imola", Parent: "pref-bo"})
		wantCode(t, err, desk.EInvalid)
		_, err = d.CreateOrg(ctx, adminFE, desk.NewOrg{Code: "altro", Name: "Altro"})
		wantCode(t, err, desk.EForbidden)
		if adminFE = tn.Actor(t, "adminFE"); !desk.CanAdminOrg(adminFE, orgID(t, tn, "comune-cento")) {
			t.Fatal("the new organisation is administered by its parent's admin")
		}
		// Organisations listed follow the same rules.
		orgs, err := d.Organisations(ctx, adminFE)
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, o := range orgs {
			codes = append(codes, o.Code)
		}
		sort.Strings(codes)
		if !slices.Equal(codes, []string{"comune-cento", "comune-fe", "pref-fe"}) {
			t.Fatalf("Ferrara's admin lists %v", codes)
		}
	})

	t.Run("TokenScopesAndExpiry", func(t *testing.T) {
		uid := tn.Actor(t, "agentFE").UserID
		tok, _, err := d.CreateScopedToken(ctx, uid, "lettura", 0, desk.ScopeRead)
		if err != nil {
			t.Fatal(err)
		}
		a, err := d.TokenActor(ctx, tok)
		if err != nil || !a.Allows(desk.ScopeRead) || a.Allows(desk.ScopeWrite) || a.Allows(desk.ScopeAdmin) {
			t.Fatalf("read-only token: %+v %v", a.Scopes, err)
		}
		if _, _, err := d.CreateScopedToken(ctx, uid, "nessuno", 0, 0); desk.ErrorCode(err) != desk.EInvalid {
			t.Fatalf("token without scopes: %v", err)
		}
		if s, err := desk.ParseScopes("read, admin"); err != nil || s != desk.ScopeRead|desk.ScopeAdmin || s.String() != "read admin" {
			t.Fatalf("ParseScopes: %v %v", s, err)
		}
		if _, err := desk.ParseScopes("root"); desk.ErrorCode(err) != desk.EInvalid {
			t.Fatal("unknown scope accepted")
		}
	})
}

// CanSee reports whether the actor may see the ticket.
func CanSee(a desk.Actor, t desk.Ticket) bool { return desk.CanSeeTicket(a, &t) }

func orgID(tb testing.TB, tn *Tenancy, code string) int64 {
	tb.Helper()
	var id int64
	err := tn.DB.View(context.Background(), func(tx desk.Tx) error {
		o, err := tx.OrgByCode(context.Background(), code)
		id = o.ID
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

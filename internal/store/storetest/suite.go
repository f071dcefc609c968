package storetest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
)

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the current reading and advances by a millisecond, so that
// successive events are ordered.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// Set moves the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Fixture is a desk with the people most tests need.
type Fixture struct {
	DB        *store.DB
	Desk      *desk.Desk
	Clock     *Clock
	Admin     desk.Actor
	Agent     desk.Actor
	Requester desk.Actor
	Other     desk.Actor // another requester
	Outsider  desk.Actor // an agent of another organisation
}

// NewFixture builds a Fixture on db.
func NewFixture(tb testing.TB, db *store.DB) *Fixture {
	tb.Helper()
	ctx := context.Background()
	clk := NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	d := NewDesk(tb, db, clk.Now)
	f := &Fixture{DB: db, Desk: d, Clock: clk}
	if _, err := d.CreateOrg(ctx, desk.SystemActor, desk.NewOrg{Code: "altro-ente", Name: "Altro ente"}); err != nil {
		tb.Fatal(err)
	}
	mk := func(email string, role desk.Role, org string, inst bool) desk.Actor {
		u, err := d.EnsureUser(ctx, desk.NewUser{Email: email, Name: strings.Split(email, "@")[0], Role: role, OrgCode: org, InstallationAdmin: inst})
		if err != nil {
			tb.Fatal(err)
		}
		return desk.ActorFor(u)
	}
	f.Admin = mk("admin@example.it", desk.RoleAdmin, "", true)
	f.Agent = mk("agente@example.it", desk.RoleAgent, "", false)
	f.Requester = mk("utente@example.it", desk.RoleRequester, "", false)
	f.Other = mk("altro@example.it", desk.RoleRequester, "", false)
	f.Outsider = mk("agente@altro.example.it", desk.RoleAgent, "altro-ente", false)
	err := db.Update(ctx, func(tx desk.Tx) error {
		org, err := desk.DefaultOrg(ctx, tx)
		if err != nil {
			return err
		}
		qu := desk.Queue{OrgID: org.ID, Code: "sistemi-informativi", Name: "Sistemi informativi"}
		if err := tx.CreateQueue(ctx, &qu); err != nil {
			return err
		}
		return tx.CreateService(ctx, &desk.Service{OrgID: org.ID, Code: "stampanti", Name: "Installazione e configurazione dispositivi hardware", QueueID: qu.ID, Active: true})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// Create makes a ticket or fails the test.
func (f *Fixture) Create(tb testing.TB, a desk.Actor, in desk.NewTicket) desk.Ticket {
	tb.Helper()
	t, err := f.Desk.CreateTicket(context.Background(), a, in)
	if err != nil {
		tb.Fatalf("create ticket: %v", err)
	}
	return t
}

// Count returns the number of rows in a table.
func (f *Fixture) Count(tb testing.TB, table string) int {
	tb.Helper()
	var n int
	if err := f.DB.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func wantCode(tb testing.TB, err error, code desk.Code) {
	tb.Helper()
	if got := desk.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// Run runs the store contract suite on the engine that open returns.
func Run(t *testing.T, open func(testing.TB) *store.DB) {
	ctx := context.Background()

	t.Run("CreateAndNumber", func(t *testing.T) {
		f := NewFixture(t, open(t))
		a := f.Create(t, f.Requester, desk.NewTicket{Subject: "BDNA - errore di accesso", Description: "Non riesco ad accedere.", Channel: desk.ChannelWeb})
		b := f.Create(t, f.Agent, desk.NewTicket{Subject: "Stampante guasta", Service: "stampanti", Channel: desk.ChannelPhone,
			Requester: desk.Contact{Email: "Mario.Rossi@Provincia.example.it", Name: "Mario Rossi", Phone: "0831 565353"}})
		if a.Number != "2026-000001" || b.Number != "2026-000002" {
			t.Fatalf("numbers %s %s", a.Number, b.Number)
		}
		if a.Status != desk.StatusNew || a.QueueCode != desk.DefaultTriage || a.Requester.Email != "utente@example.it" || a.RequesterID != f.Requester.UserID {
			t.Fatalf("ticket a = %+v", a)
		}
		if b.QueueCode != "sistemi-informativi" || b.ServiceCode != "stampanti" || b.Requester.Email != "mario.rossi@provincia.example.it" || b.RequesterID == 0 {
			t.Fatalf("ticket b = %+v", b)
		}
		got, err := f.Desk.Ticket(ctx, f.Agent, b.Number)
		if err != nil || got.Subject != "Stampante guasta" || got.Channel != desk.ChannelPhone || got.OrgCode != "ente" {
			t.Fatalf("get: %+v %v", got, err)
		}
		// The requester found by e-mail is reused, not duplicated.
		c := f.Create(t, f.Agent, desk.NewTicket{Subject: "Ancora la stampante", Requester: desk.Contact{Email: "mario.rossi@provincia.example.it"}})
		if c.RequesterID != b.RequesterID {
			t.Fatal("requester registered twice")
		}
	})

	t.Run("YearlyNumbers", func(t *testing.T) {
		f := NewFixture(t, open(t))
		f.Create(t, f.Agent, desk.NewTicket{Subject: "uno"})
		f.Clock.Set(time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC))
		k := f.Create(t, f.Agent, desk.NewTicket{Subject: "due"})
		if k.Number != "2027-000001" {
			t.Fatalf("first number of 2027 = %s", k.Number)
		}
	})

	t.Run("BadInputWritesNothing", func(t *testing.T) {
		f := NewFixture(t, open(t))
		before, users := f.Count(t, "tickets"), f.Count(t, "users")
		cases := []struct {
			in   desk.NewTicket
			code desk.Code
		}{
			{desk.NewTicket{Subject: "  "}, desk.EInvalid},
			{desk.NewTicket{Subject: strings.Repeat("x", desk.MaxSubject+1)}, desk.EInvalid},
			{desk.NewTicket{Subject: "x", Service: "nessuno", Requester: desk.Contact{Email: "nuovo@example.it"}}, desk.EInvalid},
			{desk.NewTicket{Subject: "x", Queue: "nessuna", Requester: desk.Contact{Email: "nuovo@example.it"}}, desk.EInvalid},
			{desk.NewTicket{Subject: "x", Priority: "altissima"}, desk.EInvalid},
			{desk.NewTicket{Subject: "x", Channel: "fax"}, desk.EInvalid},
			{desk.NewTicket{Subject: "x", Requester: desk.Contact{Email: "not an address"}}, desk.EInvalid},
			{desk.NewTicket{Subject: "x", OrgCode: "altro-ente"}, desk.EInvalid},
			{desk.NewTicket{Subject: "x", Attachments: []desk.NewAttachment{{Name: "big.bin", Data: make([]byte, 2<<20)}}}, desk.ETooLarge},
		}
		for i, c := range cases {
			_, err := f.Desk.CreateTicket(ctx, f.Agent, c.in)
			if desk.ErrorCode(err) != c.code {
				t.Errorf("case %d: code %q (%v), want %q", i, desk.ErrorCode(err), err, c.code)
			}
		}
		if f.Count(t, "tickets") != before || f.Count(t, "users") != users || f.Count(t, "events") != 0 {
			t.Fatal("a refused request left rows behind")
		}
		// A requester cannot register a phone call.
		_, err := f.Desk.CreateTicket(ctx, f.Requester, desk.NewTicket{Subject: "x", Channel: desk.ChannelPhone})
		wantCode(t, err, desk.EInvalid)
	})

	t.Run("Lifecycle", func(t *testing.T) {
		f := NewFixture(t, open(t))
		k := f.Create(t, f.Requester, desk.NewTicket{Subject: "Posta PEC non funziona"})
		steps := []struct {
			who  desk.Actor
			to   desk.Status
			code desk.Code
		}{
			{f.Agent, desk.StatusClosed, desk.EConflict},
			{f.Agent, desk.StatusOpen, ""},
			{f.Agent, desk.StatusWaitingSupplier, ""},
			{f.Requester, desk.StatusResolved, desk.EForbidden},
			{f.Agent, desk.StatusResolved, ""},
			{f.Agent, desk.StatusWaitingRequester, desk.EConflict},
			{f.Requester, desk.StatusOpen, ""},
			{f.Agent, desk.StatusResolved, ""},
			{f.Requester, desk.StatusClosed, ""},
			{f.Agent, desk.StatusResolved, desk.EConflict},
			{f.Agent, "chiuso", desk.EInvalid},
		}
		for i, s := range steps {
			_, err := f.Desk.Transition(ctx, s.who, k.Number, desk.TransitionInput{To: s.to, Cause: desk.Cause{Category: "configuration", Text: "Profilo di posta errato"}})
			if desk.ErrorCode(err) != s.code {
				t.Fatalf("step %d (%s): code %q (%v), want %q", i, s.to, desk.ErrorCode(err), err, s.code)
			}
		}
		tl, err := f.Desk.Timeline(ctx, f.Agent, k.Number)
		if err != nil {
			t.Fatal(err)
		}
		if tl.Ticket.Status != desk.StatusClosed || tl.Ticket.Cause.Category != "configuration" {
			t.Fatalf("final ticket %+v", tl.Ticket)
		}
		var statuses []string
		for _, e := range tl.Events {
			if e.Field == "status" {
				statuses = append(statuses, e.Old+">"+e.New)
			}
		}
		want := "new>open open>waiting_supplier waiting_supplier>resolved resolved>open open>resolved resolved>closed"
		if strings.Join(statuses, " ") != want {
			t.Fatalf("history %v, want %s", statuses, want)
		}
		for _, e := range tl.Events {
			if e.At.IsZero() || (e.Field == "status" && e.ActorName == "") {
				t.Fatalf("incomplete event %+v", e)
			}
		}
	})

	t.Run("Visibility", func(t *testing.T) {
		f := NewFixture(t, open(t))
		mine := f.Create(t, f.Requester, desk.NewTicket{Subject: "Il mio PC non si accende"})
		f.Create(t, f.Other, desk.NewTicket{Subject: "Richiesta di un altro"})
		if _, err := f.Desk.Ticket(ctx, f.Other, mine.Number); !desk.IsNotFound(err) {
			t.Fatalf("another requester sees the ticket: %v", err)
		}
		if _, err := f.Desk.Ticket(ctx, f.Outsider, mine.Number); !desk.IsNotFound(err) {
			t.Fatalf("an agent of another organisation sees the ticket: %v", err)
		}
		page, err := f.Desk.ListTickets(ctx, f.Requester, desk.ListQuery{})
		if err != nil || len(page.Items) != 1 || page.Items[0].Number != mine.Number {
			t.Fatalf("requester list: %+v %v", page.Items, err)
		}
		page, _ = f.Desk.ListTickets(ctx, f.Outsider, desk.ListQuery{})
		if len(page.Items) != 0 {
			t.Fatalf("outsider lists %d tickets", len(page.Items))
		}
		page, _ = f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{})
		if len(page.Items) != 2 {
			t.Fatalf("agent lists %d tickets, want 2", len(page.Items))
		}
		// Notes stay internal.
		if _, err := f.Desk.AddMessage(ctx, f.Requester, mine.Number, desk.NewMessage{Body: "nota", Internal: true}); desk.ErrorCode(err) != desk.EForbidden {
			t.Fatalf("requester added an internal note: %v", err)
		}
		if _, err := f.Desk.AddMessage(ctx, f.Agent, mine.Number, desk.NewMessage{Body: "Chiamare il fornitore Olivetti", Internal: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Desk.AddMessage(ctx, f.Agent, mine.Number, desk.NewMessage{Body: "Ha provato a riavviare?"}); err != nil {
			t.Fatal(err)
		}
		tl, _ := f.Desk.Timeline(ctx, f.Requester, mine.Number)
		if len(tl.Messages) != 1 || tl.Messages[0].Kind != desk.MessageReply {
			t.Fatalf("requester timeline messages %+v", tl.Messages)
		}
		for _, e := range tl.Events {
			if e.Field == "note" {
				t.Fatal("requester sees the note event")
			}
		}
		tl, _ = f.Desk.Timeline(ctx, f.Agent, mine.Number)
		if len(tl.Messages) != 2 {
			t.Fatalf("agent sees %d messages, want 2", len(tl.Messages))
		}
		if _, err := f.Desk.Update(ctx, f.Requester, mine.Number, desk.Changes{Priority: ptr(desk.PriorityUrgent)}); desk.ErrorCode(err) != desk.EForbidden {
			t.Fatalf("requester changed priority: %v", err)
		}
	})

	t.Run("RepliesMoveStatus", func(t *testing.T) {
		f := NewFixture(t, open(t))
		k := f.Create(t, f.Requester, desk.NewTicket{Subject: "Firma digitale scaduta"})
		if _, err := f.Desk.AddMessage(ctx, f.Agent, k.Number, desk.NewMessage{Body: "Ci manda il numero di serie?"}); err != nil {
			t.Fatal(err)
		}
		got, _ := f.Desk.Ticket(ctx, f.Agent, k.Number)
		if got.Status != desk.StatusOpen {
			t.Fatalf("first staff reply left status %s", got.Status)
		}
		if _, err := f.Desk.Transition(ctx, f.Agent, k.Number, desk.TransitionInput{To: desk.StatusWaitingRequester}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Desk.AddMessage(ctx, f.Requester, k.Number, desk.NewMessage{Body: "Il numero è 1234"}); err != nil {
			t.Fatal(err)
		}
		got, _ = f.Desk.Ticket(ctx, f.Agent, k.Number)
		if got.Status != desk.StatusOpen {
			t.Fatalf("requester answer left status %s", got.Status)
		}
		if _, err := f.Desk.AddMessage(ctx, f.Agent, k.Number, desk.NewMessage{Body: "  "}); desk.ErrorCode(err) != desk.EInvalid {
			t.Fatalf("empty message: %v", err)
		}
		if _, err := f.Desk.AddMessage(ctx, f.Agent, "2026-999999", desk.NewMessage{Body: "x"}); !desk.IsNotFound(err) {
			t.Fatalf("missing ticket: %v", err)
		}
	})

	t.Run("Attachments", func(t *testing.T) {
		f := NewFixture(t, open(t))
		data := []byte("%PDF-1.4 modulo di richiesta")
		k := f.Create(t, f.Requester, desk.NewTicket{Subject: "Modulo", Attachments: []desk.NewAttachment{{Name: "../../modulo.pdf", ContentType: "application/pdf", Data: data}}})
		m, err := f.Desk.AddMessage(ctx, f.Agent, k.Number, desk.NewMessage{Body: "Ecco di nuovo il modulo", Attachments: []desk.NewAttachment{{Name: "modulo.pdf", ContentType: "application/pdf", Data: data}}})
		if err != nil {
			t.Fatal(err)
		}
		if f.Count(t, "blobs") != 1 || f.Count(t, "attachments") != 2 {
			t.Fatalf("blobs %d attachments %d: content not deduplicated", f.Count(t, "blobs"), f.Count(t, "attachments"))
		}
		tl, _ := f.Desk.Timeline(ctx, f.Requester, k.Number)
		if len(tl.Attachments) != 2 || tl.Attachments[0].Name != "modulo.pdf" || tl.Attachments[1].MessageID != m.ID {
			t.Fatalf("attachments %+v", tl.Attachments)
		}
		at, got, err := f.Desk.Attachment(ctx, f.Requester, k.Number, tl.Attachments[0].ID)
		if err != nil || string(got) != string(data) || at.Size != int64(len(data)) {
			t.Fatalf("download: %v", err)
		}
		if _, _, err := f.Desk.Attachment(ctx, f.Other, k.Number, tl.Attachments[0].ID); !desk.IsNotFound(err) {
			t.Fatalf("another requester downloads: %v", err)
		}
		// An empty file is a file: stored and downloadable, not an error.
		if _, err := f.Desk.AddMessage(ctx, f.Agent, k.Number, desk.NewMessage{Body: "file vuoto", Attachments: []desk.NewAttachment{{Name: "vuoto.txt"}}}); err != nil {
			t.Fatalf("empty attachment: %v", err)
		}
		msgs := f.Count(t, "messages")
		_, err = f.Desk.AddMessage(ctx, f.Agent, k.Number, desk.NewMessage{Body: "troppo grande", Attachments: []desk.NewAttachment{{Name: "x", Data: make([]byte, 2<<20)}}})
		wantCode(t, err, desk.ETooLarge)
		if f.Count(t, "messages") != msgs {
			t.Fatal("a refused attachment left its message behind")
		}
	})

	t.Run("HistoryIsImmutable", func(t *testing.T) {
		f := NewFixture(t, open(t))
		f.Create(t, f.Agent, desk.NewTicket{Subject: "x"})
		if _, err := f.DB.SQL().Exec("UPDATE events SET field = 'tampered'"); err == nil {
			t.Fatal("history row updated")
		}
		if _, err := f.DB.SQL().Exec("DELETE FROM events"); err == nil {
			t.Fatal("history row deleted")
		}
	})

	t.Run("FieldChanges", func(t *testing.T) {
		f := NewFixture(t, open(t))
		k := f.Create(t, f.Requester, desk.NewTicket{Subject: "Toner finito"})
		got, err := f.Desk.Update(ctx, f.Agent, k.Number, desk.Changes{Priority: ptr(desk.PriorityHigh), Assignee: ptr("agente@example.it"), Queue: ptr("sistemi-informativi"), Service: ptr("stampanti")})
		if err != nil {
			t.Fatal(err)
		}
		if got.Priority != desk.PriorityHigh || got.AssigneeEmail != "agente@example.it" || got.QueueCode != "sistemi-informativi" || got.ServiceCode != "stampanti" {
			t.Fatalf("updated %+v", got)
		}
		if _, err := f.Desk.Update(ctx, f.Agent, k.Number, desk.Changes{Assignee: ptr("utente@example.it")}); desk.ErrorCode(err) != desk.EInvalid {
			t.Fatalf("assigned to a requester: %v", err)
		}
		if _, err := f.Desk.Update(ctx, f.Agent, k.Number, desk.Changes{Assignee: ptr("agente@altro.example.it")}); desk.ErrorCode(err) != desk.EInvalid {
			t.Fatalf("assigned to another organisation's agent: %v", err)
		}
		if _, err := f.Desk.Escalate(ctx, f.Agent, k.Number, "serve un tecnico in sede"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Desk.Escalate(ctx, f.Agent, k.Number, ""); desk.ErrorCode(err) != desk.EConflict {
			t.Fatalf("second escalation: %v", err)
		}
		evs, _ := f.Desk.Timeline(ctx, f.Agent, k.Number)
		fields := map[string]string{}
		for _, e := range evs.Events {
			fields[e.Field] = e.Old + ">" + e.New
		}
		for field, want := range map[string]string{"priority": "normal>high", "assignee": ">agente@example.it", "queue": "triage>sistemi-informativi", "level": "1>2", "reason": ">serve un tecnico in sede"} {
			if fields[field] != want {
				t.Errorf("history %s = %q, want %q", field, fields[field], want)
			}
		}
		page, _ := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Assignee: "me"})
		if len(page.Items) != 1 {
			t.Fatalf("assigned to me: %d", len(page.Items))
		}
	})

	t.Run("LinksAndMerge", func(t *testing.T) {
		f := NewFixture(t, open(t))
		a := f.Create(t, f.Requester, desk.NewTicket{Subject: "Stampante 2° piano"})
		b := f.Create(t, f.Requester, desk.NewTicket{Subject: "Stampante secondo piano ancora guasta"})
		c := f.Create(t, f.Other, desk.NewTicket{Subject: "Rete lenta"})
		if err := f.Desk.LinkTickets(ctx, f.Agent, a.Number, c.Number, desk.LinkRelated); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.Desk.LinkTickets(ctx, f.Agent, a.Number, c.Number, desk.LinkRelated), desk.EConflict)
		wantCode(t, f.Desk.LinkTickets(ctx, f.Agent, a.Number, a.Number, desk.LinkRelated), desk.EInvalid)
		tl, _ := f.Desk.Timeline(ctx, f.Agent, c.Number)
		if len(tl.Links) != 1 || tl.Links[0].ToNumber != a.Number {
			t.Fatalf("links seen from the other side: %+v", tl.Links)
		}
		if _, err := f.Desk.AddMessage(ctx, f.Requester, b.Number, desk.NewMessage{Body: "Si inceppa la carta"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Desk.Merge(ctx, f.Agent, b.Number, a.Number); err != nil {
			t.Fatal(err)
		}
		src, _ := f.Desk.Timeline(ctx, f.Agent, b.Number)
		dst, _ := f.Desk.Timeline(ctx, f.Agent, a.Number)
		if src.Ticket.Status != desk.StatusClosed || src.Ticket.MergedInto != a.ID || len(src.Messages) != 0 {
			t.Fatalf("merged source %+v, %d messages", src.Ticket, len(src.Messages))
		}
		if len(dst.Messages) != 1 || dst.Messages[0].Body != "Si inceppa la carta" {
			t.Fatalf("merge target messages %+v", dst.Messages)
		}
		if _, err := f.Desk.Merge(ctx, f.Agent, b.Number, a.Number); desk.ErrorCode(err) != desk.EConflict {
			t.Fatalf("second merge: %v", err)
		}
		if _, err := f.Desk.AddMessage(ctx, f.Requester, b.Number, desk.NewMessage{Body: "x"}); desk.ErrorCode(err) != desk.EConflict {
			t.Fatalf("reply to merged ticket: %v", err)
		}
		page, _ := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Text: "inceppa"})
		if len(page.Items) != 1 || page.Items[0].Number != a.Number {
			t.Fatalf("search after merge: %+v", page.Items)
		}
	})

	t.Run("Search", func(t *testing.T) {
		f := NewFixture(t, open(t))
		a := f.Create(t, f.Requester, desk.NewTicket{Subject: "Perché la stampante non stampa?", Description: "La stampante di rete del secondo piano è bloccata."})
		b := f.Create(t, f.Requester, desk.NewTicket{Subject: "Certificato digitale BDNA", Description: "Devo rinnovare il certificato."})
		c := f.Create(t, f.Other, desk.NewTicket{Subject: "Stampante in ufficio protocollo", Description: "Attività sospesa."})
		if _, err := f.Desk.AddMessage(ctx, f.Agent, b.Number, desk.NewMessage{Body: "Va inviato alla Prefettura di Ferrara via PEC"}); err != nil {
			t.Fatal(err)
		}
		numbers := func(a desk.Actor, q string) []string {
			t.Helper()
			page, err := f.Desk.ListTickets(ctx, a, desk.ListQuery{Text: q})
			if err != nil {
				t.Fatalf("search %q: %v", q, err)
			}
			var out []string
			for _, k := range page.Items {
				out = append(out, k.Number)
			}
			return out
		}
		check := func(a desk.Actor, q string, want ...string) {
			t.Helper()
			if got := numbers(a, q); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("search %q = %v, want %v", q, got, want)
			}
		}
		check(f.Agent, "stampante", c.Number, a.Number) // newest first
		check(f.Agent, "perche", a.Number)              // accents folded
		check(f.Agent, "ATTIVITA", c.Number)
		check(f.Agent, "prefettura ferrara", b.Number) // replies are searched
		check(f.Agent, `"prefettura di ferrara"`, b.Number)
		check(f.Agent, "stamp*", c.Number, a.Number)
		check(f.Agent, "stampante -protocollo", a.Number)
		check(f.Requester, "stampante", a.Number) // scope applies
		check(f.Agent, "'; DROP TABLE tickets; --")
		check(f.Agent, `NEAR( "* OR`)
		check(f.Agent, "nessunrisultato")
		page, err := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Text: "stampante", Limit: 1})
		if err != nil || len(page.Items) != 1 || page.Next == "" {
			t.Fatalf("first page %+v %v", page, err)
		}
		page, err = f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Text: "stampante", Limit: 1, Cursor: page.Next})
		if err != nil || len(page.Items) != 1 || page.Items[0].Number != a.Number || page.Next != "" {
			t.Fatalf("second page %+v %v", page, err)
		}
	})

	t.Run("ListFiltersAndCursor", func(t *testing.T) {
		f := NewFixture(t, open(t))
		var all []string
		for i := 0; i < 7; i++ {
			k := f.Create(t, f.Agent, desk.NewTicket{Subject: fmt.Sprintf("richiesta %d", i), Service: map[bool]string{true: "stampanti"}[i%2 == 0]})
			all = append([]string{k.Number}, all...)
		}
		var got []string
		cursor := ""
		for {
			page, err := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range page.Items {
				got = append(got, k.Number)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if strings.Join(got, ",") != strings.Join(all, ",") {
			t.Fatalf("paged %v, want %v", got, all)
		}
		page, _ := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Queue: "sistemi-informativi"})
		if len(page.Items) != 4 {
			t.Fatalf("queue filter: %d", len(page.Items))
		}
		page, _ = f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Statuses: []desk.Status{desk.StatusOpen}})
		if len(page.Items) != 0 {
			t.Fatalf("status filter: %d", len(page.Items))
		}
		for _, bad := range []desk.ListQuery{{Cursor: "zzz"}, {Limit: 100000}, {Statuses: []desk.Status{"boh"}}, {Queue: "nessuna"}} {
			if _, err := f.Desk.ListTickets(ctx, f.Agent, bad); desk.ErrorCode(err) != desk.EInvalid {
				t.Errorf("%+v: %v", bad, err)
			}
		}
	})

	t.Run("MaintainedCounts", func(t *testing.T) {
		f := NewFixture(t, open(t))
		for i := 0; i < 5; i++ {
			k := f.Create(t, f.Agent, desk.NewTicket{Subject: "x"})
			if i < 2 {
				if _, err := f.Desk.Transition(ctx, f.Agent, k.Number, desk.TransitionInput{To: desk.StatusOpen}); err != nil {
					t.Fatal(err)
				}
			}
		}
		counts := map[desk.Status]int64{}
		if err := f.DB.View(ctx, func(tx desk.Tx) error {
			cs, err := tx.CountTickets(ctx, nil)
			for _, c := range cs {
				counts[c.Status] += c.N
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if counts[desk.StatusNew] != 3 || counts[desk.StatusOpen] != 2 {
			t.Fatalf("counts %v", counts)
		}
	})

	t.Run("PeopleAndTokens", func(t *testing.T) {
		f := NewFixture(t, open(t))
		u, err := f.Desk.CreateUser(ctx, f.Admin, desk.NewUser{Email: "Nuovo.Agente@example.it", Name: "Nuovo Agente", Role: desk.RoleAgent, Password: "una password lunga"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Desk.CreateUser(ctx, f.Admin, desk.NewUser{Email: "nuovo.agente@example.it", Role: desk.RoleAgent}); desk.ErrorCode(err) != desk.EConflict {
			t.Fatalf("duplicate user: %v", err)
		}
		if _, err := f.Desk.CreateUser(ctx, f.Agent, desk.NewUser{Email: "x@example.it", Role: desk.RoleAgent}); desk.ErrorCode(err) != desk.EForbidden {
			t.Fatalf("agent created a user: %v", err)
		}
		if _, err := f.Desk.Authenticate(ctx, "nuovo.agente@example.it", "una password lunga"); err != nil {
			t.Fatalf("log-in: %v", err)
		}
		for _, c := range [][2]string{{"nuovo.agente@example.it", "sbagliata"}, {"nessuno@example.it", "x"}} {
			if _, err := f.Desk.Authenticate(ctx, c[0], c[1]); desk.ErrorCode(err) != desk.EUnauthorized {
				t.Fatalf("bad log-in %v: %v", c, err)
			}
		}
		var stored string
		f.DB.SQL().QueryRow(f.rebind("SELECT password_hash FROM users WHERE id = $1"), u.ID).Scan(&stored)
		if !strings.HasPrefix(stored, "$argon2id$") {
			t.Fatalf("password stored as %q", stored)
		}
		tok, _, err := f.Desk.CreateToken(ctx, u.ID, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.Desk.TokenActor(ctx, tok)
		if err != nil || a.UserID != u.ID || a.Role != desk.RoleAgent {
			t.Fatalf("token actor %+v %v", a, err)
		}
		var n int
		f.DB.SQL().QueryRow(f.rebind("SELECT COUNT(*) FROM api_tokens WHERE hash = $1"), desk.HashToken(tok)).Scan(&n)
		if n != 1 || strings.Contains(fmt.Sprint(f.Count(t, "api_tokens")), tok) {
			t.Fatal("token not stored as its SHA-256")
		}
		if err := f.Desk.RevokeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Desk.TokenActor(ctx, tok); desk.ErrorCode(err) != desk.EUnauthorized {
			t.Fatalf("revoked token: %v", err)
		}
		short, _, _ := f.Desk.CreateToken(ctx, u.ID, "breve", time.Minute)
		f.Clock.Set(f.Clock.Now().Add(2 * time.Minute))
		if _, err := f.Desk.TokenActor(ctx, short); desk.ErrorCode(err) != desk.EUnauthorized {
			t.Fatalf("expired token: %v", err)
		}
		if _, err := f.Desk.TokenActor(ctx, "spt_nonesiste"); desk.ErrorCode(err) != desk.EUnauthorized {
			t.Fatalf("unknown token: %v", err)
		}
	})

	runTags(t, open)

	t.Run("AuditLog", func(t *testing.T) {
		f := NewFixture(t, open(t))
		rctx := desk.WithRemote(ctx, "192.0.2.7")
		u, err := f.Desk.CreateUser(rctx, f.Admin, desk.NewUser{Email: "revisore@example.it", Name: "Revisore", Role: desk.RoleAgent, Password: "una password lunga"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Desk.Authenticate(rctx, "revisore@example.it", "sbagliata"); desk.ErrorCode(err) != desk.EUnauthorized {
			t.Fatal(err)
		}
		if _, err := f.Desk.Authenticate(rctx, "Nessuno@Example.it", "x"); desk.ErrorCode(err) != desk.EUnauthorized {
			t.Fatal(err)
		}
		if _, err := f.Desk.Authenticate(rctx, "revisore@example.it", "una password lunga"); err != nil {
			t.Fatal(err)
		}
		tok, k, err := f.Desk.CreateToken(ctx, u.ID, "script", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Desk.RevokeToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		all, err := f.Desk.AuditLog(ctx, f.Admin, desk.AuditFilter{Target: fmt.Sprintf("user:%d", u.ID)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range all {
			got = append(got, e.Action+" "+e.Actor+" "+e.Remote)
		}
		want := []string{
			"login.ok Revisore <revisore@example.it> 192.0.2.7",
			"login.failed revisore@example.it 192.0.2.7",
			"user.create admin <admin@example.it> 192.0.2.7",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit of the user, newest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if all[1].ActorID != u.ID || all[1].OrgID != u.OrgID || all[0].At.IsZero() {
			t.Fatalf("failed log-in entry %+v", all[1])
		}
		failed, err := f.Desk.AuditLog(ctx, f.Admin, desk.AuditFilter{Action: "login.f"})
		if err != nil || len(failed) != 2 || failed[0].Actor != "nessuno@example.it" || failed[0].ActorID != 0 {
			t.Fatalf("failed log-ins %+v %v", failed, err)
		}
		toks, err := f.Desk.AuditLog(ctx, f.Admin, desk.AuditFilter{ActorID: u.ID, Action: "token."})
		if err != nil || len(toks) != 2 || toks[0].Action != desk.AuditTokenRevoke || toks[1].Target != fmt.Sprintf("token:%d", k.ID) ||
			!strings.Contains(toks[1].Detail, "script") || strings.Contains(toks[1].Detail, tok) {
			t.Fatalf("token entries %+v %v", toks, err)
		}
		page, err := f.Desk.AuditLog(ctx, f.Admin, desk.AuditFilter{Limit: 2, Before: toks[0].ID})
		if err != nil || len(page) != 2 || page[0].ID != toks[1].ID || page[1].ID >= page[0].ID {
			t.Fatalf("cursor page %+v %v", page, err)
		}
		if _, err := f.Desk.AuditLog(ctx, f.Agent, desk.AuditFilter{}); desk.ErrorCode(err) != desk.EForbidden {
			t.Fatalf("agent read the audit log: %v", err)
		}
		// An organisation administrator sees only their organisation.
		oa, err := f.Desk.EnsureUser(ctx, desk.NewUser{Email: "admin@altro.example.it", Role: desk.RoleAdmin, OrgCode: "altro-ente"})
		if err != nil {
			t.Fatal(err)
		}
		mine, err := f.Desk.AuditLog(ctx, desk.ActorFor(oa), desk.AuditFilter{})
		if err != nil || len(mine) == 0 {
			t.Fatalf("org admin: %v %v", mine, err)
		}
		for _, e := range mine {
			if e.OrgID != oa.OrgID {
				t.Fatalf("org admin saw %+v", e)
			}
		}
		if _, err := f.Desk.AuditLog(ctx, desk.ActorFor(oa), desk.AuditFilter{OrgID: u.OrgID}); desk.ErrorCode(err) != desk.EForbidden {
			t.Fatalf("org admin read another organisation: %v", err)
		}
		if _, err := f.DB.SQL().Exec("UPDATE audit_log SET actor = 'x'"); err == nil {
			t.Fatal("audit entry updated")
		}
		if _, err := f.DB.SQL().Exec("DELETE FROM audit_log"); err == nil {
			t.Fatal("audit entry deleted")
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		f := NewFixture(t, open(t))
		const n = 64
		numbers := make([]string, n)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				k, err := f.Desk.CreateTicket(ctx, f.Agent, desk.NewTicket{Subject: fmt.Sprintf("concorrente %d", i), Requester: desk.Contact{Email: fmt.Sprintf("u%d@example.it", i%5)}})
				if err != nil {
					errs <- err
					return
				}
				numbers[i] = k.Number
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		sort.Strings(numbers)
		for i := 1; i < n; i++ {
			if numbers[i] == numbers[i-1] {
				t.Fatalf("number %s given twice", numbers[i])
			}
		}
		// Concurrent transitions of one ticket: exactly one resolve wins.
		k := f.Create(t, f.Agent, desk.NewTicket{Subject: "corsa"})
		var ok, conflicts int
		var mu sync.Mutex
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.Desk.Transition(ctx, f.Agent, k.Number, desk.TransitionInput{To: desk.StatusResolved})
				mu.Lock()
				defer mu.Unlock()
				switch desk.ErrorCode(err) {
				case "":
					ok++
				case desk.EConflict:
					conflicts++
				default:
					t.Errorf("transition: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || conflicts != 15 {
			t.Fatalf("%d transitions succeeded and %d conflicted, want 1 and 15", ok, conflicts)
		}
		// Concurrent replies all land, with their history.
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if _, err := f.Desk.AddMessage(ctx, f.Agent, k.Number, desk.NewMessage{Body: fmt.Sprintf("nota %d", i), Internal: true}); err != nil {
					t.Error(err)
				}
			}(i)
		}
		wg.Wait()
		tl, _ := f.Desk.Timeline(ctx, f.Agent, k.Number)
		if len(tl.Messages) != 20 {
			t.Fatalf("%d of 20 concurrent notes stored", len(tl.Messages))
		}
	})
}

// rebind adapts a $N query for ad-hoc checks in tests.
func (f *Fixture) rebind(q string) string {
	if f.DB.Dialect() == store.SQLite {
		return strings.ReplaceAll(q, "$", "?")
	}
	return q
}

func ptr[T any](v T) *T { return &v }

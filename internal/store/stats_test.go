package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

func TestDashboardAggregatesSQLite(t *testing.T) { testDashboardAggregates(t, storetest.OpenSQLite) }

func TestDashboardAggregatesPostgres(t *testing.T) {
	testDashboardAggregates(t, storetest.OpenPostgres)
}

// testDashboardAggregates checks that the maintained aggregates follow
// creations, status changes and moves, and agree with the tickets.
func testDashboardAggregates(t *testing.T, open func(testing.TB) *store.DB) {
	ctx := context.Background()
	f := storetest.NewFixture(t, open(t))
	d := f.Desk
	// 2 March 2026 09:00 UTC is a Monday.
	a := f.Create(t, f.Agent, desk.NewTicket{Subject: "Stampante", Service: "stampanti", Channel: desk.ChannelPhone,
		Requester: desk.Contact{Email: "mario@example.it"}})
	b := f.Create(t, f.Requester, desk.NewTicket{Subject: "BDNA", Channel: desk.ChannelWeb})
	f.Create(t, f.Requester, desk.NewTicket{Subject: "Altro", Channel: desk.ChannelWeb})
	f.Create(t, f.Outsider, desk.NewTicket{Subject: "Altro ente", Channel: desk.ChannelEmail,
		Requester: desk.Contact{Email: "x@altro.example.it"}})

	f.Clock.Set(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	if _, err := d.Transition(ctx, f.Agent, a.Number, desk.TransitionInput{To: desk.StatusOpen}); err != nil {
		t.Fatal(err)
	}
	f.Clock.Set(time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC))
	if _, err := d.Transition(ctx, f.Agent, a.Number, desk.TransitionInput{To: desk.StatusResolved, Cause: desk.Cause{Category: "hardware"}}); err != nil {
		t.Fatal(err)
	}
	q := "sistemi-informativi"
	if _, err := d.Update(ctx, f.Agent, b.Number, desk.Changes{Queue: &q}); err != nil {
		t.Fatal(err)
	}

	got, err := d.Dashboard(ctx, f.Admin, desk.DashboardQuery{OrgCode: "ente"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Open != 2 {
		t.Errorf("open = %d, want 2", got.Open)
	}
	status := map[string]int64{}
	for _, s := range got.ByStatus {
		status[s.Key] = s.N
	}
	if status["new"] != 2 || status["resolved"] != 1 || status["open"] != 0 {
		t.Errorf("by status = %v", status)
	}
	channel := map[string]int64{}
	for _, s := range got.ByChannel {
		channel[s.Key] = s.N
	}
	if channel["web"] != 2 || channel["phone"] != 0 || channel["email"] != 0 {
		t.Errorf("by channel = %v (the other organisation's e-mail ticket must not count)", channel)
	}
	queue := map[string]int64{}
	for _, s := range got.ByQueue {
		queue[s.Key] = s.N
	}
	if queue["sistemi-informativi"] != 1 || queue["triage"] != 1 {
		t.Errorf("by queue = %v", queue)
	}
	var opened, resolved int64
	for _, td := range got.Trend {
		opened += td.Opened
		resolved += td.Resolved
		if td.Day.Day() == 3 && td.Resolved != 1 {
			t.Errorf("3 March resolved = %d", td.Resolved)
		}
	}
	if len(got.Trend) != 7 || opened != 3 || resolved != 1 {
		t.Errorf("trend: %d days, opened %d, resolved %d", len(got.Trend), opened, resolved)
	}
	if got.Week.Responded != 1 || got.Week.AvgResponse.Round(time.Minute) != time.Hour || got.Week.Resolved != 1 || got.Week.AvgResolution.Round(time.Minute) != 24*time.Hour {
		t.Errorf("week times = %+v", got.Week)
	}

	// The installation sees both organisations; an agent sees nothing.
	all, err := d.Dashboard(ctx, f.Admin, desk.DashboardQuery{})
	if err != nil || all.Open != 3 {
		t.Fatalf("installation dashboard open = %d, %v", all.Open, err)
	}
	if _, err := d.Dashboard(ctx, f.Agent, desk.DashboardQuery{}); desk.ErrorCode(err) != desk.EForbidden {
		t.Fatalf("agent dashboard: %v", err)
	}

	// The aggregates agree with a count of the tickets.
	var n int64
	if err := f.DB.SQL().QueryRow("SELECT COUNT(*) FROM tickets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	var sum int64
	if err := f.DB.SQL().QueryRow("SELECT SUM(n) FROM stat_open").Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != n {
		t.Fatalf("stat_open sums to %d, tickets %d", sum, n)
	}
}

func TestAdminStoreSQLite(t *testing.T) { testAdminStore(t, storetest.OpenSQLite) }

func TestAdminStorePostgres(t *testing.T) { testAdminStore(t, storetest.OpenPostgres) }

// testAdminStore checks the administration's storage through the desk:
// paged people lists, queue renames and canned answers, with their
// authorisation and audit entries.
func testAdminStore(t *testing.T, open func(testing.TB) *store.DB) {
	ctx := context.Background()
	f := storetest.NewFixture(t, open(t))
	d := f.Desk
	all, err := d.ListUsers(ctx, f.Admin, desk.UserQuery{Limit: 2})
	if err != nil || len(all) != 2 {
		t.Fatalf("first page: %d %v", len(all), err)
	}
	rest, err := d.ListUsers(ctx, f.Admin, desk.UserQuery{Limit: 50, Before: all[1].ID})
	if err != nil || len(rest) != 3 || rest[0].ID >= all[1].ID {
		t.Fatalf("second page: %+v %v", rest, err)
	}
	agents, err := d.ListUsers(ctx, f.Admin, desk.UserQuery{Role: desk.RoleAgent, Text: "AGENTE"})
	if err != nil || len(agents) != 2 {
		t.Fatalf("agents: %+v %v", agents, err)
	}
	// An organisation's administrator lists their own people only.
	boss, err := d.CreateUser(ctx, f.Admin, desk.NewUser{OrgCode: "altro-ente", Email: "capo@altro.example.it", Role: desk.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	bossA := desk.ActorFor(boss)
	mine, err := d.ListUsers(ctx, bossA, desk.UserQuery{})
	if err != nil || len(mine) != 2 {
		t.Fatalf("organisation admin sees %d users: %v", len(mine), err)
	}
	if _, err := d.ListUsers(ctx, bossA, desk.UserQuery{OrgCode: "ente"}); desk.ErrorCode(err) != desk.EForbidden {
		t.Fatalf("other organisation's users: %v", err)
	}
	if _, err := d.ListUsers(ctx, f.Agent, desk.UserQuery{}); desk.ErrorCode(err) != desk.EForbidden {
		t.Fatalf("agent lists users: %v", err)
	}
	role := desk.RoleAdmin
	if _, err := d.AdminUpdateUser(ctx, bossA, f.Agent.UserID, desk.UserChanges{Role: &role}); desk.ErrorCode(err) != desk.ENotFound {
		t.Fatalf("organisation admin promoted another organisation's agent: %v", err)
	}
	role = desk.RoleApprover
	u, err := d.AdminUpdateUser(ctx, f.Admin, f.Agent.UserID, desk.UserChanges{Role: &role})
	if err != nil || u.Role != desk.RoleApprover {
		t.Fatalf("promote: %+v %v", u, err)
	}

	// Queues.
	q, err := d.AdminCreateQueue(ctx, f.Admin, "", "rete", "Rete")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.AdminCreateQueue(ctx, f.Admin, "", "rete", "Rete"); desk.ErrorCode(err) != desk.EConflict {
		t.Fatalf("duplicate queue: %v", err)
	}
	if q, err = d.AdminRenameQueue(ctx, f.Admin, q.ID, "Rete e sicurezza"); err != nil || q.Name != "Rete e sicurezza" {
		t.Fatalf("rename: %+v %v", q, err)
	}
	if _, err := d.AdminRenameQueue(ctx, bossA, q.ID, "X"); desk.ErrorCode(err) != desk.ENotFound {
		t.Fatalf("rename another organisation's queue: %v", err)
	}

	// Canned answers: replaced by code, deleted, per organisation.
	if _, err := d.SaveCanned(ctx, f.Admin, "", desk.CannedAnswer{Code: "saluto", Title: "Saluto", Body: "Ciao"}); err != nil {
		t.Fatal(err)
	}
	c, err := d.SaveCanned(ctx, f.Admin, "", desk.CannedAnswer{Code: "saluto", Title: "Saluto cordiale", Body: "Buongiorno"})
	if err != nil {
		t.Fatal(err)
	}
	list, err := d.CannedAnswers(ctx, f.Agent, "")
	if err != nil || len(list) != 1 || list[0].Title != "Saluto cordiale" || list[0].ID != c.ID {
		t.Fatalf("canned: %+v %v", list, err)
	}
	if other, err := d.CannedAnswers(ctx, f.Outsider, ""); err != nil || len(other) != 0 {
		t.Fatalf("other organisation sees %+v %v", other, err)
	}
	if err := d.DeleteCanned(ctx, bossA, c.ID); desk.ErrorCode(err) != desk.ENotFound {
		t.Fatalf("delete another organisation's answer: %v", err)
	}
	if err := d.DeleteCanned(ctx, f.Admin, c.ID); err != nil {
		t.Fatal(err)
	}

	// Each change was audited in its transaction.
	log, err := d.AuditLog(ctx, f.Admin, desk.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range log {
		seen[e.Action]++
	}
	for _, a := range []string{"user.role", "queue.create", "queue.update", "canned.update", "canned.delete"} {
		if seen[a] == 0 {
			t.Errorf("no %s in the audit log: %v", a, seen)
		}
	}
	if seen["queue.create"] != 1 || seen["canned.update"] != 2 {
		t.Errorf("refused changes were audited: %v", seen)
	}
}

func TestAggregatesBackfillSQLite(t *testing.T) {
	testAggregatesBackfill(t, func(t *testing.T) store.Config { return store.Config{DataDir: t.TempDir(), NoMigrate: true} })
}

func TestAggregatesBackfillPostgres(t *testing.T) {
	testAggregatesBackfill(t, func(t *testing.T) store.Config { return store.Config{URL: storetest.PostgresURL(t), NoMigrate: true} })
}

// statsVersionBefore is the last schema without the aggregates.
const statsVersionBefore = 89

// testAggregatesBackfill registers tickets on the schema before 0090 and
// upgrades: the migration fills the aggregates from the tickets and their
// history, and later changes keep them right.
func testAggregatesBackfill(t *testing.T, cfg func(t *testing.T) store.Config) {
	ctx := context.Background()
	db, err := store.Open(ctx, cfg(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := statsVersionBefore
	if _, err := db.Migrate(ctx, &before); err != nil {
		t.Fatal(err)
	}
	// The tickets are written with plain SQL, as that schema's code wrote
	// them: today's write path needs tables that later migrations add.
	// Numbers of another year keep clear of the counter the desk uses below.
	at := func(h int) int64 { return time.Date(2026, 3, 2, h, 0, 0, 0, time.UTC).UnixMicro() }
	exec := func(query string, args ...any) {
		t.Helper()
		if db.Dialect() == store.Postgres {
			for i := 1; strings.Contains(query, "?"); i++ {
				query = strings.Replace(query, "?", fmt.Sprintf("$%d", i), 1)
			}
		}
		if _, err := db.SQL().ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`INSERT INTO orgs (code, name, created_at) VALUES ('ente-storico', 'Ente storico', 1)`)
	ins := `INSERT INTO tickets (number, org_id, subject, status, priority, channel, created_at, updated_at, resolved_at)
		SELECT ?, id, ?, ?, 'normal', ?, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT) FROM orgs ORDER BY id LIMIT 1`
	exec(ins, "2020-000001", "Uno", "resolved", "phone", at(9), at(33), at(33))
	exec(ins, "2020-000002", "Due", "new", "web", at(9), at(9), int64(0))
	exec(`INSERT INTO events (ticket_id, at, field, old_value, new_value) SELECT id, CAST(? AS BIGINT), 'status', 'new', 'open' FROM tickets WHERE number = ?`, at(11), "2020-000001")
	exec(`INSERT INTO events (ticket_id, at, field, old_value, new_value) SELECT id, CAST(? AS BIGINT), 'status', 'open', 'resolved' FROM tickets WHERE number = ?`, at(33), "2020-000001")
	clk := storetest.NewClock(time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC))
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	d := storetest.NewDesk(t, db, clk.Now)
	got, err := d.Dashboard(ctx, desk.SystemActor, desk.DashboardQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Open != 1 || got.Week.Responded != 1 || got.Week.Resolved != 1 || got.Week.AvgResponse.Round(time.Minute) != 2*time.Hour ||
		got.Week.AvgResolution.Round(time.Minute) != 24*time.Hour {
		t.Fatalf("after back-fill: open %d, week %+v", got.Open, got.Week)
	}
	var opened int64
	for _, td := range got.Trend {
		opened += td.Opened
	}
	if opened != 2 {
		t.Fatalf("opened after back-fill: %d", opened)
	}
	// New changes are counted on top.
	if _, err := d.CreateTicket(ctx, desk.SystemActor, desk.NewTicket{Subject: "Tre", Channel: desk.ChannelWeb, Requester: desk.Contact{Email: "c@example.it"}}); err != nil {
		t.Fatal(err)
	}
	if got, err = d.Dashboard(ctx, desk.SystemActor, desk.DashboardQuery{}); err != nil || got.Open != 2 {
		t.Fatalf("after a new ticket: %d %v", got.Open, err)
	}
}

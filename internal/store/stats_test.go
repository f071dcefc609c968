package store_test

import (
	"context"
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

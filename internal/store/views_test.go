package store_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
)

// TestViewCounts checks, on both engines, that the maintained counters by
// queue, service, assignee and status agree with counting the rows after
// registrations (concurrent ones included), assignments, service changes
// and status changes.
func TestViewCounts(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := storetest.NewFixture(t, open(t))
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					in := desk.NewTicket{Subject: "Richiesta", Requester: desk.Contact{Email: "utente@example.it"}}
					if i%3 == 0 {
						in.Service = "stampanti"
					}
					if _, err := f.Desk.CreateTicket(ctx, f.Agent, in); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			page, err := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			me := f.Agent.Email
			for i, k := range page.Items {
				switch i % 4 {
				case 0:
					if _, err := f.Desk.Update(ctx, f.Agent, k.Number, desk.Changes{Assignee: &me}); err != nil {
						t.Fatal(err)
					}
				case 1:
					svc := "stampanti"
					if _, err := f.Desk.Update(ctx, f.Agent, k.Number, desk.Changes{Service: &svc, Assignee: &me}); err != nil {
						t.Fatal(err)
					}
				case 2:
					if _, err := f.Desk.Transition(ctx, f.Agent, k.Number, desk.TransitionInput{To: desk.StatusCancelled, Reason: "doppione"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			var svcID int64
			if err := f.DB.SQL().QueryRow("SELECT id FROM services WHERE code = 'stampanti'").Scan(&svcID); err != nil {
				t.Fatal(err)
			}
			rows := func(where string, args ...any) int64 {
				t.Helper()
				var n int64
				q := "SELECT COUNT(*) FROM tickets WHERE " + where
				if name == "postgres" {
					for i := range args {
						q = replaceFirst(q, "?", "$"+string(rune('1'+i)))
					}
				}
				if err := f.DB.SQL().QueryRow(q, args...).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			open := desk.OpenStatuses()
			for _, tc := range []struct {
				name string
				f    desk.ViewFilter
				want int64
			}{
				{"all", desk.ViewFilter{}, rows("1 = 1")},
				{"open", desk.ViewFilter{Statuses: open}, rows("status NOT IN ('cancelled', 'closed', 'resolved', 'redirected')")},
				{"mine", desk.ViewFilter{AssigneeID: f.Agent.UserID}, rows("assignee_id = ?", f.Agent.UserID)},
				{"unassigned open", desk.ViewFilter{Unassigned: true, Statuses: open}, rows("assignee_id IS NULL AND status NOT IN ('cancelled', 'closed', 'resolved', 'redirected')")},
				{"service", desk.ViewFilter{ServiceID: svcID}, rows("service_id = ?", svcID)},
				{"cancelled", desk.ViewFilter{Statuses: []desk.Status{desk.StatusCancelled}}, rows("status = 'cancelled'")},
			} {
				got, err := f.Desk.CountViews(ctx, f.Agent, []desk.ViewFilter{tc.f})
				if err != nil {
					t.Fatal(err)
				}
				if got[0] != tc.want || (tc.name == "all" && got[0] != 12) {
					t.Errorf("%s: counter %d, rows %d", tc.name, got[0], tc.want)
				}
			}
			// Another organisation's agent counts nothing of ours.
			if n, err := f.Desk.CountViews(ctx, f.Outsider, []desk.ViewFilter{{}}); err != nil || n[0] != 0 {
				t.Errorf("outsider counts %v %v", n, err)
			}
			if _, err := f.Desk.CountViews(ctx, f.Requester, []desk.ViewFilter{{}}); desk.ErrorCode(err) != desk.EForbidden {
				t.Errorf("requester: %v", err)
			}
		})
	}
}

func replaceFirst(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	return s
}

// TestSavedViews checks, on both engines, personal and shared views and
// who may create and delete them.
func TestSavedViews(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := storetest.NewFixture(t, open(t))
			u, err := f.Desk.EnsureUser(ctx, desk.NewUser{Email: "responsabile@example.it", Name: "Resp", Role: desk.RoleApprover})
			if err != nil {
				t.Fatal(err)
			}
			boss := desk.ActorFor(u)
			mine, err := f.Desk.SaveView(ctx, f.Agent, "  Le mie   urgenti ", "assegnatario=me&priorita=urgent", false)
			if err != nil || mine.Name != "Le mie urgenti" || mine.Shared() {
				t.Fatalf("personal view: %+v %v", mine, err)
			}
			if _, err := f.Desk.SaveView(ctx, f.Agent, "Per tutti", "stato=tutti", true); desk.ErrorCode(err) != desk.EForbidden {
				t.Fatalf("agent shares: %v", err)
			}
			shared, err := f.Desk.SaveView(ctx, boss, "Coda stampanti", "servizio=stampanti", true)
			if err != nil || !shared.Shared() {
				t.Fatalf("shared view: %+v %v", shared, err)
			}
			if _, err := f.Desk.SaveView(ctx, f.Agent, "le mie URGENTI", "q=x", false); desk.ErrorCode(err) != desk.EConflict {
				t.Fatalf("duplicate name: %v", err)
			}
			for _, bad := range []struct{ name, query string }{{"", "q=x"}, {"x", "q=a b"}, {string(make([]rune, 81)), "q=x"}} {
				if _, err := f.Desk.SaveView(ctx, f.Agent, bad.name, bad.query, false); desk.ErrorCode(err) != desk.EInvalid {
					t.Errorf("bad view %q %q: %v", bad.name, bad.query, err)
				}
			}
			vs, err := f.Desk.SavedViews(ctx, f.Agent)
			if err != nil || len(vs) != 2 || vs[0].ID != shared.ID || vs[1].ID != mine.ID {
				t.Fatalf("agent's views: %+v %v", vs, err)
			}
			if vs, _ := f.Desk.SavedViews(ctx, boss); len(vs) != 1 {
				t.Fatalf("the approver sees another's personal view: %+v", vs)
			}
			if vs, _ := f.Desk.SavedViews(ctx, f.Outsider); len(vs) != 0 {
				t.Fatalf("another organisation sees %+v", vs)
			}
			if err := f.Desk.DeleteView(ctx, boss, mine.ID); !desk.IsNotFound(err) {
				t.Fatalf("deleting another's personal view: %v", err)
			}
			if err := f.Desk.DeleteView(ctx, f.Agent, shared.ID); desk.ErrorCode(err) != desk.EForbidden {
				t.Fatalf("agent deleting a shared view: %v", err)
			}
			if err := f.Desk.DeleteView(ctx, f.Agent, mine.ID); err != nil {
				t.Fatal(err)
			}
			if err := f.Desk.DeleteView(ctx, boss, shared.ID); err != nil {
				t.Fatal(err)
			}
			if vs, _ := f.Desk.SavedViews(ctx, f.Agent); len(vs) != 0 {
				t.Fatalf("after deletion: %+v", vs)
			}
			if _, err := f.Desk.SavedViews(ctx, f.Requester); desk.ErrorCode(err) != desk.EForbidden {
				t.Fatalf("requester: %v", err)
			}
		})
	}
}

// TestListOrders pages through the list in every order, two at a time, on
// both engines, and compares with the order computed from all tickets.
func TestListOrders(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := storetest.NewFixture(t, open(t))
			prios := []desk.Priority{"low", "urgent", "normal", "high", "urgent", "normal", "low", "high", "normal"}
			var all []desk.Ticket
			for i, p := range prios {
				all = append(all, f.Create(t, f.Agent, desk.NewTicket{Subject: fmt.Sprint("Richiesta ", i), Priority: p,
					Requester: desk.Contact{Email: "utente@example.it"}}))
			}
			// Updates in another order than creation.
			for _, i := range []int{4, 0, 7} {
				hi := desk.PriorityHigh
				if prios[i] == hi {
					hi = desk.PriorityUrgent
				}
				k, err := f.Desk.Update(ctx, f.Agent, all[i].Number, desk.Changes{Priority: &hi})
				if err != nil {
					t.Fatal(err)
				}
				all[i] = k
			}
			// Several statuses, for the open-only lists.
			for i, to := range map[int]desk.Status{2: desk.StatusOpen, 3: desk.StatusOpen, 5: desk.StatusCancelled, 1: desk.StatusWaitingRequester} {
				k, err := f.Desk.Transition(ctx, f.Agent, all[i].Number, desk.TransitionInput{To: to, Reason: "prova"})
				if err != nil {
					t.Fatalf("%s → %s: %v", all[i].Number, to, err)
				}
				all[i] = k
			}
			rank := map[desk.Priority]int{"urgent": 0, "high": 1, "normal": 2, "low": 3}
			for _, onlyOpen := range []bool{false, true} {
				for _, o := range desk.Orders {
					want := slices.DeleteFunc(slices.Clone(all), func(k desk.Ticket) bool { return onlyOpen && !k.Status.Open() })
					sort.SliceStable(want, func(i, j int) bool {
						a, b := want[i], want[j]
						switch o {
						case desk.OrderOldest:
							return a.ID < b.ID
						case desk.OrderUpdated:
							if !a.Updated.Equal(b.Updated) {
								return a.Updated.After(b.Updated)
							}
						case desk.OrderPriority:
							if rank[a.Priority] != rank[b.Priority] {
								return rank[a.Priority] < rank[b.Priority]
							}
						}
						return a.ID > b.ID
					})
					var got []string
					cursor := ""
					for range 10 {
						page, err := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Order: o, Limit: 2, Cursor: cursor, OnlyOpen: onlyOpen})
						if err != nil {
							t.Fatalf("%s: %v", o, err)
						}
						for _, k := range page.Items {
							got = append(got, k.Number)
						}
						if cursor = page.Next; cursor == "" {
							break
						}
					}
					var wantN []string
					for _, k := range want {
						wantN = append(wantN, k.Number)
					}
					if !slices.Equal(got, wantN) {
						t.Errorf("%s (open only %v):\n got %v\nwant %v", o, onlyOpen, got, wantN)
					}
				}
			}
			if _, err := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Order: "size"}); desk.ErrorCode(err) != desk.EInvalid {
				t.Errorf("unknown order: %v", err)
			}
			// A cursor of one order is refused by another.
			page, _ := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Order: desk.OrderPriority, Limit: 2})
			if _, err := f.Desk.ListTickets(ctx, f.Agent, desk.ListQuery{Order: desk.OrderUpdated, Cursor: page.Next}); desk.ErrorCode(err) != desk.EInvalid {
				t.Errorf("cursor of another order: %v", err)
			}
		})
	}
}

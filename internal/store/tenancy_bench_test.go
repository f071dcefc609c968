package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
)

// BenchmarkScopedList measures the newest 50 tickets as each kind of scope
// sees them, on SPORTELLO_BENCH_SCOPE_TICKETS tickets (default 50,000)
// spread over a ministry, two prefectures and a town, on SQLite:
//
//	go test -run '^$' -bench ScopedList ./internal/store/
func BenchmarkScopedList(b *testing.B) {
	n := 50_000
	if v, err := strconv.Atoi(os.Getenv("SPORTELLO_BENCH_SCOPE_TICKETS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	db := storetest.OpenSQLite(b)
	tn := storetest.NewTenancy(b, db)
	tn.Grant(b, "ministry", desk.NewMembership{Organisation: "ministero", Subtree: true})
	tn.Grant(b, "queueAgent", desk.NewMembership{Organisation: "pref-fe", Queue: "protocollo"})
	tn.Grant(b, "colleagueFE", desk.NewMembership{Organisation: "comune-fe"})
	type place struct{ org, queue int64 }
	var places []place
	err := db.View(ctx, func(tx desk.Tx) error {
		for _, code := range []string{"pref-fe", "pref-bo", "comune-fe", "ministero"} {
			o, err := tx.OrgByCode(ctx, code)
			if err != nil {
				return err
			}
			q, err := tx.QueueByCode(ctx, o.ID, desk.DefaultTriage)
			if err != nil {
				return err
			}
			places = append(places, place{o.ID, q.ID})
		}
		o, _ := tx.OrgByCode(ctx, "pref-fe")
		q, err := tx.QueueByCode(ctx, o.ID, "protocollo")
		places = append(places, place{o.ID, q.ID})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	// 45 % Ferrara, 45 % Bologna, 8 % the town, 1 % the ministry, 1 % Ferrara's protocol queue.
	weights := []int{45, 45, 8, 1, 1}
	now := time.Now().UTC()
	for i := 0; i < n; i += 1000 {
		batch := make([]store.BulkTicket, min(1000, n-i))
		for j := range batch {
			k, w := (i+j)%100, 0
			pi := 0
			for pi = range weights {
				if w += weights[pi]; k < w {
					break
				}
			}
			p := places[pi]
			batch[j] = store.BulkTicket{Ticket: desk.Ticket{OrgID: p.org, QueueID: p.queue, Subject: fmt.Sprintf("Richiesta %d", i+j),
				Status: desk.StatusOpen, Priority: desk.PriorityNormal, Channel: desk.ChannelEmail, Level: 1, Created: now, Updated: now}}
		}
		if err := db.BulkInsert(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct{ name, who string }{
		{"one-organisation", "agentFE"},
		{"subtree-4-organisations", "ministry"},
		{"organisation-admin-subtree", "adminFE"},
		{"queue-and-own", "queueAgent"},
		{"granted-organisation-and-own", "colleagueFE"},
		{"own-requests", "requesterFE"},
	} {
		a := tn.Actor(b, c.who)
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				page, err := tn.Desk.ListTickets(ctx, a, desk.ListQuery{Limit: 50})
				if err != nil || len(page.Items) == 0 {
					b.Fatalf("%v %d", err, len(page.Items))
				}
			}
		})
	}
}

package store

import (
	"context"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/desk"
)

type planRow struct {
	id, parent int
	detail     string
}

// plan returns SQLite's query plan of the ticket list for q.
func plan(t *testing.T, db *DB, q desk.TicketQuery) []planRow {
	t.Helper()
	query, args, ok := db.ticketsQuery(q)
	if !ok {
		t.Fatal("empty query")
	}
	rows, err := db.SQL().Query("EXPLAIN QUERY PLAN "+db.rebind(query), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []planRow
	for rows.Next() {
		var r planRow
		var unused int
		if err := rows.Scan(&r.id, &r.parent, &unused, &r.detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func children(p []planRow, id int) []planRow {
	var out []planRow
	for _, r := range p {
		if r.parent == id {
			out = append(out, r)
			out = append(out, children(p, r.id)...)
		}
	}
	return out
}

// TestScopedListPlans pins the plans that keep lists fast at a million
// tickets whatever the scope, on SQLite (which keeps no statistics here):
// every branch of a union walks an index in id order and stops at the
// limit (no sort inside a branch); a single organisation is one ordered
// index walk; a scope too wide for a union walks tickets newest first.
func TestScopedListPlans(t *testing.T) {
	db, err := Open(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	open := []desk.Status{desk.StatusNew, desk.StatusOpen}
	for name, q := range map[string]desk.TicketQuery{
		"organisation and own":         {Scope: desk.Scope{OrgIDs: []int64{2}, RequesterID: 9}, Limit: 51},
		"four organisations, filtered": {Scope: desk.Scope{OrgIDs: []int64{2, 3, 4, 5}, RequesterID: 9}, Statuses: open, Before: 1000, Limit: 51},
		"queue and own":                {Scope: desk.Scope{QueueIDs: []int64{7}, RequesterID: 9}, Limit: 26},
	} {
		t.Run(name, func(t *testing.T) {
			p := plan(t, db, q)
			branches := 0
			for _, r := range p {
				if !strings.HasPrefix(r.detail, "CO-ROUTINE b") {
					continue
				}
				branches++
				kids := children(p, r.id)
				indexed := false
				for _, k := range kids {
					if strings.Contains(k.detail, "TEMP B-TREE") {
						t.Errorf("branch %s sorts: %+v", r.detail, kids)
					}
					if strings.HasPrefix(k.detail, "SEARCH t USING") && strings.Contains(k.detail, "INDEX") {
						indexed = true
					}
				}
				if !indexed {
					t.Errorf("branch %s does not walk an index: %+v", r.detail, kids)
				}
			}
			want := len(q.Scope.OrgIDs) + len(q.Scope.QueueIDs) + 1
			if branches != want {
				t.Errorf("%d branches, want %d: %+v", branches, want, p)
			}
		})
	}
	// branchIndexes maps each union branch to the indexes it searches and
	// whether it sorts.
	branchIndexes := func(t *testing.T, q desk.TicketQuery) map[string]string {
		out := map[string]string{}
		p := plan(t, db, q)
		for _, r := range p {
			if !strings.HasPrefix(r.detail, "CO-ROUTINE b") {
				continue
			}
			for _, k := range children(p, r.id) {
				out[strings.TrimPrefix(r.detail, "CO-ROUTINE ")] += k.detail + "; "
			}
		}
		return out
	}
	t.Run("organisation and own, by last update", func(t *testing.T) {
		b := branchIndexes(t, desk.TicketQuery{Scope: desk.Scope{OrgIDs: []int64{2}, RequesterID: 9}, Statuses: open, Order: desk.OrderUpdated, Limit: 51})
		if len(b) != 2 || !strings.Contains(b["b0"], "tickets_org_updated") || strings.Contains(b["b0"], "TEMP B-TREE") {
			t.Errorf("by last update: %q", b)
		}
	})
	t.Run("own requests branch keeps its index", func(t *testing.T) {
		b := branchIndexes(t, desk.TicketQuery{Scope: desk.Scope{OrgIDs: []int64{2}, RequesterID: 9}, AssigneeID: 4, Statuses: open, Limit: 51})
		if len(b) != 2 || !strings.Contains(b["b1"], "tickets_requester") {
			t.Errorf("assigned to me: %q", b)
		}
	})
	t.Run("one organisation", func(t *testing.T) {
		p := plan(t, db, desk.TicketQuery{Scope: desk.Scope{OrgIDs: []int64{2}}, Limit: 51})
		walk := false
		for _, r := range p {
			walk = walk || strings.HasPrefix(r.detail, "SEARCH t USING INDEX tickets_org")
			if strings.Contains(r.detail, "TEMP B-TREE") {
				t.Errorf("one organisation is sorted: %+v", p)
			}
		}
		if !walk {
			t.Errorf("one organisation does not walk tickets_org: %+v", p)
		}
	})
	t.Run("too wide for a union", func(t *testing.T) {
		var orgs []int64
		for i := int64(1); i <= maxScopeBranches+10; i++ {
			orgs = append(orgs, i)
		}
		p := plan(t, db, desk.TicketQuery{Scope: desk.Scope{OrgIDs: orgs, RequesterID: 9}, Limit: 51})
		for _, r := range p {
			if strings.Contains(r.detail, "TEMP B-TREE") || strings.Contains(r.detail, "tickets_org") {
				t.Errorf("a wide scope is collected and sorted: %+v", p)
			}
		}
	})
}

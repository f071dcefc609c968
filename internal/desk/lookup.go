package desk

import (
	"context"
	"slices"
	"sort"
)

// PersonMatch is a person found by lookup, with their organisation's code.
type PersonMatch struct {
	User
	OrgCode string
}

// FindPeople looks people up by e-mail, name or phone (as an agent types
// during a phone call), within the organisations the actor works for.
func (d *Desk) FindPeople(ctx context.Context, a Actor, text string, limit int) ([]PersonMatch, error) {
	if !a.IsStaff() {
		return nil, Errorf(EForbidden, "only staff can look people up")
	}
	var out []PersonMatch
	err := d.store.View(ctx, func(tx Tx) error {
		var queueOrgs []int64
		if a.Access != nil {
			for _, id := range a.Access.QueueIDs {
				q, err := tx.QueueByID(ctx, id)
				if err != nil {
					return err
				}
				queueOrgs = append(queueOrgs, q.OrgID)
			}
		}
		users, err := tx.FindUsers(ctx, PeopleOrgIDs(a, queueOrgs), text, limit)
		if err != nil {
			return err
		}
		codes := map[int64]string{}
		for _, u := range users {
			if _, ok := codes[u.OrgID]; !ok {
				o, err := tx.OrgByID(ctx, u.OrgID)
				if err != nil {
					return err
				}
				codes[u.OrgID] = o.Code
			}
			out = append(out, PersonMatch{User: u, OrgCode: codes[u.OrgID]})
		}
		return nil
	})
	return out, err
}

// QueueCount is a queue with its number of tickets needing attention.
type QueueCount struct {
	Queue
	Open     int64
	ByStatus map[Status]int64
}

// Queues lists the queues of the actor's organisation with maintained
// counts: all of them to those who work the organisation, otherwise only
// the queues their memberships name (a count is information too).
func (d *Desk) Queues(ctx context.Context, a Actor) ([]QueueCount, error) {
	if !a.IsStaff() {
		return nil, Errorf(EForbidden, "only staff can see queues")
	}
	ws := workScope(a)
	var out []QueueCount
	err := d.store.View(ctx, func(tx Tx) error {
		org, err := d.orgFor(ctx, tx, a, "")
		if err != nil {
			return err
		}
		qs, err := tx.Queues(ctx, org.ID)
		if err != nil {
			return err
		}
		counts, err := tx.CountTickets(ctx, []int64{org.ID})
		if err != nil {
			return err
		}
		byQueue := map[int64]map[Status]int64{}
		for _, c := range counts {
			if byQueue[c.QueueID] == nil {
				byQueue[c.QueueID] = map[Status]int64{}
			}
			byQueue[c.QueueID][c.Status] += c.N
		}
		wholeOrg := ws.All() || slices.Contains(ws.OrgIDs, org.ID)
		for _, q := range qs {
			if !wholeOrg && !slices.Contains(ws.QueueIDs, q.ID) {
				continue
			}
			qc := QueueCount{Queue: q, ByStatus: byQueue[q.ID]}
			if qc.ByStatus == nil {
				qc.ByStatus = map[Status]int64{}
			}
			for s, n := range qc.ByStatus {
				if s.Open() {
					qc.Open += n
				}
			}
			out = append(out, qc)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Code == DefaultTriage && out[j].Code != DefaultTriage })
		return nil
	})
	return out, err
}

// Services lists the active services of the actor's organisation (anyone
// signed in may see them: requesters choose one when asking for help).
func (d *Desk) Services(ctx context.Context, a Actor) ([]Service, error) {
	var out []Service
	err := d.store.View(ctx, func(tx Tx) error {
		org, err := d.orgFor(ctx, tx, a, "")
		if err != nil {
			return err
		}
		all, err := tx.Services(ctx, org.ID)
		for _, s := range all {
			if s.Active {
				out = append(out, s)
			}
		}
		return err
	})
	return out, err
}

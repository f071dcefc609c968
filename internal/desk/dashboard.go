package desk

import (
	"context"
	"sort"
	"time"
)

// OpenStat is a maintained count of tickets by their current dimensions.
type OpenStat struct {
	OrgID     int64
	Status    Status
	Channel   Channel
	ServiceID int64
	QueueID   int64
	N         int64
}

// DayStat is what happened on one day (YYYYMMDD, Europe/Rome) to the
// tickets: opened, taken in charge (left "new") and resolved, with the
// seconds taken in total.
type DayStat struct {
	Day                          int
	Opened, Responded, Resolved  int64
	ResponseSecs, ResolutionSecs int64
}

// StatsTx is implemented by stores that maintain the dashboard aggregates
// (migration 0090) in the same transaction as every ticket change.
type StatsTx interface {
	// OpenStats sums current ticket counts for the organisations given (nil: all).
	OpenStats(ctx context.Context, orgIDs []int64) ([]OpenStat, error)
	// DailyStats sums the per-day counters for the days from..to
	// (YYYYMMDD, inclusive), one row a day.
	DailyStats(ctx context.Context, orgIDs []int64, from, to int) ([]DayStat, error)
}

// Slice is one labelled number of a chart.
type Slice struct {
	Key   string // identifier: status, channel, or service/queue code ("" for none)
	Label string // name (services and queues); statuses and channels are translated by the page
	N     int64
}

// TrendDay is one day of the opened/resolved trend.
type TrendDay struct {
	Day      time.Time
	Opened   int64
	Resolved int64
}

// Times are average response and resolution times over a period.
type Times struct {
	Responded, Resolved int64
	// AvgResponse and AvgResolution are zero when nothing was counted.
	AvgResponse, AvgResolution time.Duration
}

// Dashboard is what a manager sees of an organisation's (or the
// installation's) tickets, all from maintained aggregates.
type Dashboard struct {
	OrgID     int64   // 0: every organisation the actor administers
	Open      int64   // tickets still needing the desk (not resolved, not final)
	ByStatus  []Slice // tickets not closed, cancelled or redirected
	ByChannel []Slice // open tickets only
	ByService []Slice // open tickets only
	ByQueue   []Slice // open tickets only
	Trend     []TrendDay
	Week      Times // the last 7 days
	Month     Times // the last 30 days
	Days      int
	Generated time.Time
}

// DashboardQuery selects a dashboard.
type DashboardQuery struct {
	// OrgCode limits to one organisation; "" means the actor's scope
	// (every organisation for installation administrators).
	OrgCode string
	// Days is the length of the trend, ending today (default 7, at most 366).
	Days int
}

// adminScope returns the organisations an actor administers: nil for
// all, the actor's own for an organisation's administrator. Everyone else
// gets EForbidden.
func adminScope(a Actor) ([]int64, error) {
	switch {
	case a.System || a.InstallationAdmin:
		return nil, nil
	case a.Role == RoleAdmin && a.OrgID != 0:
		return []int64{a.OrgID}, nil
	}
	return nil, Errorf(EForbidden, "only administrators may do this")
}

var rome = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.UTC
}()

func dayNumber(t time.Time) int {
	t = t.In(rome)
	return t.Year()*10000 + int(t.Month())*100 + t.Day()
}

// Dashboard reads the dashboard for administrators and approvers (the IT
// manager sees workload and outcomes): installation administrators see every
// organisation or the one asked; others their own organisation.
func (d *Desk) Dashboard(ctx context.Context, a Actor, q DashboardQuery) (Dashboard, error) {
	var orgs []int64
	switch {
	case a.System || a.InstallationAdmin:
	case (a.Role == RoleAdmin || a.Role == RoleApprover) && a.OrgID != 0:
		orgs = []int64{a.OrgID}
	default:
		return Dashboard{}, Errorf(EForbidden, "only administrators and approvers see the dashboard")
	}
	if q.Days <= 0 {
		q.Days = 7
	}
	if q.Days > 366 {
		q.Days = 366
	}
	now := d.Now()
	out := Dashboard{Days: q.Days, Generated: now}
	err := d.store.View(ctx, func(tx Tx) error {
		st, ok := tx.(StatsTx)
		if !ok {
			return Errorf(EInternal, "the store keeps no dashboard aggregates")
		}
		if q.OrgCode != "" {
			o, err := tx.OrgByCode(ctx, q.OrgCode)
			if err != nil {
				return err
			}
			if orgs != nil && orgs[0] != o.ID {
				return Errorf(ENotFound, "organisation %s not found", q.OrgCode)
			}
			orgs, out.OrgID = []int64{o.ID}, o.ID
		} else if orgs != nil {
			out.OrgID = orgs[0]
		}
		names, err := dimensionNames(ctx, tx, orgs)
		if err != nil {
			return err
		}
		open, err := st.OpenStats(ctx, orgs)
		if err != nil {
			return err
		}
		byStatus, byChannel, byService, byQueue := map[string]int64{}, map[string]int64{}, map[int64]int64{}, map[int64]int64{}
		for _, s := range open {
			byStatus[string(s.Status)] += s.N
			if !s.Status.Open() {
				continue
			}
			out.Open += s.N
			byChannel[string(s.Channel)] += s.N
			byService[s.ServiceID] += s.N
			byQueue[s.QueueID] += s.N
		}
		// Closed, cancelled and redirected tickets only grow: they would
		// flatten the bars of the work in progress.
		for _, s := range Statuses {
			if !s.Final() {
				out.ByStatus = append(out.ByStatus, Slice{Key: string(s), N: byStatus[string(s)]})
			}
		}
		for _, c := range Channels {
			out.ByChannel = append(out.ByChannel, Slice{Key: string(c), N: byChannel[string(c)]})
		}
		out.ByService = named(byService, names.services)
		out.ByQueue = named(byQueue, names.queues)

		first := now.In(rome).AddDate(0, 0, -29)
		if q.Days > 30 {
			first = now.In(rome).AddDate(0, 0, -(q.Days - 1))
		}
		days, err := st.DailyStats(ctx, orgs, dayNumber(first), dayNumber(now))
		if err != nil {
			return err
		}
		perDay := map[int]*TrendDay{}
		trendFrom := now.In(rome).AddDate(0, 0, -(q.Days - 1))
		for i := 0; i < q.Days; i++ {
			t := trendFrom.AddDate(0, 0, i)
			td := TrendDay{Day: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, rome)}
			out.Trend = append(out.Trend, td)
		}
		for i := range out.Trend {
			perDay[dayNumber(out.Trend[i].Day)] = &out.Trend[i]
		}
		weekFrom, monthFrom := dayNumber(now.In(rome).AddDate(0, 0, -6)), dayNumber(now.In(rome).AddDate(0, 0, -29))
		var wResp, wRes, mResp, mRes int64
		for _, s := range days {
			if td := perDay[s.Day]; td != nil {
				td.Opened += s.Opened
				td.Resolved += s.Resolved
			}
			if s.Day >= weekFrom {
				out.Week.Responded += s.Responded
				out.Week.Resolved += s.Resolved
				wResp += s.ResponseSecs
				wRes += s.ResolutionSecs
			}
			if s.Day >= monthFrom {
				out.Month.Responded += s.Responded
				out.Month.Resolved += s.Resolved
				mResp += s.ResponseSecs
				mRes += s.ResolutionSecs
			}
		}
		out.Week.avg(wResp, wRes)
		out.Month.avg(mResp, mRes)
		return nil
	})
	return out, err
}

func (t *Times) avg(resp, res int64) {
	if t.Responded > 0 {
		t.AvgResponse = time.Duration(resp/t.Responded) * time.Second
	}
	if t.Resolved > 0 {
		t.AvgResolution = time.Duration(res/t.Resolved) * time.Second
	}
}

type dimNames struct {
	services, queues map[int64]Slice
}

func dimensionNames(ctx context.Context, tx Tx, orgs []int64) (dimNames, error) {
	n := dimNames{services: map[int64]Slice{}, queues: map[int64]Slice{}}
	all, err := tx.Orgs(ctx)
	if err != nil {
		return n, err
	}
	code := map[int64]string{}
	for _, o := range all {
		code[o.ID] = o.Code
	}
	if orgs == nil {
		for _, o := range all {
			orgs = append(orgs, o.ID)
		}
	}
	// Across organisations, names say whose queue or service it is.
	suffix := func(id int64) string {
		if len(orgs) > 1 {
			return " (" + code[id] + ")"
		}
		return ""
	}
	for _, id := range orgs {
		ss, err := tx.Services(ctx, id)
		if err != nil {
			return n, err
		}
		for _, s := range ss {
			n.services[s.ID] = Slice{Key: s.Code, Label: s.Name + suffix(id)}
		}
		qs, err := tx.Queues(ctx, id)
		if err != nil {
			return n, err
		}
		for _, q := range qs {
			n.queues[q.ID] = Slice{Key: q.Code, Label: q.Name + suffix(id)}
		}
	}
	return n, nil
}

// named turns counts by id into slices, largest first; id 0 is "none".
func named(counts map[int64]int64, names map[int64]Slice) []Slice {
	var out []Slice
	for id, n := range counts {
		if n == 0 {
			continue
		}
		s := names[id]
		s.N = n
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Label < out[j].Label
	})
	return out
}

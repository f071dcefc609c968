package store

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// Dashboard aggregates (migration 0090): stat_open counts tickets by their
// current dimensions, stat_daily counts per day what was opened, taken in
// charge and resolved with the seconds it took. Ticket writes record their
// changes here (stat, statUpdate) and flushCounts writes them last, in a
// fixed order, with the other maintained counters.

// statShards spreads stat rows on PostgreSQL; SQLite has one writer and
// writes shard 0.
const statShards = 8

type openKey struct {
	org            int64
	status         desk.Status
	channel        desk.Channel
	service, queue int64
	shard          int64
}

type dayKey struct {
	org            int64
	day            int
	channel        desk.Channel
	service, queue int64
	shard          int64
}

type dayDelta struct {
	opened, responded, resolved  int64
	responseSecs, resolutionSecs int64
}

func (d *dayDelta) add(o dayDelta) {
	d.opened += o.opened
	d.responded += o.responded
	d.resolved += o.resolved
	d.responseSecs += o.responseSecs
	d.resolutionSecs += o.resolutionSecs
}

func (d dayDelta) zero() bool { return d == dayDelta{} }

// statsDelta is what one transaction changes in the aggregates.
type statsDelta struct {
	open map[openKey]int64
	days map[dayKey]dayDelta
}

var rome = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.UTC
}()

// StatDay is the calendar day (Europe/Rome) of t as YYYYMMDD.
func StatDay(t time.Time) int {
	t = t.In(rome)
	return t.Year()*10000 + int(t.Month())*100 + t.Day()
}

func (t *q) statShard(id int64) int64 {
	if t.db.dialect == Postgres {
		return id % statShards
	}
	return 0
}

func (t *q) stats() *statsDelta {
	if t.sd == nil {
		t.sd = &statsDelta{open: map[openKey]int64{}, days: map[dayKey]dayDelta{}}
	}
	return t.sd
}

func (t *q) statOpen(k *desk.Ticket, delta int64) {
	t.stats().open[openKey{k.OrgID, k.Status, k.Channel, k.ServiceID, k.QueueID, t.statShard(k.ID)}] += delta
}

func (t *q) statDay(k *desk.Ticket, at time.Time, d dayDelta) {
	key := dayKey{k.OrgID, StatDay(at), k.Channel, k.ServiceID, k.QueueID, t.statShard(k.ID)}
	cur := t.stats().days[key]
	cur.add(d)
	t.stats().days[key] = cur
}

func secs(from, to time.Time) int64 {
	if to.Before(from) {
		return 0
	}
	return int64(to.Sub(from) / time.Second)
}

// resolvedAt is when a ticket that is no longer open was resolved.
func resolvedAt(k *desk.Ticket) time.Time {
	if !k.Resolved.IsZero() {
		return k.Resolved
	}
	return k.Updated
}

// countsAsResolution reports whether a status is the end of the desk's
// work on a request (a cancelled request was not resolved).
func countsAsResolution(s desk.Status) bool {
	return !s.Open() && s != desk.StatusCancelled
}

// statInsert records a new ticket.
func (t *q) statInsert(k *desk.Ticket) {
	t.statOpen(k, 1)
	t.statDay(k, k.Created, dayDelta{opened: 1})
	if k.Status != desk.StatusNew {
		t.statDay(k, k.Created, dayDelta{responded: 1})
	}
	if countsAsResolution(k.Status) {
		at := resolvedAt(k)
		t.statDay(k, at, dayDelta{resolved: 1, resolutionSecs: secs(k.Created, at)})
	}
}

// statUpdate records a change from prev to k.
func (t *q) statUpdate(prev, k *desk.Ticket) {
	if prev.OrgID != k.OrgID || prev.Status != k.Status || prev.Channel != k.Channel || prev.ServiceID != k.ServiceID || prev.QueueID != k.QueueID {
		t.statOpen(prev, -1)
		t.statOpen(k, 1)
	}
	if prev.Status == desk.StatusNew && k.Status != desk.StatusNew {
		t.statDay(k, k.Updated, dayDelta{responded: 1, responseSecs: secs(k.Created, k.Updated)})
	}
	if prev.Status.Open() && countsAsResolution(k.Status) {
		at := resolvedAt(k)
		t.statDay(k, at, dayDelta{resolved: 1, resolutionSecs: secs(k.Created, at)})
	}
}

// mergeStats adds src into dst with shards folded to 0 (SQLite batches).
func mergeStats(dst, src *statsDelta) {
	if src == nil {
		return
	}
	for k, d := range src.open {
		dst.open[k] += d
	}
	for k, d := range src.days {
		cur := dst.days[k]
		cur.add(d)
		dst.days[k] = cur
	}
}

// flushStats writes the recorded aggregate changes, in key order.
func (t *q) flushStats(ctx context.Context) error {
	sd := t.sd
	t.sd = nil
	if sd == nil {
		return nil
	}
	if ok, err := t.hasStats(ctx); err != nil || !ok {
		return err
	}
	okeys := make([]openKey, 0, len(sd.open))
	for k, d := range sd.open {
		if d != 0 {
			okeys = append(okeys, k)
		}
	}
	sort.Slice(okeys, func(i, j int) bool {
		a, b := okeys[i], okeys[j]
		switch {
		case a.org != b.org:
			return a.org < b.org
		case a.status != b.status:
			return a.status < b.status
		case a.channel != b.channel:
			return a.channel < b.channel
		case a.service != b.service:
			return a.service < b.service
		case a.queue != b.queue:
			return a.queue < b.queue
		}
		return a.shard < b.shard
	})
	for _, k := range okeys {
		if err := t.execLater(ctx, `INSERT INTO stat_open (org_id, status, channel, service_id, queue_id, shard, n) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (org_id, status, channel, service_id, queue_id, shard) DO UPDATE SET n = stat_open.n + excluded.n`,
			k.org, string(k.status), string(k.channel), k.service, k.queue, k.shard, sd.open[k]); err != nil {
			return err
		}
	}
	dkeys := make([]dayKey, 0, len(sd.days))
	for k, d := range sd.days {
		if !d.zero() {
			dkeys = append(dkeys, k)
		}
	}
	sort.Slice(dkeys, func(i, j int) bool {
		a, b := dkeys[i], dkeys[j]
		switch {
		case a.org != b.org:
			return a.org < b.org
		case a.day != b.day:
			return a.day < b.day
		case a.channel != b.channel:
			return a.channel < b.channel
		case a.service != b.service:
			return a.service < b.service
		case a.queue != b.queue:
			return a.queue < b.queue
		}
		return a.shard < b.shard
	})
	for _, k := range dkeys {
		d := sd.days[k]
		if err := t.execLater(ctx, `INSERT INTO stat_daily (org_id, day, channel, service_id, queue_id, shard,
				opened, responded, resolved, response_secs, resolution_secs) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (org_id, day, channel, service_id, queue_id, shard) DO UPDATE SET
				opened = stat_daily.opened + excluded.opened, responded = stat_daily.responded + excluded.responded,
				resolved = stat_daily.resolved + excluded.resolved, response_secs = stat_daily.response_secs + excluded.response_secs,
				resolution_secs = stat_daily.resolution_secs + excluded.resolution_secs`,
			k.org, k.day, string(k.channel), k.service, k.queue, k.shard, d.opened, d.responded, d.resolved, d.responseSecs, d.resolutionSecs); err != nil {
			return err
		}
	}
	return nil
}

// OpenStats sums stat_open by status, channel, service and queue for the
// organisations given (nil: all), leaving out empty groups.
func (t *q) OpenStats(ctx context.Context, orgIDs []int64) ([]desk.OpenStat, error) {
	query := "SELECT org_id, status, channel, service_id, queue_id, SUM(n) FROM stat_open"
	if orgIDs != nil {
		query += " WHERE org_id IN (" + idList(orgIDs) + ")"
	}
	query += " GROUP BY org_id, status, channel, service_id, queue_id HAVING SUM(n) <> 0"
	rows, err := t.query(ctx, query)
	return scanAll(rows, err, func(r *sql.Rows) (desk.OpenStat, error) {
		var s desk.OpenStat
		err := r.Scan(&s.OrgID, &s.Status, &s.Channel, &s.ServiceID, &s.QueueID, &s.N)
		return s, err
	})
}

// DailyStats sums stat_daily per day for the days from..to (YYYYMMDD,
// inclusive): at most one row a day.
func (t *q) DailyStats(ctx context.Context, orgIDs []int64, from, to int) ([]desk.DayStat, error) {
	query := `SELECT day, SUM(opened), SUM(responded), SUM(resolved), SUM(response_secs), SUM(resolution_secs)
		FROM stat_daily WHERE day >= $1 AND day <= $2`
	if orgIDs != nil {
		query += " AND org_id IN (" + idList(orgIDs) + ")"
	}
	query += " GROUP BY day ORDER BY day"
	rows, err := t.query(ctx, query, from, to)
	return scanAll(rows, err, func(r *sql.Rows) (desk.DayStat, error) {
		var s desk.DayStat
		err := r.Scan(&s.Day, &s.Opened, &s.Responded, &s.Resolved, &s.ResponseSecs, &s.ResolutionSecs)
		return s, err
	})
}

// statsVersion is the migration that creates the aggregates.
const statsVersion = 90

// hasStats reports whether the schema has the aggregates: a store opened
// without migrating (NoMigrate) on an older schema writes tickets without
// them; the migration back-fills them from the tickets when it runs. The
// schema is read through the transaction itself: asking the pool for
// another connection could deadlock when concurrent transactions hold
// every connection.
func (t *q) hasStats(ctx context.Context) (bool, error) {
	switch t.db.statsSchema.Load() {
	case 1:
		return true, nil
	case 2:
		return false, nil
	}
	var v sql.NullInt64
	if err := t.row(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return false, err
	}
	if v.Int64 >= statsVersion {
		t.db.statsSchema.Store(1)
		return true, nil
	}
	t.db.statsSchema.Store(2)
	return false, nil
}

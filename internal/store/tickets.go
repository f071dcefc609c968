package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/search"
)

// counterShards spreads maintained counters over several rows so that
// concurrent writers on PostgreSQL do not queue on one hot row.
const counterShards = 32

func (t *q) NextTicketSeq(ctx context.Context, year int) (int64, error) {
	if t.db.dialect == Postgres {
		seq, err := t.db.yearSequence(ctx, year)
		if err != nil {
			return 0, err
		}
		var v int64
		err = t.row(ctx, "SELECT nextval($1)", seq).Scan(&v)
		return v, err
	}
	if t.batch != nil {
		v, ok := t.batch.seqs[year]
		if !ok {
			err := t.row(ctx, "SELECT value FROM ticket_seq WHERE year = $1", year).Scan(&v)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return 0, err
			}
		}
		v++
		t.batch.seqs[year] = v
		return v, nil
	}
	var v int64
	err := t.row(ctx, `INSERT INTO ticket_seq (year, value) VALUES ($1, 1)
		ON CONFLICT (year) DO UPDATE SET value = ticket_seq.value + 1 RETURNING value`, year).Scan(&v)
	return v, err
}

func (t *q) InsertTicket(ctx context.Context, k *desk.Ticket) error {
	// On PostgreSQL the search vector is written with the row: updating it
	// afterwards would write a second version of the row and of every index.
	searchCol, searchVal := "", ""
	args := []any{k.Number, k.OrgID, k.Subject, k.Description, string(k.Status), string(k.Priority), string(k.Channel), int(k.Level),
		nullID(k.ServiceID), nullID(k.QueueID), nullID(k.RequesterID), k.Requester.Email, k.Requester.Name, k.Requester.Phone,
		nullID(k.AssigneeID), k.Team, k.Cause.Category, k.Cause.Text, nullID(k.MergedInto), us(k.Created), us(k.Updated), us(k.Resolved),
		desk.JoinTags(k.Tags)}
	if t.db.dialect == Postgres {
		searchCol = ", search"
		searchVal = ", " + tsvectorSQL("$24", "$25")
		args = append(args, strings.Join(search.Words(k.Subject), " "), strings.Join(search.Words(clip(k.Description)), " "))
	}
	id, err := t.insertRowid(ctx, `INSERT INTO tickets (number, org_id, subject, description, status, priority, channel, level,
		service_id, queue_id, requester_id, requester_email, requester_name, requester_phone, assignee_id, team,
		cause_category, cause_text, merged_into, created_at, updated_at, resolved_at, tags`+searchCol+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23`+searchVal+`)`, args...)
	if err != nil {
		return conflict(err, "ticket number %s is taken", k.Number)
	}
	k.ID = id
	t.count(k, 1)
	t.statInsert(k)
	return t.setTags(ctx, k.ID, nil, k.Tags)
}

func (t *q) InsertNewTicket(ctx context.Context, k *desk.Ticket, created desk.Event) error {
	year := k.Created.Year()
	if t.db.dialect == Postgres {
		return t.insertNewPG(ctx, k, created, year)
	}
	seq, err := t.NextTicketSeq(ctx, year)
	if err != nil {
		return err
	}
	k.Number = desk.FormatNumber(year, seq)
	if err := t.InsertTicket(ctx, k); err != nil {
		return err
	}
	created.TicketID = k.ID
	if err := t.InsertEvents(ctx, []desk.Event{created}); err != nil {
		return err
	}
	return t.IndexNew(ctx, k)
}

// insertNewPG does on PostgreSQL in one statement what SQLite does in
// several: ticket with its search vector, history entry and tags. Its id
// and number are reserved first (reserveTicket), so the statement returns
// nothing and a pipelined group queues it (pgpipe.go). Its counters are
// written by flushCounts just before the commit, like every other counter
// change: updating them inside this statement locked counter rows
// mid-transaction, in an order PostgreSQL does not define (the statement's
// CTEs), which could deadlock with a transaction flushing its counters in
// the usual order. In a group commit they are summed with the group's
// other changes and written once.
func (t *q) insertNewPG(ctx context.Context, k *desk.Ticket, created desk.Event, year int) error {
	r, err := t.reserveTicket(ctx, year)
	if err != nil {
		return err
	}
	number := desk.FormatNumber(year, r.seq)
	err = t.execLater(ctx, insertNewPGSQL,
		r.id, number, k.OrgID, k.Subject, k.Description, string(k.Status), string(k.Priority), string(k.Channel), int(k.Level),
		nullID(k.ServiceID), nullID(k.QueueID), nullID(k.RequesterID), k.Requester.Email, k.Requester.Name, k.Requester.Phone,
		nullID(k.AssigneeID), k.Team, k.Cause.Category, k.Cause.Text, nullID(k.MergedInto), us(k.Created), us(k.Updated), us(k.Resolved),
		strings.Join(search.Words(k.Subject), " "), strings.Join(search.Words(clip(k.Description)), " "),
		nullID(created.ActorID), us(created.At), created.Field, created.New, desk.JoinTags(k.Tags))
	if err != nil {
		return conflict(err, "ticket number %s is taken", number)
	}
	k.ID, k.Number = r.id, number
	t.count(k, 1)
	t.statInsert(k)
	return nil
}

var insertNewPGSQL = `WITH tk AS (
		INSERT INTO tickets (id, number, org_id, subject, description, status, priority, channel, level,
			service_id, queue_id, requester_id, requester_email, requester_name, requester_phone, assignee_id, team,
			cause_category, cause_text, merged_into, created_at, updated_at, resolved_at, search, tags)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, ` + tsvectorSQL("$24", "$25") + `, $30)),
	tg AS (
		INSERT INTO ticket_tags (tag, ticket_id)
		SELECT x, $1 FROM unnest(string_to_array($30, ' ')) AS x)
	INSERT INTO events (ticket_id, actor_id, at, field, old_value, new_value) VALUES ($1, $26, $27, $28, '', $29)`

// reserveTicket takes the next ticket id and the next number of year from
// their sequences: in a pipelined group from a reservation made for the
// whole group, elsewhere one at a time.
func (t *q) reserveTicket(ctx context.Context, year int) (ticketIDs, error) {
	yearSeq, err := t.db.yearSequence(ctx, year)
	if err != nil {
		return ticketIDs{}, err
	}
	idSeq, err := t.db.serialSequence(ctx, "tickets")
	if err != nil {
		return ticketIDs{}, err
	}
	if p, ok := t.x.(*pgPipe); ok {
		return p.reserve(ctx, year, idSeq, yearSeq)
	}
	var r ticketIDs
	err = t.row(ctx, "SELECT nextval($1::regclass), nextval($2::regclass)", idSeq, yearSeq).Scan(&r.id, &r.seq)
	return r, err
}

// setTags brings a ticket's ticket_tags rows from the set was to the set
// now (both normalised and sorted).
func (t *q) setTags(ctx context.Context, id int64, was, now []string) error {
	for _, tag := range was {
		if !slices.Contains(now, tag) {
			if _, err := t.exec(ctx, "DELETE FROM ticket_tags WHERE tag = $1 AND ticket_id = $2", tag, id); err != nil {
				return err
			}
		}
	}
	for _, tag := range now {
		if !slices.Contains(was, tag) {
			if _, err := t.exec(ctx, "INSERT INTO ticket_tags (tag, ticket_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", tag, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// tsvectorSQL is the PostgreSQL expression of a ticket's search vector:
// subject weighted A, body B, Italian stemming over accent-folded words.
func tsvectorSQL(subject, body string) string {
	return "setweight(to_tsvector('italian', " + subject + "), 'A') || setweight(to_tsvector('italian', " + body + "), 'B')"
}

func clip(s string) string {
	if len(s) > maxDoc {
		return strings.ToValidUTF8(s[:maxDoc], "")
	}
	return s
}

// countKey identifies one maintained counter row of ticket_view_counts
// (organisation, queue, service, assignee, status); the row of
// ticket_counts is the same key without service and assignee.
type countKey struct {
	org, queue        int64
	service, assignee int64
	status            desk.Status
	shard             int64
}

// count records a counter change, applied by flushCounts just before the
// transaction commits: on PostgreSQL the counter row stays locked from its
// update to the commit, so the update comes last and in a fixed order.
func (t *q) count(k *desk.Ticket, delta int) {
	if t.counts == nil {
		t.counts = map[countKey]int{}
	}
	t.counts[countKey{org: k.OrgID, queue: k.QueueID, service: k.ServiceID, assignee: k.AssigneeID, status: k.Status, shard: k.ID % counterShards}] += delta
}

func (t *q) flushCounts(ctx context.Context) error {
	// The queue counters (ticket_counts) first, then the view counters,
	// each in a fixed order, so that PostgreSQL transactions lock counter
	// rows in the same order.
	queue := map[countKey]int{}
	var keys []countKey
	for k, d := range t.counts {
		if d == 0 {
			continue
		}
		keys = append(keys, k)
		qk := countKey{org: k.org, queue: k.queue, status: k.status, shard: k.shard}
		queue[qk] += d
	}
	var qkeys []countKey
	for k, d := range queue {
		if d != 0 {
			qkeys = append(qkeys, k)
		}
	}
	sortKeys(qkeys)
	sortKeys(keys)
	for _, k := range qkeys {
		if err := t.execLater(ctx, `INSERT INTO ticket_counts (org_id, queue_id, status, shard, n) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (org_id, queue_id, status, shard) DO UPDATE SET n = ticket_counts.n + excluded.n`,
			k.org, k.queue, string(k.status), k.shard, queue[k]); err != nil {
			return err
		}
	}
	for _, k := range keys {
		if err := t.execLater(ctx, `INSERT INTO ticket_view_counts (org_id, queue_id, service_id, assignee_id, status, shard, n) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (org_id, queue_id, service_id, assignee_id, status, shard) DO UPDATE SET n = ticket_view_counts.n + excluded.n`,
			k.org, k.queue, k.service, k.assignee, string(k.status), k.shard, t.counts[k]); err != nil {
			return err
		}
	}
	t.counts = nil
	return t.flushStats(ctx)
}

func sortKeys(keys []countKey) {
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		switch {
		case a.org != b.org:
			return a.org < b.org
		case a.queue != b.queue:
			return a.queue < b.queue
		case a.service != b.service:
			return a.service < b.service
		case a.assignee != b.assignee:
			return a.assignee < b.assignee
		case a.status != b.status:
			return a.status < b.status
		}
		return a.shard < b.shard
	})
}

func (t *q) UpdateTicket(ctx context.Context, prev, k *desk.Ticket) error {
	_, err := t.exec(ctx, `UPDATE tickets SET org_id=$2, subject=$3, description=$4, status=$5, priority=$6, channel=$7, level=$8,
		service_id=$9, queue_id=$10, requester_id=$11, requester_email=$12, requester_name=$13, requester_phone=$14,
		assignee_id=$15, team=$16, cause_category=$17, cause_text=$18, merged_into=$19, updated_at=$20, resolved_at=$21, tags=$22 WHERE id=$1`,
		k.ID, k.OrgID, k.Subject, k.Description, string(k.Status), string(k.Priority), string(k.Channel), int(k.Level),
		nullID(k.ServiceID), nullID(k.QueueID), nullID(k.RequesterID), k.Requester.Email, k.Requester.Name, k.Requester.Phone,
		nullID(k.AssigneeID), k.Team, k.Cause.Category, k.Cause.Text, nullID(k.MergedInto), us(k.Updated), us(k.Resolved), desk.JoinTags(k.Tags))
	if err != nil {
		return err
	}
	if err := t.setTags(ctx, k.ID, prev.Tags, k.Tags); err != nil {
		return err
	}
	if prev.OrgID != k.OrgID || prev.QueueID != k.QueueID || prev.Status != k.Status ||
		prev.ServiceID != k.ServiceID || prev.AssigneeID != k.AssigneeID {
		t.count(prev, -1)
		t.count(k, 1)
	}
	t.statUpdate(prev, k)
	return nil
}

const ticketSelect = `SELECT t.id, t.number, t.org_id, t.subject, t.description, t.status, t.priority, t.channel, t.level,
	COALESCE(t.service_id, 0), COALESCE(t.queue_id, 0), COALESCE(t.requester_id, 0), t.requester_email, t.requester_name, t.requester_phone,
	COALESCE(t.assignee_id, 0), t.team, t.cause_category, t.cause_text, COALESCE(t.merged_into, 0), t.created_at, t.updated_at, t.resolved_at,
	o.code, o.name, COALESCE(s.code, ''), COALESCE(s.name, ''), COALESCE(qu.code, ''), COALESCE(qu.name, ''), COALESCE(a.email, ''), COALESCE(a.name, ''), t.tags`

const ticketJoins = ` JOIN orgs o ON o.id = t.org_id
	LEFT JOIN services s ON s.id = t.service_id
	LEFT JOIN queues qu ON qu.id = t.queue_id
	LEFT JOIN users a ON a.id = t.assignee_id`

func scanTicket(r interface{ Scan(...any) error }) (desk.Ticket, error) {
	var k desk.Ticket
	var level int
	var c, u, rs int64
	var tags string
	err := r.Scan(&k.ID, &k.Number, &k.OrgID, &k.Subject, &k.Description, &k.Status, &k.Priority, &k.Channel, &level,
		&k.ServiceID, &k.QueueID, &k.RequesterID, &k.Requester.Email, &k.Requester.Name, &k.Requester.Phone,
		&k.AssigneeID, &k.Team, &k.Cause.Category, &k.Cause.Text, &k.MergedInto, &c, &u, &rs,
		&k.OrgCode, &k.OrgName, &k.ServiceCode, &k.ServiceName, &k.QueueCode, &k.QueueName, &k.AssigneeEmail, &k.AssigneeName, &tags)
	k.Tags = desk.SplitTags(tags)
	k.Level = desk.Level(level)
	k.Created, k.Updated, k.Resolved = fromUS(c), fromUS(u), fromUS(rs)
	return k, err
}

func (t *q) lock() string {
	if t.write && t.db.dialect == Postgres {
		return " FOR UPDATE OF t"
	}
	return ""
}

func (t *q) TicketByNumber(ctx context.Context, number string) (desk.Ticket, error) {
	k, err := scanTicket(t.row(ctx, ticketSelect+" FROM tickets t"+ticketJoins+" WHERE t.number = $1"+t.lock(), number))
	return k, notFound(err, "ticket "+number)
}

func (t *q) TicketByID(ctx context.Context, id int64) (desk.Ticket, error) {
	k, err := scanTicket(t.row(ctx, ticketSelect+" FROM tickets t"+ticketJoins+" WHERE t.id = $1"+t.lock(), id))
	return k, notFound(err, "ticket")
}

// Tickets lists tickets in the order asked (newest first by default). With
// a search expression, SQLite walks the FTS index in descending rowid order
// (which is the ticket id), so a LIMIT stops early even for common words.
func (t *q) Tickets(ctx context.Context, tq desk.TicketQuery) ([]desk.Ticket, error) {
	query, args, ok := t.db.ticketsQuery(tq)
	if !ok {
		return nil, nil
	}
	rows, err := t.x.QueryContext(ctx, t.db.rebind(query), args...)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Ticket, error) { return scanTicket(r) })
}

// ticketsQuery builds the SQL of Tickets; ok is false when nothing can
// match (an empty scope or search).
func (db *DB) ticketsQuery(tq desk.TicketQuery) (query string, args []any, ok bool) {
	if tq.Scope.None {
		return "", nil, false
	}
	var where []string
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	from := " FROM tickets t"
	idCol := "t.id"
	if text := strings.TrimSpace(tq.Text); text != "" {
		sq := search.Parse(text)
		if sq.Empty() {
			return "", nil, false
		}
		if db.dialect == Postgres {
			where = append(where, "t.search @@ to_tsquery('italian', "+arg(sq.TSQuery())+")")
		} else {
			from = " FROM ticket_fts f JOIN tickets t ON t.id = f.rowid"
			idCol = "f.rowid"
			where = append(where, "ticket_fts MATCH "+arg(sq.FTS5()))
		}
	}
	// The scope goes in last (see below); every other condition is a
	// filter that applies the same way in each branch of a wide scope.
	if tq.OrgID != 0 {
		where = append(where, "t.org_id = "+arg(tq.OrgID))
	}
	if len(tq.Statuses) > 0 {
		ph := make([]string, len(tq.Statuses))
		for i, s := range tq.Statuses {
			ph[i] = arg(string(s))
		}
		where = append(where, "t.status IN ("+strings.Join(ph, ", ")+")")
	}
	if tq.QueueID != 0 {
		where = append(where, "t.queue_id = "+arg(tq.QueueID))
	}
	if tq.ServiceID != 0 {
		where = append(where, "t.service_id = "+arg(tq.ServiceID))
	}
	if tq.AssigneeID != 0 {
		where = append(where, "t.assignee_id = "+arg(tq.AssigneeID))
	}
	if tq.Unassigned {
		where = append(where, "t.assignee_id IS NULL")
	}
	if tq.RequesterID != 0 {
		where = append(where, "t.requester_id = "+arg(tq.RequesterID))
	}
	if tq.Channel != "" {
		where = append(where, "t.channel = "+arg(string(tq.Channel)))
	}
	if tq.Tag != "" {
		where = append(where, "t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = "+arg(tq.Tag)+")")
	}
	if tq.Priority != "" {
		where = append(where, "t.priority = "+arg(string(tq.Priority)))
	}
	order, dir := idCol+" DESC", "DESC"
	switch tq.Order {
	case desk.OrderOldest:
		if tq.After != 0 {
			where = append(where, idCol+" > "+arg(tq.After))
		}
		order, dir = idCol, "ASC"
	case desk.OrderUpdated:
		if tq.Before != 0 {
			u := arg(tq.BeforeUpdated)
			where = append(where, "(t.updated_at < "+u+" OR (t.updated_at = "+u+" AND "+idCol+" < "+arg(tq.Before)+"))")
		}
		order, dir = "t.updated_at DESC, "+idCol+" DESC", ""
	default:
		if tq.Before != 0 {
			where = append(where, idCol+" < "+arg(tq.Before))
		}
	}
	limit := tq.Limit
	if limit <= 0 {
		limit = 50
	}
	branches := scopeBranches(tq.Scope)
	byID := dir != "" // newest or oldest first: the (key, id) indexes give that order
	if idCol == "t.id" && (byID || tq.Order == desk.OrderUpdated) && len(branches) > 1 && len(branches) <= maxScopeBranches {
		// A scope of several organisations, queues or the requester's own
		// tickets: each branch walks its own index in the order asked
		// ((key, id), or (org_id, updated_at, id) by last update) and
		// stops after limit rows, so no branch sorts more than limit rows
		// however many tickets the scope holds. Without the union SQLite
		// collects the whole scope through several indexes and sorts it
		// (2 s at 1,000,000 tickets by last update).
		cols, inner, outer := "t.id", "t.id "+dir, "id "+dir
		if !byID {
			cols, inner, outer = "t.id, t.updated_at", "t.updated_at DESC, t.id DESC", "updated_at DESC, id DESC"
		}
		sub := make([]string, len(branches))
		for i, b := range branches {
			conds := where
			if db.dialect == SQLite && strings.HasPrefix(b, "t.requester_id") {
				conds = pinToBranchIndex(where)
			}
			sub[i] = fmt.Sprintf("SELECT %s FROM (SELECT %s FROM tickets t WHERE %s ORDER BY %s LIMIT %d) b%d",
				strings.ReplaceAll(cols, "t.", ""), cols, strings.Join(append([]string{b}, conds...), " AND "), inner, limit, i)
		}
		where = []string{fmt.Sprintf("t.id IN (SELECT id FROM (%s) u ORDER BY %s LIMIT %d)", strings.Join(sub, " UNION "), outer, limit)}
	} else if c := scopeSQL(tq.Scope, arg, byID && len(branches) > 1 && db.dialect == SQLite); c != "" {
		where = append(where, c)
	}
	query = ticketSelect + from + ticketJoins
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY %s LIMIT %d", order, limit)
	return query, args, true
}

// filterCols matches the ticket columns of list filters.
var filterCols = regexp.MustCompile(`\bt\.(status|priority|assignee_id|queue_id|service_id|org_id|channel|updated_at)\b`)

// pinToBranchIndex keeps SQLite on a requester branch's own index: a
// person's requests are few, but without statistics SQLite may prefer the
// index of a filter (the assignee's, say) and walk every ticket assigned
// to someone looking for that requester's (0.8 s at 1,000,000 tickets).
// The unary + (SQLite only) makes a column unusable as an index key.
func pinToBranchIndex(where []string) []string {
	out := make([]string, len(where))
	for i, c := range where {
		out[i] = filterCols.ReplaceAllString(c, "+t.$1")
	}
	return out
}

// maxScopeBranches bounds the branches of a wide scope's union; past it
// (a ministry's agent over thousands of organisations) the scope is one
// IN condition, and such a scope covers most tickets, so the newest-first
// scan finds its page early.
const maxScopeBranches = 64

// scopeBranches splits a scope into one indexed equality per organisation,
// queue and requester.
func scopeBranches(s desk.Scope) []string {
	if s.All() || s.None {
		return nil
	}
	var out []string
	for _, id := range s.OrgIDs {
		out = append(out, fmt.Sprintf("t.org_id = %d", id))
	}
	for _, id := range s.QueueIDs {
		out = append(out, fmt.Sprintf("t.queue_id = %d", id))
	}
	if s.RequesterID != 0 {
		out = append(out, fmt.Sprintf("t.requester_id = %d", s.RequesterID))
	}
	return out
}

// scopeSQL turns a visibility scope into one condition on indexed columns
// (tickets_org, tickets_queue, tickets_requester); "" when unrestricted.
// A scope of one kind, the common case, stays a plain indexed condition.
// wide (SQLite, more branches than the union takes) keeps SQLite from
// collecting and sorting every ticket of the scope through those indexes:
// the unary + makes it walk tickets newest first and stop at the limit,
// which is quick because such a scope holds most tickets.
func scopeSQL(s desk.Scope, arg func(any) string, wide bool) string {
	if s.All() {
		return ""
	}
	col := func(c string) string {
		if wide {
			return "+" + c
		}
		return c
	}
	var or []string
	if len(s.OrgIDs) > 0 {
		or = append(or, col("t.org_id")+" IN ("+idList(s.OrgIDs)+")")
	}
	if len(s.QueueIDs) > 0 {
		or = append(or, col("t.queue_id")+" IN ("+idList(s.QueueIDs)+")")
	}
	if s.RequesterID != 0 {
		or = append(or, col("t.requester_id")+" = "+arg(s.RequesterID))
	}
	switch len(or) {
	case 0:
		return "1 = 0"
	case 1:
		return or[0]
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

func (t *q) CountTickets(ctx context.Context, orgIDs []int64) ([]desk.Count, error) {
	query := "SELECT org_id, queue_id, status, SUM(n) FROM ticket_counts"
	if orgIDs != nil {
		query += " WHERE org_id IN (" + idList(orgIDs) + ")"
	}
	query += " GROUP BY org_id, queue_id, status HAVING SUM(n) <> 0"
	rows, err := t.query(ctx, query)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Count, error) {
		var c desk.Count
		err := r.Scan(&c.OrgID, &c.QueueID, &c.Status, &c.N)
		return c, err
	})
}

// maxDoc bounds the indexed text of one ticket (PostgreSQL refuses
// tsvectors over 1 MB).
const maxDoc = 256 << 10

func (t *q) Reindex(ctx context.Context, id int64) error {
	// One round trip: the ticket's text, then its messages' bodies.
	rows, err := t.query(ctx, `SELECT 0, subject, description FROM tickets WHERE id = $1
		UNION ALL SELECT id, '', body FROM messages WHERE ticket_id = $1 ORDER BY 1`, id)
	if err != nil {
		return err
	}
	var subject string
	var b strings.Builder
	found := false
	for rows.Next() {
		var mid int64
		var subj, text string
		if err := rows.Scan(&mid, &subj, &text); err != nil {
			rows.Close()
			return err
		}
		switch {
		case mid == 0:
			subject, found = subj, true
			b.WriteString(text)
		case b.Len() < maxDoc:
			b.WriteString("\n")
			b.WriteString(text)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if !found {
		return desk.Errorf(desk.ENotFound, "ticket not found")
	}
	return t.index(ctx, id, subject, b.String(), false)
}

func (t *q) IndexNew(ctx context.Context, k *desk.Ticket) error {
	if t.db.dialect == Postgres {
		return nil // written by InsertTicket
	}
	return t.index(ctx, k.ID, k.Subject, k.Description, true)
}

// ---- messages

const messageCols = "id, ticket_id, kind, COALESCE(author_id, 0), author_name, author_email, body, channel, internal, created_at"

func scanMessage(r interface{ Scan(...any) error }) (desk.Message, error) {
	var m desk.Message
	var c int64
	err := r.Scan(&m.ID, &m.TicketID, &m.Kind, &m.AuthorID, &m.AuthorName, &m.AuthorEmail, &m.Body, &m.Channel, &m.Internal, &c)
	m.Created = fromUS(c)
	return m, err
}

func (t *q) InsertMessage(ctx context.Context, m *desk.Message) error {
	id, err := t.insertRowid(ctx, `INSERT INTO messages (ticket_id, kind, author_id, author_name, author_email, body, channel, internal, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		m.TicketID, string(m.Kind), nullID(m.AuthorID), m.AuthorName, m.AuthorEmail, m.Body, string(m.Channel), m.Internal, us(m.Created))
	m.ID = id
	return err
}

func (t *q) Messages(ctx context.Context, ticketID int64, internal bool) ([]desk.Message, error) {
	query := "SELECT " + messageCols + " FROM messages WHERE ticket_id = $1"
	if !internal {
		query += " AND internal = FALSE"
	}
	rows, err := t.query(ctx, query+" ORDER BY id", ticketID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Message, error) { return scanMessage(r) })
}

func (t *q) MoveMessages(ctx context.Context, from, to int64) error {
	if _, err := t.exec(ctx, "UPDATE messages SET ticket_id = $2 WHERE ticket_id = $1", from, to); err != nil {
		return err
	}
	_, err := t.exec(ctx, "UPDATE attachments SET ticket_id = $2 WHERE ticket_id = $1", from, to)
	return err
}

// ---- history

func (t *q) InsertEvents(ctx context.Context, evs []desk.Event) error {
	for i := range evs {
		e := &evs[i]
		id, err := t.insertRowid(ctx, "INSERT INTO events (ticket_id, actor_id, at, field, old_value, new_value) VALUES ($1, $2, $3, $4, $5, $6)",
			e.TicketID, nullID(e.ActorID), us(e.At), e.Field, e.Old, e.New)
		if err != nil {
			return err
		}
		e.ID = id
	}
	return nil
}

func (t *q) Events(ctx context.Context, ticketID int64) ([]desk.Event, error) {
	rows, err := t.query(ctx, `SELECT e.id, e.ticket_id, COALESCE(e.actor_id, 0), COALESCE(u.name, 'Sportello'), e.at, e.field, e.old_value, e.new_value
		FROM events e LEFT JOIN users u ON u.id = e.actor_id WHERE e.ticket_id = $1 ORDER BY e.id`, ticketID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Event, error) {
		var e desk.Event
		var at int64
		err := r.Scan(&e.ID, &e.TicketID, &e.ActorID, &e.ActorName, &at, &e.Field, &e.Old, &e.New)
		e.At = fromUS(at)
		return e, err
	})
}

// ---- attachments

func (t *q) PutBlob(ctx context.Context, sum string, data []byte) error {
	if data == nil {
		data = []byte{} // an empty file is stored as empty, not NULL
	}
	_, err := t.exec(ctx, "INSERT INTO blobs (sha256, size, data) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING", sum, len(data), data)
	return err
}

func (t *q) Blob(ctx context.Context, sum string) ([]byte, error) {
	var b []byte
	err := t.row(ctx, "SELECT data FROM blobs WHERE sha256 = $1", sum).Scan(&b)
	return b, notFound(err, "content")
}

const attCols = "id, ticket_id, COALESCE(message_id, 0), name, content_type, size, sha256, created_at"

func scanAtt(r interface{ Scan(...any) error }) (desk.Attachment, error) {
	var a desk.Attachment
	var c int64
	err := r.Scan(&a.ID, &a.TicketID, &a.MessageID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &c)
	a.Created = fromUS(c)
	return a, err
}

func (t *q) InsertAttachment(ctx context.Context, a *desk.Attachment) error {
	id, err := t.insert(ctx, "INSERT INTO attachments (ticket_id, message_id, name, content_type, size, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		a.TicketID, nullID(a.MessageID), a.Name, a.ContentType, a.Size, a.SHA256, us(a.Created))
	a.ID = id
	return err
}

func (t *q) AttachmentByID(ctx context.Context, id int64) (desk.Attachment, error) {
	a, err := scanAtt(t.row(ctx, "SELECT "+attCols+" FROM attachments WHERE id = $1", id))
	return a, notFound(err, "attachment")
}

func (t *q) Attachments(ctx context.Context, ticketID int64) ([]desk.Attachment, error) {
	rows, err := t.query(ctx, "SELECT "+attCols+" FROM attachments WHERE ticket_id = $1 ORDER BY id", ticketID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Attachment, error) { return scanAtt(r) })
}

// ---- links

func (t *q) InsertLink(ctx context.Context, l desk.Link) error {
	_, err := t.exec(ctx, "INSERT INTO ticket_links (from_id, to_id, kind, created_at) VALUES ($1, $2, $3, $4)",
		l.FromID, l.ToID, string(l.Kind), us(l.Created))
	return conflict(err, "the tickets are already linked that way")
}

// Links returns links from and to a ticket, each seen from this ticket.
func (t *q) Links(ctx context.Context, ticketID int64) ([]desk.Link, error) {
	rows, err := t.query(ctx, `SELECT l.from_id, l.to_id, o.number, l.kind, l.created_at FROM ticket_links l JOIN tickets o ON o.id = l.to_id WHERE l.from_id = $1
		UNION ALL
		SELECT l.to_id, l.from_id, o.number, l.kind, l.created_at FROM ticket_links l JOIN tickets o ON o.id = l.from_id WHERE l.to_id = $1
		ORDER BY 5`, ticketID)
	return scanAll(rows, err, func(r *sql.Rows) (desk.Link, error) {
		var l desk.Link
		var c int64
		err := r.Scan(&l.FromID, &l.ToID, &l.ToNumber, &l.Kind, &c)
		l.Created = fromUS(c)
		return l, err
	})
}

// yearSequence returns the PostgreSQL sequence numbering tickets of a year,
// creating it on first use. It is created on the dedicated DDL connection,
// outside any ticket transaction: sequences are not transactional, and a
// concurrent creator must neither abort a caller's transaction nor wait for
// a pool connection held by that transaction.
func (db *DB) yearSequence(ctx context.Context, year int) (string, error) {
	seq := fmt.Sprintf("ticket_seq_%d", year)
	if _, ok := db.seqs.Load(year); ok {
		return seq, nil
	}
	db.ddlMu.Lock()
	defer db.ddlMu.Unlock()
	// IF NOT EXISTS is not safe against another process creating it at
	// the same moment: that one's creation shows as a unique violation or
	// as "relation already exists" (42P07).
	if _, err := db.ddl.ExecContext(ctx, "CREATE SEQUENCE IF NOT EXISTS "+seq); err != nil && !isUniqueViolation(err) && !isDuplicateTable(err) {
		return "", fmt.Errorf("create %s: %w", seq, err)
	}
	db.seqs.Store(year, true)
	return seq, nil
}

// serialSequence returns the sequence behind table's id column
// (schema-qualified, as the connection's search path resolves it), looked
// up once on the DDL connection, which no caller's transaction holds.
func (db *DB) serialSequence(ctx context.Context, table string) (string, error) {
	if v, ok := db.serialSeqs.Load(table); ok {
		return v.(string), nil
	}
	var seq sql.NullString
	if err := db.ddl.QueryRowContext(ctx, "SELECT pg_get_serial_sequence($1, 'id')", table).Scan(&seq); err != nil {
		return "", fmt.Errorf("sequence of %s ids: %w", table, err)
	}
	if !seq.Valid {
		return "", fmt.Errorf("%s.id has no sequence", table)
	}
	db.serialSeqs.Store(table, seq.String)
	return seq.String, nil
}

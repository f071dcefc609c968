package store

// Group commit on PostgreSQL for the writes that ask for it
// (desk.GroupCommitter: new tickets). Concurrent callers' functions run one
// after the other in one transaction on one connection, their counter
// changes are summed and written once at the end, and the group commits
// once: per ticket that saves the BEGIN and COMMIT round trips, the commit's
// WAL flush and the counter statements, which on a small machine cost more
// than the ticket's own insert. The statements whose results are not read
// are sent together, in one round trip (pgpipe.go).
//
// No savepoints: they would cost two more round trips per call. Calls are
// short and are expected to succeed (the desk validates before writing); if
// one fails, the group is rolled back and every call of it is run again on
// its own, exactly as Update would have run it, so each caller gets its own
// outcome and nothing half-written stays behind.

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sportello/sportello/internal/desk"
)

var _ desk.GroupCommitter = (*DB)(nil)

// UpdateGrouped runs fn in a write transaction shared with concurrent
// grouped calls (see desk.GroupCommitter). On SQLite every Update is
// batched already; grouped calls there also share one savepoint.
func (db *DB) UpdateGrouped(ctx context.Context, fn func(desk.Tx) error) error {
	if db.dialect != Postgres {
		return db.sqliteUpdate(ctx, fn, true)
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case <-db.closing:
		return errors.New("store is closed")
	default:
	}
	select {
	case db.pgWrites <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

// pgGroupMax bounds a PostgreSQL group. Calls in a group run one after the
// other on one connection, so a long group makes its first callers wait
// for its last; with four committers, groups of at most 16 spread 64
// concurrent creates over all of them. Measured with 64 clients
// (BenchmarkCreateRatio, quiet 2-core machine): p99 92–111 ms with groups
// of up to 256, 62–69 ms with 8 or 16, and a better ratio to the floor.
const pgGroupMax = 16

// pgCommitter takes whatever grouped calls are queued (at most pgGroupMax)
// and runs them as one group. It does not wait for more: while one group
// runs, the next one gathers.
func (db *DB) pgCommitter() {
	defer db.wg.Done()
	limit := min(db.maxBatch, pgGroupMax)
	for req := range db.pgWrites {
		batch := []*writeReq{req}
	drain:
		for len(batch) < limit {
			select {
			case r, ok := <-db.pgWrites:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.runPGBatch(batch)
	}
}

func (db *DB) runPGBatch(batch []*writeReq) {
	db.stats.mu.Lock()
	db.stats.Batches++
	db.stats.BatchedCalls += int64(len(batch))
	db.stats.mu.Unlock()

	// Callers that gave up are answered now and left out.
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		live[0].done <- db.pgUpdate(live[0].ctx, live[0].fn)
		return
	}
	queriers, err := db.tryPGBatch(live)
	if err != nil {
		if errors.Is(err, errCommitUnknown) {
			// The connection failed while the batch with COMMIT was
			// sent or answered: the group may have committed, so
			// running the calls again could do them twice.
			for _, r := range live {
				r.done <- err
			}
			return
		}
		db.stats.mu.Lock()
		db.stats.GroupRetries++
		db.stats.mu.Unlock()
		db.runAlone(live)
		return
	}
	for i, r := range live {
		queriers[i].runAfter()
		r.done <- nil
	}
}

var errCommitUnknown = errors.New("commit")

// tryPGBatch runs the calls in one pipelined transaction (pgpipe.go) and
// commits it. Any error means nothing was kept, except one wrapping
// errCommitUnknown that is not a server's answer.
func (db *DB) tryPGBatch(batch []*writeReq) ([]*q, error) {
	ctx := context.Background()
	p, err := db.newPipe(ctx)
	if err != nil {
		return nil, err
	}
	defer p.release()
	b := newBatchState()
	queriers := make([]*q, len(batch))
	for i, r := range batch {
		p.left = len(batch) - i
		queriers[i] = &q{db: db, x: p, write: true, batch: b}
		if err := safeCall(r.fn, queriers[i]); err != nil {
			return nil, err
		}
		if p.err != nil {
			return nil, p.err // a queued statement failed under the call
		}
		b.merge(queriers[i])
	}
	b.reshard(db.groupSeq.Add(1))
	flush := &q{db: db, x: p, write: true}
	if err := b.flush(ctx, flush); err != nil {
		return nil, err
	}
	if err := p.commit(ctx); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			return nil, err // the server refused: nothing was kept
		}
		return nil, fmt.Errorf("%w: %w", errCommitUnknown, err)
	}
	return queriers, nil
}

// runAlone runs each call as its own transaction, concurrently, as Update
// would have: after a failed group, each caller gets its own outcome.
func (db *DB) runAlone(batch []*writeReq) {
	var wg sync.WaitGroup
	for _, r := range batch {
		wg.Add(1)
		go func(r *writeReq) {
			defer wg.Done()
			r.done <- db.pgUpdate(r.ctx, r.fn)
		}(r)
	}
	wg.Wait()
}

// reshard moves a group's counter and dashboard changes to one shard
// chosen per group, so that groups committing at the same time (several
// committers, several processes) update different rows instead of waiting
// for each other, and each group writes as few rows as possible.
func (b *batchState) reshard(n int64) {
	counts := make(map[countKey]int, len(b.counts))
	for k, d := range b.counts {
		k.shard = n % counterShards
		counts[k] += d
	}
	b.counts = counts
	if b.sd == nil {
		return
	}
	open := make(map[openKey]int64, len(b.sd.open))
	for k, d := range b.sd.open {
		k.shard = n % statShards
		open[k] += d
	}
	days := make(map[dayKey]dayDelta, len(b.sd.days))
	for k, d := range b.sd.days {
		k.shard = n % statShards
		cur := days[k]
		cur.add(d)
		days[k] = cur
	}
	b.sd.open, b.sd.days = open, days
}

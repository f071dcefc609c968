// Package store implements desk.Store on SQLite (embedded, the default) and
// PostgreSQL (for several replicas) with hand-written SQL. Dialect
// differences are kept in dialect.go; migrations are embedded numbered SQL
// files, one transaction each.
//
// On SQLite all writes go through one connection and one goroutine that
// batches concurrent Update calls into a single transaction (group commit),
// each call isolated by a savepoint; reads use a separate pool. On
// PostgreSQL, writes that ask for it (UpdateGrouped: new tickets) are
// grouped too (pgbatch.go). Views read organisations, queues and services
// from memory (catcache.go).
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"modernc.org/sqlite"               // SQLite driver "sqlite"

	"github.com/sportello/sportello/internal/desk"
)

// Dialect names a database engine.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says where the database is.
type Config struct {
	// URL selects PostgreSQL when it starts with postgres:// or postgresql://.
	URL string
	// DataDir holds sportello.db when URL is empty.
	DataDir string
	// MaxBatch bounds a group commit (default 256).
	MaxBatch int
	// GroupWorkers is the number of PostgreSQL connections committing
	// grouped writes (UpdateGrouped) concurrently (default: one per CPU,
	// between 2 and 4).
	GroupWorkers int
	// MaxConns bounds the PostgreSQL connections (default: four per CPU,
	// at least 8).
	MaxConns int
	// NoMigrate skips migrations at open (for migration tests).
	NoMigrate bool
}

// DB is the store. It implements desk.Store.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: one connection; PostgreSQL: the pool
	read    *sql.DB // SQLite: reader pool; PostgreSQL: same pool as write
	path    string

	writes   chan *writeReq
	pgWrites chan *writeReq   // PostgreSQL grouped writes (pgbatch.go)
	lookups  chan *userLookup // PostgreSQL shared look-ups (lookup.go)
	groupSeq atomic.Int64     // numbers PostgreSQL groups (pgbatch.go)
	maxBatch int
	wg       sync.WaitGroup
	closing  chan struct{}
	once     sync.Once

	stats Stats

	// statsSchema caches whether the dashboard aggregates of migration
	// 0090 exist (0 unknown, 1 yes, 2 no: a database not migrated yet).
	statsSchema atomic.Int32

	// PostgreSQL only: a one-connection pool for DDL run outside callers'
	// transactions, and the ticket sequences known to exist.
	ddl   *sql.DB
	ddlMu sync.Mutex
	seqs  sync.Map
	// serialSeqs caches the sequences behind id columns (serialSequence).
	serialSeqs sync.Map

	// SQLite only: statements prepared on the writer's connection, and
	// those to prepare after the current batch (committer goroutine only).
	wstmts map[string]*sql.Stmt
	wwant  []string

	// SQLite only: read connections with their prepared statements.
	readers  chan *readerConn
	readerMu sync.Mutex
	nReaders int

	// cat caches organisations, queues and services for reads (catcache.go).
	cat catCache
}

// Stats are counters exported as metrics.
type Stats struct {
	mu           sync.Mutex
	Batches      int64
	BatchedCalls int64
	// GroupRetries counts PostgreSQL groups rolled back and run again
	// call by call (pgbatch.go).
	GroupRetries int64
}

var _ desk.Store = (*DB)(nil)

// IsPostgresURL reports whether a database URL selects PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Open opens (creating if needed) and migrates the database.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	db := &DB{maxBatch: cfg.MaxBatch, closing: make(chan struct{}), readers: make(chan *readerConn, maxReaders)}
	if db.maxBatch <= 0 {
		db.maxBatch = 256
	}
	var err error
	switch {
	case IsPostgresURL(cfg.URL):
		db.dialect = Postgres
		db.write, err = sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		// A small pool: every connection in use is a server process
		// competing for the database's cores. With 32 connections, 64
		// clients creating tickets on a 2-core machine spent half again
		// as much PostgreSQL CPU per ticket as with 8 (docs/performance.md).
		conns := cfg.MaxConns
		if conns <= 0 {
			conns = max(8, 4*runtime.GOMAXPROCS(0))
		}
		db.write.SetMaxOpenConns(conns)
		db.write.SetMaxIdleConns(conns)
		db.write.SetConnMaxIdleTime(5 * time.Minute)
		db.read = db.write
		db.ddl, err = sql.Open("pgx", cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.ddl.SetMaxOpenConns(1)
	case cfg.URL != "":
		return nil, fmt.Errorf("SPORTELLO_DATABASE_URL %q is not a postgres:// URL; leave it empty to use SQLite in the data directory", redactURL(cfg.URL))
	default:
		db.dialect = SQLite
		dir := cfg.DataDir
		if dir == "" {
			dir = "data"
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", dir, err)
		}
		db.path = filepath.Join(dir, "sportello.db")
		pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-32000)"
		// The writer keeps its statement and savepoint journals in memory
		// (temp_store): written to temporary files they made a third of
		// the cost of a grouped create. They hold the original of each
		// page a batch changes, a few megabytes at most; readers, whose
		// temporary data can be large sorts, keep the default.
		db.write, err = sql.Open("sqlite", "file:"+db.path+"?"+pragmas+"&_pragma=temp_store(2)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.write.SetMaxOpenConns(1)
		db.write.SetMaxIdleConns(1)
		db.write.SetConnMaxLifetime(0)
		db.write.SetConnMaxIdleTime(0)
		db.read, err = sql.Open("sqlite", "file:"+db.path+"?"+pragmas+"&_pragma=query_only(1)")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		db.read.SetMaxOpenConns(8)
		db.read.SetMaxIdleConns(8)
		db.read.SetConnMaxIdleTime(0)
		db.read.SetConnMaxLifetime(0)
	}
	if err := db.write.PingContext(ctx); err != nil {
		db.closeDBs()
		if db.dialect == Postgres {
			return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w (is the server running, and does the database exist?)", redactURL(cfg.URL), err)
		}
		return nil, fmt.Errorf("open %s: %w", db.path, err)
	}
	if !cfg.NoMigrate {
		if _, err := db.Migrate(ctx, nil); err != nil {
			db.closeDBs()
			return nil, err
		}
	}
	if db.dialect == SQLite {
		db.writes = make(chan *writeReq, 1024)
		db.wstmts = map[string]*sql.Stmt{}
		db.wg.Add(1)
		go db.committer()
	} else {
		workers := cfg.GroupWorkers
		if workers <= 0 {
			workers = min(4, max(2, runtime.GOMAXPROCS(0)))
		}
		db.startLookups()
		db.pgWrites = make(chan *writeReq, 1024)
		for i := 0; i < workers; i++ {
			db.wg.Add(1)
			go db.pgCommitter()
		}
	}
	return db, nil
}

// redactURL hides the password of a database URL for messages and logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Dialect returns the engine in use.
func (db *DB) Dialect() Dialect { return db.dialect }

// Path is the SQLite file (empty on PostgreSQL).
func (db *DB) Path() string { return db.path }

// SQL returns the write pool for adapters with their own SQL (health checks, backup).
func (db *DB) SQL() *sql.DB { return db.write }

// ReadSQL returns the read pool.
func (db *DB) ReadSQL() *sql.DB { return db.read }

// BatchStats returns group-commit counters.
func (db *DB) BatchStats() (batches, calls int64) {
	db.stats.mu.Lock()
	defer db.stats.mu.Unlock()
	return db.stats.Batches, db.stats.BatchedCalls
}

// GroupRetries returns how many PostgreSQL groups failed as a whole and
// were run again call by call.
func (db *DB) GroupRetries() int64 {
	db.stats.mu.Lock()
	defer db.stats.mu.Unlock()
	return db.stats.GroupRetries
}

// Close stops the committer after pending writes and closes the pools.
func (db *DB) Close() error {
	db.once.Do(func() {
		close(db.closing)
		if db.writes != nil {
			close(db.writes)
		}
		if db.pgWrites != nil {
			close(db.pgWrites)
		}
	})
	db.wg.Wait()
	db.readerMu.Lock()
	for db.nReaders > 0 {
		select {
		case rc := <-db.readers:
			for _, st := range rc.stmts {
				st.Close()
			}
			rc.conn.Close()
			db.nReaders--
		default:
			db.nReaders = 0 // readers still in use are closed with the pool
		}
	}
	db.readerMu.Unlock()
	return db.closeDBs()
}

func (db *DB) closeDBs() error {
	var errs []error
	if db.ddl != nil {
		errs = append(errs, db.ddl.Close())
	}
	if db.read != nil && db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// View runs fn for reading. On SQLite it is a read transaction, so fn sees
// one snapshot. On PostgreSQL the statements run on the pool directly: at
// READ COMMITTED each statement takes its own snapshot even inside a
// transaction, so BEGIN and COMMIT would only add two round trips.
func (db *DB) View(ctx context.Context, fn func(desk.Tx) error) error {
	if db.dialect == Postgres {
		return fn(&q{db: db, x: db.read})
	}
	rc, err := db.reader(ctx)
	if err != nil {
		return fmt.Errorf("read connection: %w", err)
	}
	defer func() {
		// A panicking reader must not take its connection with it: the
		// pool would shrink until every view blocks.
		if p := recover(); p != nil {
			db.release(rc, driver.ErrBadConn)
			panic(p)
		}
	}()
	err = fn(&q{db: db, x: rc.conn, conn: rc.conn, stmts: rc.stmts})
	db.release(rc, err)
	return err
}

// readerConn is an SQLite read connection with its prepared statements.
// SQLite views read in autocommit mode: each statement sees the latest
// commit, which is what the desk's reads need, and statements stay
// prepared across views (database/sql would re-prepare them per
// transaction).
type readerConn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

// maxReaders bounds the SQLite read connections.
const maxReaders = 8

func (db *DB) reader(ctx context.Context) (*readerConn, error) {
	select {
	case rc := <-db.readers:
		return rc, nil
	default:
	}
	db.readerMu.Lock()
	if db.nReaders < maxReaders {
		db.nReaders++
		db.readerMu.Unlock()
		c, err := db.read.Conn(ctx)
		if err != nil {
			db.readerMu.Lock()
			db.nReaders--
			db.readerMu.Unlock()
			return nil, err
		}
		return &readerConn{conn: c, stmts: map[string]*sql.Stmt{}}, nil
	}
	db.readerMu.Unlock()
	select {
	case rc := <-db.readers:
		return rc, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release returns a reader to the pool, or drops it if its connection
// broke (a closed database, an interrupted statement).
func (db *DB) release(rc *readerConn, err error) {
	if err != nil && (errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		for _, st := range rc.stmts {
			st.Close()
		}
		rc.conn.Close()
		db.readerMu.Lock()
		db.nReaders--
		db.readerMu.Unlock()
		return
	}
	db.readers <- rc
}

// Update runs fn in a write transaction.
func (db *DB) Update(ctx context.Context, fn func(desk.Tx) error) error {
	if db.dialect == Postgres {
		return db.pgUpdate(ctx, fn)
	}
	return db.sqliteUpdate(ctx, fn, false)
}

// sqliteUpdate hands fn to the SQLite committer and waits for its outcome.
func (db *DB) sqliteUpdate(ctx context.Context, fn func(desk.Tx) error, grouped bool) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1), grouped: grouped}
	select {
	case <-db.closing:
		return errors.New("store is closed")
	default:
	}
	select {
	case db.writes <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

func (db *DB) pgUpdate(ctx context.Context, fn func(desk.Tx) error) error {
	for attempt := 0; ; attempt++ {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		q := &q{db: db, x: tx, tx: tx, write: true}
		err = fn(q)
		if err == nil {
			err = q.flushCounts(ctx)
		}
		if err == nil {
			err = tx.Commit()
			if err == nil {
				q.runAfter()
				return nil
			}
		} else {
			_ = tx.Rollback()
		}
		if attempt < 4 && retryable(err) {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		return err
	}
}

type writeReq struct {
	ctx  context.Context
	fn   func(desk.Tx) error
	done chan error
	// grouped calls may be run more than once (desk.GroupCommitter).
	grouped bool
}

// committer serialises SQLite writes, batching whatever is queued into one
// transaction. Each call runs inside its own savepoint, so one failing call
// leaves the others' writes intact.
func (db *DB) committer() {
	defer db.wg.Done()
	for req := range db.writes {
		batch := []*writeReq{req}
	drain:
		for len(batch) < db.maxBatch {
			select {
			case r, ok := <-db.writes:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		db.runBatch(batch)
		if len(db.wwant) > 0 {
			db.prepareWanted()
		}
	}
	for _, st := range db.wstmts {
		st.Close()
	}
}

func (db *DB) runBatch(batch []*writeReq) {
	db.stats.mu.Lock()
	db.stats.Batches++
	db.stats.BatchedCalls += int64(len(batch))
	db.stats.mu.Unlock()

	results := make([]error, len(batch))
	queriers := make([]*q, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	ctx := context.Background()
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin: %w", err))
		return
	}
	single := len(batch) == 1
	stmts := map[string]*sql.Stmt{} // closed with the transaction
	b := newBatchState()
	// runOne runs call i in its own savepoint (none when it is alone in
	// the batch); an error returned means the transaction is unusable.
	runOne := func(i int) error {
		r := batch[i]
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			return nil
		}
		if !single {
			if _, err := db.execCached(ctx, tx, stmts, "SAVEPOINT w"); err != nil {
				results[i] = fmt.Errorf("savepoint: %w", err)
				return nil
			}
		}
		queriers[i] = &q{db: db, x: tx, tx: tx, write: true, stmts: stmts, batch: b}
		err := safeCall(r.fn, queriers[i])
		if err == nil {
			b.merge(queriers[i])
		}
		results[i] = err
		if single {
			return nil
		}
		if err != nil {
			if _, rbErr := db.execCached(ctx, tx, stmts, "ROLLBACK TO w"); rbErr != nil {
				return fmt.Errorf("rollback to savepoint: %w (after %v)", rbErr, err)
			}
		}
		if _, err := db.execCached(ctx, tx, stmts, "RELEASE w"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		return nil
	}
	var grouped []int
	for i, r := range batch {
		if r.grouped && !single {
			grouped = append(grouped, i)
			continue
		}
		if err := runOne(i); err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
	}
	if len(grouped) > 0 {
		ok, err := db.runGrouped(ctx, tx, stmts, b, batch, grouped, queriers, results)
		for i := 0; err == nil && !ok && i < len(grouped); i++ {
			err = runOne(grouped[i]) // the group failed: each call on its own
		}
		if err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
	}
	if single && results[0] != nil {
		_ = tx.Rollback()
		batch[0].done <- results[0]
		return
	}
	if err := b.flush(ctx, &q{db: db, x: tx, tx: tx, write: true, stmts: stmts}); err != nil {
		_ = tx.Rollback()
		fail(fmt.Errorf("batch counters: %w", err))
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	for i, r := range batch {
		if results[i] == nil && queriers[i] != nil {
			queriers[i].runAfter()
		}
		r.done <- results[i]
	}
}

// runGrouped runs the batch's grouped calls (desk.GroupCommitter) under
// one savepoint instead of one each, which on SQLite costs as much as
// inserting a small row. Their counter changes join the batch only if all
// of them succeed; otherwise the savepoint is rolled back, the numbers
// they took are given back, and it reports false so that the caller runs
// them again one by one (grouped calls may be run more than once). An error
// means the transaction is unusable.
func (db *DB) runGrouped(ctx context.Context, tx *sql.Tx, stmts map[string]*sql.Stmt, b *batchState, batch []*writeReq, grouped []int, queriers []*q, results []error) (bool, error) {
	seqs := maps.Clone(b.seqs)
	if _, err := db.execCached(ctx, tx, stmts, "SAVEPOINT g"); err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	ok := true
	for _, i := range grouped {
		r := batch[i]
		if err := r.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		queriers[i] = &q{db: db, x: tx, tx: tx, write: true, stmts: stmts, batch: b}
		if err := safeCall(r.fn, queriers[i]); err != nil {
			ok = false
			break
		}
	}
	if !ok {
		if _, err := db.execCached(ctx, tx, stmts, "ROLLBACK TO g"); err != nil {
			return false, fmt.Errorf("rollback to savepoint: %w", err)
		}
		b.seqs = seqs
		for _, i := range grouped {
			queriers[i], results[i] = nil, nil
		}
	}
	if _, err := db.execCached(ctx, tx, stmts, "RELEASE g"); err != nil {
		return false, fmt.Errorf("release savepoint: %w", err)
	}
	if ok {
		for _, i := range grouped {
			if queriers[i] != nil {
				b.merge(queriers[i])
			}
		}
	}
	return ok, nil
}

// batchState is what the calls of one SQLite group-commit batch share:
// ticket numbers are allocated in memory from the counter read once (the
// batch holds the database's write lock, so no other process can
// interleave) and written back once; counter changes are summed and
// written once. A call that fails only leaves a gap in the numbers.
type batchState struct {
	counts map[countKey]int
	seqs   map[int]int64 // year → last number allocated in this batch
	sd     *statsDelta   // dashboard aggregates (stats.go)
	fts    []searchDoc   // new tickets' search documents (ftsdefer.go)
}

// newBatchState starts the shared state of a batch (SQLite) or group
// (PostgreSQL, pgbatch.go).
func newBatchState() *batchState {
	return &batchState{counts: map[countKey]int{}, seqs: map[int]int64{},
		sd: &statsDelta{open: map[openKey]int64{}, days: map[dayKey]dayDelta{}}}
}

// merge adds a successful call's counter changes to the batch.
func (b *batchState) merge(t *q) {
	for k, d := range t.counts {
		k.shard = 0 // one writer: no hot-row contention to spread
		b.counts[k] += d
	}
	t.counts = nil
	mergeStats(b.sd, t.sd)
	t.sd = nil
	b.fts, t.fts = append(b.fts, t.fts...), nil
}

// flush writes the batch's counters and ticket number counters.
func (b *batchState) flush(ctx context.Context, t *q) error {
	t.counts, t.sd = b.counts, b.sd
	if err := t.flushCounts(ctx); err != nil {
		return err
	}
	for year, v := range b.seqs {
		if _, err := t.exec(ctx, `INSERT INTO ticket_seq (year, value) VALUES ($1, $2)
			ON CONFLICT (year) DO UPDATE SET value = MAX(ticket_seq.value, excluded.value)`, year, v); err != nil {
			return err
		}
	}
	return t.flushSearchDocs(ctx, b)
}

// execCached runs a statement without arguments on the SQLite writer.
func (db *DB) execCached(ctx context.Context, tx *sql.Tx, stmts map[string]*sql.Stmt, query string) (sql.Result, error) {
	st, err := db.writerStmt(ctx, tx, stmts, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx)
}

// maxWriterStmts bounds the statements kept prepared on the SQLite writer.
const maxWriterStmts = 256

// writerStmt returns query prepared for the SQLite writer's transaction tx,
// caching it in stmts for the rest of the batch. A statement is prepared
// in the transaction the first time it is seen, and prepared again on the
// writer's only connection once the batch is over (prepareWanted), so
// later batches reuse it: database/sql hands a transaction the statement
// already prepared on its connection. Only the committer goroutine calls
// this.
func (db *DB) writerStmt(ctx context.Context, tx *sql.Tx, stmts map[string]*sql.Stmt, query string) (*sql.Stmt, error) {
	if st, ok := stmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if ps, ok := db.wstmts[query]; ok {
		st = tx.StmtContext(ctx, ps)
	} else {
		var err error
		if st, err = tx.PrepareContext(ctx, db.rebind(query)); err != nil {
			return nil, err
		}
		if len(db.wstmts)+len(db.wwant) < maxWriterStmts {
			db.wwant = append(db.wwant, query)
		}
	}
	stmts[query] = st
	return st, nil
}

// prepareWanted prepares on the writer's connection the statements first
// seen in the last batch. The committer calls it between batches, when the
// connection is free.
func (db *DB) prepareWanted() {
	for _, query := range db.wwant {
		if _, ok := db.wstmts[query]; ok {
			continue
		}
		st, err := db.write.PrepareContext(context.Background(), db.rebind(query))
		if err != nil {
			continue // prepared in each transaction, as before
		}
		db.wstmts[query] = st
	}
	db.wwant = db.wwant[:0]
}

func safeCall(fn func(desk.Tx) error, tx *q) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in transaction: %v", p)
		}
	}()
	return fn(tx)
}

// Backup writes a consistent copy of a live SQLite database to dst using
// SQLite's online backup, calling progress after each step. PostgreSQL
// installations use pg_dump instead (see docs/operations.md).
func (db *DB) Backup(ctx context.Context, dst string, progress func(done, total int)) error {
	if db.dialect != SQLite {
		return errors.New("on PostgreSQL use pg_dump: pg_dump --format=custom --file=sportello.dump \"$SPORTELLO_DATABASE_URL\"")
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%s already exists: choose another file name", dst)
	}
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		bk, ok := dc.(interface {
			NewBackup(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("this SQLite driver does not support online backup")
		}
		b, err := bk.NewBackup(dst)
		if err != nil {
			return fmt.Errorf("start backup to %s: %w", dst, err)
		}
		for {
			more, err := b.Step(256)
			if err != nil {
				b.Finish() //nolint:errcheck
				return fmt.Errorf("backup: %w", err)
			}
			if progress != nil {
				total := b.PageCount()
				progress(total-b.Remaining(), total)
			}
			if !more {
				break
			}
			if err := ctx.Err(); err != nil {
				b.Finish()     //nolint:errcheck
				os.Remove(dst) //nolint:errcheck
				return err
			}
		}
		return b.Finish()
	})
}

// WarmUp opens the PostgreSQL pool's connections ahead of the first
// requests, as `serve` does at start, and has each load the tables of a
// new ticket into its caches. A new connection costs a server process:
// about 25 ms on the project's 2-core machine, more than a hundred
// requests' worth of work, and the first requests of a busy start would
// otherwise wait for all of them at once (docs/performance.md). On SQLite
// it does nothing.
func (db *DB) WarmUp(ctx context.Context) error {
	if db.dialect != Postgres {
		return nil
	}
	n := db.write.Stats().MaxOpenConnections
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range n {
		c, err := db.write.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		if _, err := c.ExecContext(ctx, warmTablesSQL); err != nil {
			if err := c.PingContext(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// warmTablesSQL reads nothing, but planning it makes the connection's
// server process load the tables a new ticket writes, and their indexes,
// into its caches: without it, the first requests of a new process had a
// p99 of 122–126 ms instead of 81–101 (docs/performance.md).
const warmTablesSQL = `SELECT 1 FROM tickets, events, ticket_tags, users, ticket_counts, ticket_view_counts, stat_open, stat_daily, ticket_fields LIMIT 0`

package store

// Reads of organisations, queues and services (by id or code) are served
// from memory in views: every new ticket resolves its organisation and
// queue, and these rows almost never change.
//
// Freshness: a write transaction of this process that changes one of the
// three tables (any INSERT, UPDATE or DELETE naming them, whatever the
// method) empties the cache when it commits, before its after-commit
// functions run, so this process reads its own changes at once. Another
// process sharing the PostgreSQL database (or a command-line run on the
// SQLite file) is seen within catalogTTL, like API tokens. Only rows found
// are cached; a missing code is asked to the database every time. Reads
// inside write transactions always go to the database.

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// catalogTTL bounds how long a change made by another process can go unseen.
const catalogTTL = 5 * time.Second

type catKind uint8

const (
	catOrgID catKind = iota
	catOrgCode
	catQueueID
	catQueueCode
	catServiceID
	catServiceCode
)

type catKey struct {
	kind catKind
	org  int64 // the organisation of a queue or service code
	id   int64
	code string
}

type catEntry struct {
	v     any
	gen   uint64
	until time.Time
}

type catCache struct {
	gen atomic.Uint64
	m   sync.Map // catKey → catEntry
}

func (c *catCache) get(k catKey) (any, bool) {
	v, ok := c.m.Load(k)
	if !ok {
		return nil, false
	}
	e := v.(catEntry)
	if e.gen != c.gen.Load() || time.Now().After(e.until) {
		c.m.CompareAndDelete(k, v)
		return nil, false
	}
	return e.v, true
}

// invalidate forgets every entry, including those being loaded now (they
// are stored with the previous generation and never served).
func (c *catCache) invalidate() {
	c.gen.Add(1)
	c.m.Clear()
}

// cached serves a catalogue read from memory in views, loading and keeping
// it on a miss. The generation is read before loading: a change committed
// while the row is read makes the entry stale at once.
func cached[T any](t *q, k catKey, load func() (T, error)) (T, error) {
	if t.write {
		return load()
	}
	c := &t.db.cat
	if v, ok := c.get(k); ok {
		return v.(T), nil
	}
	gen := c.gen.Load()
	v, err := load()
	if err == nil {
		c.m.Store(k, catEntry{v: v, gen: gen, until: time.Now().Add(catalogTTL)})
	}
	return v, err
}

// noteWrite records that a write transaction changed the catalogue tables.
func (t *q) noteWrite(query string) {
	if !t.catalogChanged && changesCatalog(query) {
		t.catalogChanged = true
	}
}

// changesCatalog reports whether a statement may write organisations,
// queues or services. False positives only cost an emptied cache.
func changesCatalog(query string) bool {
	if strings.HasPrefix(strings.TrimLeft(query, " \t\r\n"), "SELECT") {
		return false
	}
	return strings.Contains(query, " orgs") || strings.Contains(query, " queues") || strings.Contains(query, " services")
}

package intake

import (
	"context"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/route"
)

// cachedTx is the batch's transaction with the lookups every message
// repeats (its organisation, the services and queues rules name) answered
// from memory after the first time: on PostgreSQL each is a round trip.
// Within one transaction they can only change through this transaction,
// and the batch never changes them. The cache lives as long as one attempt
// of the transaction (batchCache.reset). Code that type-asserts the
// transaction to more than mailbox.Tx must be given the store's own (as
// the transition guard is, in apply).
type cachedTx struct {
	mailbox.Tx
	c *batchCache
}

type codeKey struct {
	org  int64
	code string
}

// AfterCommit forwards to the store's transaction (see mailbox.AfterCommit).
func (t cachedTx) AfterCommit(fn func()) { mailbox.AfterCommit(t.Tx, fn) }

func (t cachedTx) OrgByID(ctx context.Context, id int64) (desk.Organisation, error) {
	return t.c.org(ctx, t.Tx, id)
}

func (t cachedTx) OrgByCode(ctx context.Context, code string) (desk.Organisation, error) {
	for _, o := range t.c.orgs {
		if o.Code == code {
			return o, nil
		}
	}
	o, err := t.Tx.OrgByCode(ctx, code)
	if err == nil {
		t.c.orgs[o.ID] = o
	}
	return o, err
}

func (t cachedTx) ServiceByCode(ctx context.Context, orgID int64, code string) (desk.Service, error) {
	k := codeKey{orgID, code}
	if s, ok := t.c.services[k]; ok {
		return s, nil
	}
	s, err := t.Tx.ServiceByCode(ctx, orgID, code)
	if err == nil {
		t.c.services[k] = s
	}
	return s, err
}

func (t cachedTx) QueueByCode(ctx context.Context, orgID int64, code string) (desk.Queue, error) {
	k := codeKey{orgID, code}
	if q, ok := t.c.queues[k]; ok {
		return q, nil
	}
	q, err := t.Tx.QueueByCode(ctx, orgID, code)
	if err == nil {
		t.c.queues[k] = q
		t.c.queueIDs[q.ID] = q
	}
	return q, err
}

func (t cachedTx) QueueByID(ctx context.Context, id int64) (desk.Queue, error) {
	if q, ok := t.c.queueIDs[id]; ok {
		return q, nil
	}
	q, err := t.Tx.QueueByID(ctx, id)
	if err == nil {
		t.c.queueIDs[id] = q
		t.c.queues[codeKey{q.OrgID, q.Code}] = q
	}
	return q, err
}

// Writes of services and queues (which mail never makes) drop the cache.
func (t cachedTx) UpdateService(ctx context.Context, s *desk.Service) error {
	t.c.reset()
	return t.Tx.UpdateService(ctx, s)
}

func (t cachedTx) CreateService(ctx context.Context, s *desk.Service) error {
	t.c.reset()
	return t.Tx.CreateService(ctx, s)
}

func (t cachedTx) CreateQueue(ctx context.Context, q *desk.Queue) error {
	t.c.reset()
	return t.Tx.CreateQueue(ctx, q)
}

// CountAuto answers from the counts the batch read for its senders
// (autoCounts), which InsertOutbound keeps up to date.
func (t cachedTx) CountAuto(ctx context.Context, rcpt string, since time.Time) (int, error) {
	if t.c.auto != nil {
		if n, ok := t.c.auto[rcpt]; ok {
			return n, nil
		}
	}
	return t.Tx.CountAuto(ctx, rcpt, since)
}

func (t cachedTx) InsertOutbound(ctx context.Context, m *mailbox.Outbound) error {
	if err := t.Tx.InsertOutbound(ctx, m); err != nil {
		return err
	}
	if m.Auto && t.c.auto != nil {
		if k := strings.Join(m.To, ","); k != "" {
			if _, ok := t.c.auto[k]; ok {
				t.c.auto[k]++
			}
		}
	}
	return nil
}

func (t cachedTx) Offices(ctx context.Context, kind string) ([]route.Office, error) {
	if o, ok := t.c.offices[kind]; ok {
		return o, nil
	}
	o, err := t.Tx.Offices(ctx, kind)
	if err == nil {
		t.c.offices[kind] = o
	}
	return o, err
}

// autoCounts reads how many automatic messages each sender got in the
// last hour, for the rate limit (see outbox.MayAutoReply), in one query.
// Only a batch run without savepoints uses it: a rolled-back savepoint
// would leave a count too high.
func (c *batchCache) autoCounts(ctx context.Context, tx mailbox.Tx, ins []*incoming, since time.Time) error {
	var rcpts []string
	seen := map[string]bool{}
	for _, in := range ins {
		if in.msg == nil {
			continue
		}
		if r := mailbox.NormAddress(in.msg.From.Email); r != "" && !seen[r] {
			seen[r] = true
			rcpts = append(rcpts, r)
		}
	}
	counts, err := tx.CountAutoMany(ctx, rcpts, since)
	if err != nil {
		return err
	}
	c.auto = make(map[string]int, len(rcpts))
	for _, r := range rcpts {
		c.auto[r] = counts[r]
	}
	return nil
}

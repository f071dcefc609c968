package intake

import (
	"context"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// cachedTx is the batch's transaction with the lookups every message
// repeats (its organisation, the services and queues rules name) answered
// from memory after the first time: on PostgreSQL each is a round trip.
// Within one transaction they can only change through this transaction,
// and the batch never changes them. The cache lives as long as one attempt
// of the transaction (batchCache.reset).
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

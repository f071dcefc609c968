package desk

import "context"

// GroupCommitter is implemented by stores that can commit the short,
// independent writes of concurrent callers together, in one transaction
// and without isolating each call (package store: one transaction per
// group on PostgreSQL, one savepoint per group inside the SQLite batch).
// fn gets the same guarantees as with Update: its writes are atomic, and
// its in-transaction hooks commit or roll back with them. fn may be run
// more than once (when a group fails, its calls are run again one by one),
// so it must have no effects outside the transaction, and it must be short
// and not wait for other transactions: the calls of a group run one after
// the other.
type GroupCommitter interface {
	UpdateGrouped(ctx context.Context, fn func(Tx) error) error
}

// updateGrouped runs fn as a grouped write when the store offers it, else
// as a plain Update.
func (d *Desk) updateGrouped(ctx context.Context, fn func(Tx) error) error {
	if g, ok := d.store.(GroupCommitter); ok {
		return g.UpdateGrouped(ctx, fn)
	}
	return d.store.Update(ctx, fn)
}

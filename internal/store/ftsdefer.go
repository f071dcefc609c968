package store

// On SQLite the search documents of new tickets are written at the end of
// their group-commit batch, after every other statement. FTS5 writes the
// documents it holds in memory to a new index segment whenever a
// statement or savepoint opens inside the transaction, so indexing each
// ticket right after inserting it made one tiny segment per ticket (and
// the merging of them) — a fifth of the cost of a create. Written last,
// the batch's documents become one segment at commit.
//
// A document is kept with its call until the call succeeds (merge), so a
// call rolled back to its savepoint leaves none behind. Rebuilding a
// document (Reindex) drops any pending one for the same ticket first.

import "context"

type searchDoc struct {
	id            int64
	subject, body string
}

func (t *q) deferSearchDoc(id int64, subject, body string) {
	t.fts = append(t.fts, searchDoc{id, subject, body})
}

// dropSearchDoc forgets a pending document of ticket id, in this call or
// in its batch, before the document is rebuilt.
func (t *q) dropSearchDoc(id int64) {
	t.fts = dropDoc(t.fts, id)
	if t.batch != nil {
		t.batch.fts = dropDoc(t.batch.fts, id)
	}
}

func dropDoc(docs []searchDoc, id int64) []searchDoc {
	out := docs[:0]
	for _, d := range docs {
		if d.id != id {
			out = append(out, d)
		}
	}
	return out
}

// flushSearchDocs writes the batch's pending documents.
func (t *q) flushSearchDocs(ctx context.Context, b *batchState) error {
	for _, d := range b.fts {
		if _, err := t.exec(ctx, "INSERT INTO ticket_fts (rowid, subject, body) VALUES ($1, $2, $3)", d.id, d.subject, d.body); err != nil {
			return err
		}
	}
	b.fts = nil
	return nil
}

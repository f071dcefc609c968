package store

// QueuedGrouped is the number of grouped writes waiting for a committer.
func (db *DB) QueuedGrouped() int {
	if db.dialect == Postgres {
		return len(db.pgWrites)
	}
	return len(db.writes)
}

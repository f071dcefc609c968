package desk

// TEMPORARY: mirrors the audit API the lead is adding on main (see
// _prompts/audit.md); deleted when main is merged.

import (
	"context"
	"time"
)

type AuditEntry struct {
	ID      int64
	At      time.Time
	OrgID   int64
	ActorID int64
	Actor   string
	Action  string
	Target  string
	Detail  string
	Remote  string
}

type AuditFilter struct {
	OrgID, ActorID int64
	Action         string
	Target         string
	Since, Until   time.Time
	Before         int64
	Limit          int
}

func (d *Desk) Audit(ctx context.Context, a Actor, e AuditEntry) error          { return nil }
func (d *Desk) AuditTx(ctx context.Context, tx Tx, a Actor, e AuditEntry) error { return nil }
func (d *Desk) AuditLog(ctx context.Context, a Actor, f AuditFilter) ([]AuditEntry, error) {
	return nil, nil
}

func auditEntriesTx(ctx context.Context, tx Tx, f AuditFilter) ([]AuditEntry, error) { return nil, nil }

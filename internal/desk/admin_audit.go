package desk

import "context"

// RecordAdmin records an administrative change in the audit log inside the
// transaction that made it (adapters such as the mail channel's
// administration use it too).
func (d *Desk) RecordAdmin(ctx context.Context, tx Tx, a Actor, orgID int64, action, target, detail string) error {
	return d.auditAdmin(ctx, tx, a, orgID, action, target, detail)
}

func (d *Desk) auditAdmin(ctx context.Context, tx Tx, a Actor, orgID int64, action, target, detail string) error {
	return nil // AUDIT-PENDING: replaced by AuditTx when the audit log lands on main
}

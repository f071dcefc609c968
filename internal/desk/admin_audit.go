package desk

import "context"

// RecordAdmin records an administrative change in the audit log inside the
// transaction that made it (adapters such as the mail channel's
// administration use it too). orgID 0 means the actor's organisation.
func (d *Desk) RecordAdmin(ctx context.Context, tx Tx, a Actor, orgID int64, action, target, detail string) error {
	return d.auditAdmin(ctx, tx, a, orgID, action, target, detail)
}

func (d *Desk) auditAdmin(ctx context.Context, tx Tx, a Actor, orgID int64, action, target, detail string) error {
	return d.AuditTx(ctx, tx, a, AuditEntry{OrgID: orgID, Action: action, Target: target, Detail: detail})
}

package desk

import (
	"context"
	"fmt"
	"strings"
)

// MaxAuditExport bounds one export of the audit log (narrow it by date or
// action for more).
const MaxAuditExport = 100_000

// ExportAuditLog returns every entry matching f (newest first, at most
// MaxAuditExport) for an administrator, and records the export itself in
// the audit log. Visibility is AuditLog's.
func (d *Desk) ExportAuditLog(ctx context.Context, a Actor, f AuditFilter, format string) ([]AuditEntry, error) {
	var out []AuditEntry
	f.Limit = 1000
	for len(out) < MaxAuditExport {
		page, err := d.AuditLog(ctx, a, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < f.Limit {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	var what []string
	if f.Action != "" {
		what = append(what, "action "+f.Action+"*")
	}
	if f.Target != "" {
		what = append(what, "target "+f.Target)
	}
	if !f.Since.IsZero() {
		what = append(what, "since "+f.Since.Format("2006-01-02T15:04:05Z07:00"))
	}
	if !f.Until.IsZero() {
		what = append(what, "until "+f.Until.Format("2006-01-02T15:04:05Z07:00"))
	}
	detail := fmt.Sprintf("audit log as %s: %d entries", format, len(out))
	if len(what) > 0 {
		detail += " (" + strings.Join(what, ", ") + ")"
	}
	if err := d.Audit(ctx, a, AuditEntry{Action: "export.audit", Target: "audit", Detail: detail}); err != nil {
		return nil, err
	}
	return out, nil
}

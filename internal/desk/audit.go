package desk

import (
	"context"
	"strings"
	"time"
)

// AuditEntry is one security-relevant event: a log-in, a change of people,
// roles or settings, a token, an export, an approval, a redaction. The
// audit log is append-only: the store refuses updates and deletes.
type AuditEntry struct {
	ID      int64
	At      time.Time
	OrgID   int64  // organisation concerned; 0 = installation-wide
	ActorID int64  // 0 = system or not signed in
	Actor   string // who, as shown: "Name <email>", or the login typed for a failed log-in
	Action  string // dotted verb: "login.ok", "login.failed", "user.create", "token.revoke", ...
	Target  string // "user:12", "ticket:2026-000123", "rule:5"
	Detail  string // short and human-readable; never secrets
	Remote  string // client address, if known
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	OrgID   int64
	ActorID int64
	Action  string // prefix: "login." matches every log-in event
	Target  string
	Since   time.Time
	Until   time.Time
	Before  int64 // cursor: only entries with ID < Before
	Limit   int
}

// Audit actions recorded by the desk itself.
const (
	AuditLoginOK     = "login.ok"
	AuditLoginFailed = "login.failed"
	AuditUserCreate  = "user.create"
	AuditUserUpdate  = "user.update"
	AuditTokenCreate = "token.create"
	AuditTokenRevoke = "token.revoke"
)

type remoteKey struct{}

// WithRemote returns a context carrying the client address, which audit
// entries recorded under it pick up when they do not name one.
func WithRemote(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteKey{}, addr)
}

// RemoteFrom returns the client address carried by ctx, if any.
func RemoteFrom(ctx context.Context) string {
	s, _ := ctx.Value(remoteKey{}).(string)
	return s
}

// Audit records e in its own transaction. At comes from the desk clock;
// ActorID, Actor and OrgID are filled from a when left empty.
func (d *Desk) Audit(ctx context.Context, a Actor, e AuditEntry) error {
	return d.store.Update(ctx, func(tx Tx) error { return d.AuditTx(ctx, tx, a, e) })
}

// AuditTx records e inside a transaction the caller holds, so that the
// entry commits with the change it describes.
func (d *Desk) AuditTx(ctx context.Context, tx Tx, a Actor, e AuditEntry) error {
	e.At = d.Now()
	if e.ActorID == 0 {
		e.ActorID = a.UserID
	}
	if e.Actor == "" {
		e.Actor = actorLabel(a)
	}
	if e.OrgID == 0 && !a.System {
		e.OrgID = a.OrgID
	}
	if e.Remote == "" {
		e.Remote = RemoteFrom(ctx)
	}
	e.Actor = clip(cleanLine(e.Actor), 200)
	e.Action = clip(strings.TrimSpace(e.Action), 64)
	e.Target = clip(cleanLine(e.Target), 200)
	e.Detail = clip(strings.TrimSpace(e.Detail), 2000)
	e.Remote = clip(cleanLine(e.Remote), 100)
	if e.Action == "" {
		return Errorf(EInvalid, "audit entry without an action")
	}
	return tx.InsertAudit(ctx, &e)
}

// AuditLog lists audit entries newest first. Installation administrators
// see every entry; organisation administrators those of their organisation.
func (d *Desk) AuditLog(ctx context.Context, a Actor, f AuditFilter) ([]AuditEntry, error) {
	switch {
	case a.System || a.InstallationAdmin:
	case a.Role == RoleAdmin:
		if f.OrgID != 0 && !CanAdminOrg(a, f.OrgID) {
			return nil, Errorf(EForbidden, "you can only read the audit log of your own organisation")
		}
		f.OrgID = a.OrgID
	default:
		return nil, Errorf(EForbidden, "only administrators can read the audit log")
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var out []AuditEntry
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.AuditEntries(ctx, f)
		return err
	})
	return out, err
}

func actorLabel(a Actor) string {
	switch {
	case a.System:
		return a.Name
	case a.Email != "" && a.Name != "" && a.Name != a.Email:
		return a.Name + " <" + a.Email + ">"
	case a.Email != "":
		return a.Email
	}
	return a.Name
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

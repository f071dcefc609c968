package desk

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Membership gives a user access beyond their home organisation (see the
// rules in policy.go). Exactly one of the three kinds:
//   - an organisation (QueueID and ServiceID zero), optionally with its
//     descendants (Subtree): staff work its tickets, requesters read them,
//     administrators administer it;
//   - a queue of the organisation: staff work the tickets in it;
//   - a service of the organisation: approvers decide its approvals.
type Membership struct {
	ID        int64
	UserID    int64
	OrgID     int64
	QueueID   int64
	ServiceID int64
	Subtree   bool
	Created   time.Time
	// Display fields filled by the store.
	OrgCode, QueueCode, ServiceCode string
}

// Kind names the membership's kind: "organisation", "queue" or "service".
func (m Membership) Kind() string {
	switch {
	case m.QueueID != 0:
		return "queue"
	case m.ServiceID != 0:
		return "service"
	}
	return "organisation"
}

// Audit actions of tenancy.
const (
	AuditMembershipAdd    = "membership.add"
	AuditMembershipRemove = "membership.remove"
)

func membershipDetail(m Membership) string {
	s := m.Kind() + " " + m.OrgCode
	switch {
	case m.QueueCode != "":
		s += "/" + m.QueueCode
	case m.ServiceCode != "":
		s += "/" + m.ServiceCode
	case m.Subtree:
		s += " (+descendants)"
	}
	return s
}

// ScopeNames are the identifiers of token scopes, in order.
var ScopeNames = []string{"read", "write", "admin"}

// ParseScopes reads scopes separated by spaces or commas.
func ParseScopes(s string) (TokenScope, error) {
	var out TokenScope
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		i := slices.Index(ScopeNames, strings.ToLower(f))
		if i < 0 {
			return 0, FieldError("scopes", "unknown scope %q (use read, write, admin)", f)
		}
		out |= 1 << i
	}
	if out == 0 {
		return 0, FieldError("scopes", "a token needs at least one scope (read, write, admin)")
	}
	return out, nil
}

// String lists the scopes separated by spaces.
func (s TokenScope) String() string {
	var names []string
	for i, n := range ScopeNames {
		if s&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, " ")
}

// ActorOf returns the actor for a user with their memberships resolved:
// what every surface serving a request should use.
func (d *Desk) ActorOf(ctx context.Context, u User) (Actor, error) {
	var a Actor
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		a, err = actorOf(ctx, tx, u)
		return err
	})
	return a, err
}

// actorOf resolves a user's memberships inside a transaction.
func actorOf(ctx context.Context, tx Tx, u User) (Actor, error) {
	a := ActorFor(u)
	if a.Unrestricted() {
		return a, nil
	}
	ms, err := tx.Memberships(ctx, u.ID)
	if err != nil {
		return Actor{}, err
	}
	var acc Access
	var orgs, subtrees []int64
	for _, m := range ms {
		switch m.Kind() {
		case "queue":
			acc.QueueIDs = append(acc.QueueIDs, m.QueueID)
		case "service":
			acc.ServiceIDs = append(acc.ServiceIDs, m.ServiceID)
		default:
			if m.Subtree {
				subtrees = append(subtrees, m.OrgID)
			} else {
				orgs = append(orgs, m.OrgID)
			}
		}
	}
	if len(subtrees) > 0 {
		below, err := tx.OrgSubtree(ctx, subtrees)
		if err != nil {
			return Actor{}, err
		}
		orgs = union(orgs, below)
	}
	switch {
	case u.Role.Staff() && len(orgs) == 0 && len(acc.QueueIDs) == 0:
		// No organisation or queue named: the home organisation.
		acc.WorkOrgIDs = []int64{u.OrgID}
	default:
		acc.WorkOrgIDs = orgs
	}
	if u.Role == RoleAdmin {
		home, err := tx.OrgSubtree(ctx, []int64{u.OrgID})
		if err != nil {
			return Actor{}, err
		}
		acc.AdminOrgIDs = union(home, orgs)
	}
	a.Access = &acc
	return a, nil
}

// NewMembership is the input to AddMembership.
type NewMembership struct {
	Organisation string // code, required
	Queue        string // queue code of that organisation, optional
	Service      string // service code of that organisation, optional
	Subtree      bool   // with its descendants (organisation memberships only)
}

// userToManage reads the user by e-mail and checks that the actor
// administers the user's organisation. Users the actor may not manage are
// reported as not found.
func (d *Desk) userToManage(ctx context.Context, tx Tx, a Actor, email string) (User, error) {
	u, err := tx.UserByEmail(ctx, NormEmail(email))
	if err != nil || !CanAdminOrg(a, u.OrgID) {
		return User{}, Errorf(ENotFound, "user %s not found", email)
	}
	return u, nil
}

// Memberships lists a user's memberships; only administrators of the
// user's organisation may read them.
func (d *Desk) Memberships(ctx context.Context, a Actor, email string) (User, []Membership, error) {
	if !a.Unrestricted() && a.Role != RoleAdmin {
		return User{}, nil, Errorf(EForbidden, "only administrators manage memberships")
	}
	var u User
	var out []Membership
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		if u, err = d.userToManage(ctx, tx, a, email); err != nil {
			return err
		}
		out, err = tx.Memberships(ctx, u.ID)
		return err
	})
	return u, out, err
}

// AddMembership grants a user access to an organisation, a queue or a
// service. The actor must administer both the user's organisation and the
// one granted, so nobody can hand out access they do not hold.
func (d *Desk) AddMembership(ctx context.Context, a Actor, email string, in NewMembership) (Membership, error) {
	if !a.Unrestricted() && a.Role != RoleAdmin {
		return Membership{}, Errorf(EForbidden, "only administrators manage memberships")
	}
	if in.Queue != "" && in.Service != "" {
		return Membership{}, FieldError("queue", "a membership names a queue or a service, not both")
	}
	if in.Subtree && (in.Queue != "" || in.Service != "") {
		return Membership{}, FieldError("subtree", "only organisation memberships can include descendants")
	}
	m := Membership{Subtree: in.Subtree, Created: d.Now()}
	err := d.store.Update(ctx, func(tx Tx) error {
		u, err := d.userToManage(ctx, tx, a, email)
		if err != nil {
			return err
		}
		o, err := tx.OrgByCode(ctx, in.Organisation)
		if err != nil || !CanAdminOrg(a, o.ID) {
			return FieldError("organisation", "unknown organisation %q", in.Organisation)
		}
		m.UserID, m.OrgID, m.OrgCode = u.ID, o.ID, o.Code
		if in.Queue != "" {
			if !u.Role.Staff() {
				return FieldError("queue", "only staff are assigned to queues")
			}
			q, err := tx.QueueByCode(ctx, o.ID, in.Queue)
			if err != nil {
				return FieldError("queue", "unknown queue %q", in.Queue)
			}
			m.QueueID, m.QueueCode = q.ID, q.Code
		}
		if in.Service != "" {
			if u.Role != RoleApprover {
				return FieldError("service", "only approvers are responsible for services")
			}
			s, err := tx.ServiceByCode(ctx, o.ID, in.Service)
			if err != nil {
				return FieldError("service", "unknown service %q", in.Service)
			}
			m.ServiceID, m.ServiceCode = s.ID, s.Code
		}
		if err := tx.InsertMembership(ctx, &m); err != nil {
			return err
		}
		return d.AuditTx(ctx, tx, a, AuditEntry{OrgID: o.ID, Action: AuditMembershipAdd, Target: userTarget(u.ID),
			Detail: membershipDetail(m)})
	})
	if err == nil {
		d.dropTokens(nil) // cached token actors carry the old access
	}
	return m, err
}

// RemoveMembership takes a membership away.
func (d *Desk) RemoveMembership(ctx context.Context, a Actor, email string, id int64) error {
	if !a.Unrestricted() && a.Role != RoleAdmin {
		return Errorf(EForbidden, "only administrators manage memberships")
	}
	err := d.store.Update(ctx, func(tx Tx) error {
		u, err := d.userToManage(ctx, tx, a, email)
		if err != nil {
			return err
		}
		ms, err := tx.Memberships(ctx, u.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ms, func(m Membership) bool { return m.ID == id })
		if i < 0 || !CanAdminOrg(a, ms[i].OrgID) {
			return Errorf(ENotFound, "membership %d not found", id)
		}
		if err := tx.DeleteMembership(ctx, id); err != nil {
			return err
		}
		return d.AuditTx(ctx, tx, a, AuditEntry{OrgID: ms[i].OrgID, Action: AuditMembershipRemove, Target: userTarget(u.ID),
			Detail: membershipDetail(ms[i])})
	})
	if err == nil {
		d.dropTokens(nil)
	}
	return err
}

// Organisations lists the organisations the actor may see: all for the
// installation administrator, those administered or worked for other
// staff, the home organisation for requesters.
func (d *Desk) Organisations(ctx context.Context, a Actor) ([]Organisation, error) {
	var out []Organisation
	err := d.store.View(ctx, func(tx Tx) error {
		all, err := tx.Orgs(ctx)
		if err != nil {
			return err
		}
		if a.Unrestricted() {
			out = all
			return nil
		}
		allowed := union(union(workScope(a).OrgIDs, AdminOrgIDs(a)), []int64{a.OrgID})
		if !a.Role.Staff() {
			allowed = union(a.access().WorkOrgIDs, []int64{a.OrgID})
		}
		for _, o := range all {
			if slices.Contains(allowed, o.ID) {
				out = append(out, o)
			}
		}
		return nil
	})
	return out, err
}

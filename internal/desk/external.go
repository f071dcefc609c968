package desk

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ExternalIdentity links a person at an external identity provider (LDAP /
// Active Directory, OpenID Connect) to the desk's user.
type ExternalIdentity struct {
	// Source is "ldap" or "oidc:<issuer>"; Subject the entry's DN or the
	// token's "sub" claim. Together they identify the person for good,
	// even when their e-mail changes.
	Source, Subject string
	UserID          int64
	Department      string
	Groups          []string
	First, Last     time.Time
}

// ExternalSignIn is what a provider said about a person who has just
// proved who they are: their attributes and what the configured mapping
// made of their groups or claims.
type ExternalSignIn struct {
	Source, Subject string
	Email, Name     string
	Phone           string
	Department      string
	Groups          []string
	// Role and OrgCode come from the group/claim mapping; an empty Role
	// means the mapping gave none (the person is then refused unless
	// DefaultRole allows them in).
	Role    Role
	OrgCode string
	// InstallationAdmin makes an admin of the whole installation.
	InstallationAdmin bool
	// Remote is the client's address, for the audit log.
	Remote string
}

// SignInExternal provisions or refreshes the user behind an external
// identity and returns them. Name, e-mail, phone and department are
// refreshed from the provider at every sign-in; role and organisation
// follow the mapping, and every change they make is audited. A deactivated
// or redacted account stays refused.
func (d *Desk) SignInExternal(ctx context.Context, in ExternalSignIn) (User, error) {
	u, err := d.signInExternal(ctx, in)
	if ErrorCode(err) == EConflict {
		// The same person's first sign-in raced another (two tabs, two
		// replicas): the account exists now, so the second try links it.
		u, err = d.signInExternal(ctx, in)
	}
	return u, err
}

func (d *Desk) signInExternal(ctx context.Context, in ExternalSignIn) (User, error) {
	email := NormEmail(in.Email)
	if in.Source == "" || in.Subject == "" {
		return User{}, Errorf(EInvalid, "external identity without source or subject")
	}
	if !ValidEmail(email) {
		return User{}, Errorf(EUnauthorized, "the identity provider gave no usable e-mail address for this account")
	}
	if !in.Role.Valid() {
		return User{}, Errorf(EUnauthorized, "no role is mapped to this account's groups: ask the administrator")
	}
	now := d.Now()
	var u User
	var changes []AuditEntry
	err := d.store.Update(ctx, func(tx Tx) error {
		changes = changes[:0]
		org, err := d.orgFor(ctx, tx, SystemActor, in.OrgCode)
		if err != nil {
			return Errorf(EUnauthorized, "the organisation %q mapped to this account does not exist", in.OrgCode)
		}
		link, err := tx.ExternalIdentity(ctx, in.Source, in.Subject)
		switch {
		case err == nil:
			u, err = tx.UserByID(ctx, link.UserID)
		case IsNotFound(err):
			link = ExternalIdentity{Source: in.Source, Subject: in.Subject, First: now}
			u, err = tx.UserByEmail(ctx, email)
			if IsNotFound(err) {
				u, err = User{}, nil
			}
		}
		if err != nil {
			return err
		}
		name := firstNonEmpty(cleanLine(in.Name), email)
		admin := in.InstallationAdmin && in.Role == RoleAdmin
		if u.ID == 0 {
			u = User{OrgID: org.ID, Email: email, Name: name, Phone: cleanLine(in.Phone), Role: in.Role,
				InstallationAdmin: admin, Active: true, Created: now}
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			changes = append(changes, AuditEntry{OrgID: org.ID, Action: "user.create", Target: userTarget(u.ID),
				Detail: fmt.Sprintf("provisioned from %s with role %s in %s", in.Source, u.Role, org.Code)})
		} else {
			if !u.Active || u.Redacted {
				return Errorf(EUnauthorized, "this account is disabled")
			}
			next := u
			next.Email, next.Name = email, name
			if p := cleanLine(in.Phone); p != "" {
				next.Phone = p
			}
			next.Role, next.OrgID, next.InstallationAdmin = in.Role, org.ID, admin
			if next != u {
				if next.Role != u.Role || next.OrgID != u.OrgID || next.InstallationAdmin != u.InstallationAdmin {
					changes = append(changes, AuditEntry{OrgID: org.ID, Action: "user.role", Target: userTarget(u.ID),
						Detail: fmt.Sprintf("%s mapping: role %s→%s, organisation %d→%d, installation admin %t→%t",
							in.Source, u.Role, next.Role, u.OrgID, next.OrgID, u.InstallationAdmin, next.InstallationAdmin)})
				}
				if next.Email != u.Email || next.Name != u.Name || next.Phone != u.Phone {
					changes = append(changes, AuditEntry{OrgID: org.ID, Action: "user.update", Target: userTarget(u.ID),
						Detail: "name, e-mail or phone refreshed from " + in.Source})
				}
				u = next
				if err := tx.UpdateUser(ctx, &u); err != nil {
					return err
				}
			}
		}
		link.UserID, link.Last = u.ID, now
		link.Department = cleanLine(in.Department)
		link.Groups = in.Groups
		if err := tx.SaveExternalIdentity(ctx, &link); err != nil {
			return err
		}
		for _, e := range changes {
			e.Remote = in.Remote
			if err := d.AuditTx(ctx, tx, SystemActor, e); err != nil {
				return err
			}
		}
		return d.AuditTx(ctx, tx, ActorFor(u), AuditEntry{Action: "login.ok", Target: userTarget(u.ID),
			Detail: "signed in through " + in.Source, Remote: in.Remote})
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// ExternalSignInFailed records a refused external sign-in in the audit log
// (the login typed, the provider and why, never a password).
func (d *Desk) ExternalSignInFailed(ctx context.Context, source, login, reason, remote string) {
	_ = d.Audit(ctx, Actor{}, AuditEntry{Actor: cleanLine(login), Action: "login.failed",
		Detail: source + ": " + reason, Remote: remote})
}

// JoinGroups and SplitGroups store a list of group names in one column.
func JoinGroups(gs []string) string { return strings.Join(gs, "\n") }

func SplitGroups(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

package desk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Administration of people, queues and canned answers. Every function
// authorises the actor (installation administrators everything, an
// organisation's administrators their organisation) and records what it
// changed in the audit log, in the same transaction.

// AdminTx is implemented by stores that support the administration pages.
type AdminTx interface {
	// UsersPage lists users of the organisations given (nil: all), by id
	// descending, optionally filtered by text (e-mail or name) and role;
	// inactive users included. Before is a cursor (id < Before).
	UsersPage(ctx context.Context, orgIDs []int64, text string, role Role, before int64, limit int) ([]User, error)
	UpdateQueue(ctx context.Context, q *Queue) error
	CannedAnswers(ctx context.Context, orgID int64) ([]CannedAnswer, error)
	CannedByID(ctx context.Context, id int64) (CannedAnswer, error)
	PutCanned(ctx context.Context, c *CannedAnswer) error
	DeleteCanned(ctx context.Context, id int64) error
}

// CannedAnswer is a ready-made reply agents start from. Body may use
// {nome} (the requester's name), {numero} (the ticket number) and
// {operatore} (the agent), filled in by the ticket page.
type CannedAnswer struct {
	ID      int64
	OrgID   int64
	Code    string
	Title   string
	Body    string
	Updated time.Time
}

func adminTx(tx Tx) (AdminTx, error) {
	at, ok := tx.(AdminTx)
	if !ok {
		return nil, Errorf(EInternal, "the store does not support administration")
	}
	return at, nil
}

// scopeOrg resolves orgCode within what the actor administers: "" is the
// actor's own organisation (the default one for installation administrators
// without one).
func (d *Desk) scopeOrg(ctx context.Context, tx Tx, a Actor, orgCode string) (Organisation, error) {
	if _, err := adminScope(a); err != nil {
		return Organisation{}, err
	}
	var o Organisation
	var err error
	switch {
	case orgCode != "":
		o, err = tx.OrgByCode(ctx, orgCode)
		if err != nil {
			return Organisation{}, FieldError("org", "unknown organisation %q", orgCode)
		}
	case a.OrgID != 0:
		o, err = tx.OrgByID(ctx, a.OrgID)
	default:
		o, err = DefaultOrg(ctx, tx)
	}
	if err != nil {
		return Organisation{}, err
	}
	if !CanAdminOrg(a, o.ID) {
		return Organisation{}, Errorf(EForbidden, "you do not administer organisation %s", o.Code)
	}
	return o, nil
}

// AdminOrgs lists the organisations the actor administers.
func (d *Desk) AdminOrgs(ctx context.Context, a Actor) ([]Organisation, error) {
	scope, err := adminScope(a)
	if err != nil {
		return nil, err
	}
	var out []Organisation
	err = d.store.View(ctx, func(tx Tx) error {
		all, err := tx.Orgs(ctx)
		for _, o := range all {
			if scope == nil || slices.Contains(scope, o.ID) {
				out = append(out, o)
			}
		}
		return err
	})
	return out, err
}

// UserQuery selects users on the administration page.
type UserQuery struct {
	OrgCode string // "" for every organisation the actor administers
	Text    string
	Role    Role
	Before  int64
	Limit   int
}

// ListUsers lists the people an administrator manages, newest first.
func (d *Desk) ListUsers(ctx context.Context, a Actor, q UserQuery) ([]User, error) {
	scope, err := adminScope(a)
	if err != nil {
		return nil, err
	}
	if q.Role != "" && !q.Role.Valid() {
		return nil, FieldError("role", "unknown role %q", q.Role)
	}
	if q.Limit <= 0 || q.Limit > 200 {
		q.Limit = 50
	}
	var out []User
	err = d.store.View(ctx, func(tx Tx) error {
		at, err := adminTx(tx)
		if err != nil {
			return err
		}
		orgs := scope
		if q.OrgCode != "" {
			o, err := d.scopeOrg(ctx, tx, a, q.OrgCode)
			if err != nil {
				return err
			}
			orgs = []int64{o.ID}
		}
		out, err = at.UsersPage(ctx, orgs, strings.TrimSpace(q.Text), q.Role, q.Before, q.Limit)
		return err
	})
	return out, err
}

// UserChanges are what an administrator may change on a user; nil fields
// stay as they are.
type UserChanges struct {
	Name   *string
	Phone  *string
	Role   *Role
	Active *bool
}

// AdminUpdateUser changes a user's name, phone, role or whether the
// account is active. Administrators cannot demote or deactivate
// themselves (the installation would risk losing its last administrator).
func (d *Desk) AdminUpdateUser(ctx context.Context, a Actor, userID int64, c UserChanges) (User, error) {
	if c.Role != nil && !c.Role.Valid() {
		return User{}, FieldError("role", "unknown role %q (use requester, agent, approver or admin)", *c.Role)
	}
	var u User
	err := d.store.Update(ctx, func(tx Tx) error {
		prev, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if _, err := adminScope(a); err != nil {
			return err
		}
		if !CanAdminOrg(a, prev.OrgID) {
			return Errorf(ENotFound, "user not found")
		}
		if prev.InstallationAdmin && !(a.System || a.InstallationAdmin) {
			return Errorf(EForbidden, "only installation administrators change installation administrators")
		}
		u = prev
		var changes []string
		if c.Name != nil {
			name, err := cleanText("name", cleanLine(*c.Name), 300, true)
			if err != nil {
				return err
			}
			if name != u.Name {
				changes = append(changes, fmt.Sprintf("name %q → %q", u.Name, name))
				u.Name = name
			}
		}
		if c.Phone != nil {
			if p := cleanLine(*c.Phone); p != u.Phone {
				changes = append(changes, "phone changed")
				u.Phone = p
			}
		}
		self := a.UserID != 0 && a.UserID == u.ID
		if c.Role != nil && *c.Role != u.Role {
			if self {
				return FieldError("role", "you cannot change your own role")
			}
			changes = append(changes, fmt.Sprintf("role %s → %s", u.Role, *c.Role))
			u.Role = *c.Role
			if u.Role != RoleAdmin {
				u.InstallationAdmin = false
			}
		}
		if c.Active != nil && *c.Active != u.Active {
			if self {
				return FieldError("active", "you cannot deactivate your own account")
			}
			if *c.Active {
				changes = append(changes, "reactivated")
			} else {
				changes = append(changes, "deactivated")
			}
			u.Active = *c.Active
		}
		if len(changes) == 0 {
			return nil
		}
		if err := tx.UpdateUser(ctx, &u); err != nil {
			return err
		}
		action := "user.update"
		if c.Role != nil && prev.Role != u.Role {
			action = "user.role"
		}
		return d.auditAdmin(ctx, tx, a, u.OrgID, action, fmt.Sprintf("user:%d", u.ID), u.Email+": "+strings.Join(changes, "; "))
	})
	if err == nil && c.Active != nil && !*c.Active {
		// Tokens of a deactivated user stop working at once on this replica.
		d.dropTokens(func(_ string, c cachedToken) bool { return c.actor.UserID == userID })
	}
	return u, err
}

// AdminCreateQueue adds a queue to an organisation.
func (d *Desk) AdminCreateQueue(ctx context.Context, a Actor, orgCode, code, name string) (Queue, error) {
	if !ValidCode(code) {
		return Queue{}, FieldError("code", "code must be lower-case letters, digits and dashes")
	}
	name, err := cleanText("name", cleanLine(name), 200, true)
	if err != nil {
		return Queue{}, err
	}
	var q Queue
	err = d.store.Update(ctx, func(tx Tx) error {
		o, err := d.scopeOrg(ctx, tx, a, orgCode)
		if err != nil {
			return err
		}
		if _, err := tx.QueueByCode(ctx, o.ID, code); err == nil {
			return &Error{Code: EConflict, Field: "code", Message: "queue " + code + " already exists"}
		} else if !IsNotFound(err) {
			return err
		}
		q = Queue{OrgID: o.ID, Code: code, Name: name}
		if err := tx.CreateQueue(ctx, &q); err != nil {
			return err
		}
		return d.auditAdmin(ctx, tx, a, o.ID, "queue.create", "queue:"+code, name)
	})
	return q, err
}

// AdminRenameQueue changes a queue's name (codes are referenced by rules
// and catalogue files, so they stay).
func (d *Desk) AdminRenameQueue(ctx context.Context, a Actor, queueID int64, name string) (Queue, error) {
	name, err := cleanText("name", cleanLine(name), 200, true)
	if err != nil {
		return Queue{}, err
	}
	var q Queue
	err = d.store.Update(ctx, func(tx Tx) error {
		at, err := adminTx(tx)
		if err != nil {
			return err
		}
		if q, err = tx.QueueByID(ctx, queueID); err != nil {
			return err
		}
		if _, err := adminScope(a); err != nil {
			return err
		}
		if !CanAdminOrg(a, q.OrgID) {
			return Errorf(ENotFound, "queue not found")
		}
		if q.Name == name {
			return nil
		}
		old := q.Name
		q.Name = name
		if err := at.UpdateQueue(ctx, &q); err != nil {
			return err
		}
		return d.auditAdmin(ctx, tx, a, q.OrgID, "queue.update", "queue:"+q.Code, fmt.Sprintf("name %q → %q", old, name))
	})
	return q, err
}

// AdminQueues lists an organisation's queues with their maintained counts.
func (d *Desk) AdminQueues(ctx context.Context, a Actor, orgCode string) (Organisation, []QueueCount, error) {
	var o Organisation
	var out []QueueCount
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		if o, err = d.scopeOrg(ctx, tx, a, orgCode); err != nil {
			return err
		}
		qs, err := tx.Queues(ctx, o.ID)
		if err != nil {
			return err
		}
		counts, err := tx.CountTickets(ctx, []int64{o.ID})
		if err != nil {
			return err
		}
		for _, q := range qs {
			qc := QueueCount{Queue: q}
			for _, c := range counts {
				if c.QueueID == q.ID && c.Status.Open() {
					qc.Open += c.N
				}
			}
			out = append(out, qc)
		}
		return nil
	})
	return o, out, err
}

// CannedAnswers lists an organisation's canned answers (staff may read
// them; they start replies).
func (d *Desk) CannedAnswers(ctx context.Context, a Actor, orgCode string) ([]CannedAnswer, error) {
	if !a.IsStaff() {
		return nil, Errorf(EForbidden, "only staff use canned answers")
	}
	var out []CannedAnswer
	err := d.store.View(ctx, func(tx Tx) error {
		at, err := adminTx(tx)
		if err != nil {
			return err
		}
		var o Organisation
		switch {
		case orgCode != "":
			if o, err = tx.OrgByCode(ctx, orgCode); err != nil {
				return err
			}
			// Staff working the organisation's tickets use its answers.
			if o.ID != a.OrgID && !CanWorkOrg(a, o.ID) && !CanAdminOrg(a, o.ID) {
				return Errorf(ENotFound, "organisation not found")
			}
		case a.OrgID != 0:
			o, err = tx.OrgByID(ctx, a.OrgID)
		default:
			o, err = DefaultOrg(ctx, tx)
		}
		if err != nil {
			return err
		}
		out, err = at.CannedAnswers(ctx, o.ID)
		return err
	})
	return out, err
}

// SaveCanned adds a canned answer, or replaces the one with the same code.
func (d *Desk) SaveCanned(ctx context.Context, a Actor, orgCode string, c CannedAnswer) (CannedAnswer, error) {
	if !ValidCode(c.Code) {
		return CannedAnswer{}, FieldError("code", "code must be lower-case letters, digits and dashes")
	}
	var err error
	if c.Title, err = cleanText("title", cleanLine(c.Title), 200, true); err != nil {
		return CannedAnswer{}, err
	}
	if c.Body, err = cleanText("body", c.Body, 20_000, true); err != nil {
		return CannedAnswer{}, err
	}
	err = d.store.Update(ctx, func(tx Tx) error {
		at, err := adminTx(tx)
		if err != nil {
			return err
		}
		o, err := d.scopeOrg(ctx, tx, a, orgCode)
		if err != nil {
			return err
		}
		c.OrgID, c.Updated = o.ID, d.Now()
		if err := at.PutCanned(ctx, &c); err != nil {
			return err
		}
		return d.auditAdmin(ctx, tx, a, o.ID, "canned.update", "canned:"+c.Code, c.Title)
	})
	return c, err
}

// DeleteCanned removes a canned answer.
func (d *Desk) DeleteCanned(ctx context.Context, a Actor, id int64) error {
	return d.store.Update(ctx, func(tx Tx) error {
		at, err := adminTx(tx)
		if err != nil {
			return err
		}
		c, err := at.CannedByID(ctx, id)
		if err != nil {
			return err
		}
		if _, err := adminScope(a); err != nil {
			return err
		}
		if !CanAdminOrg(a, c.OrgID) {
			return Errorf(ENotFound, "canned answer not found")
		}
		if err := at.DeleteCanned(ctx, id); err != nil {
			return err
		}
		return d.auditAdmin(ctx, tx, a, c.OrgID, "canned.delete", "canned:"+c.Code, c.Title)
	})
}

package desk

import "slices"

// This file is the ONE place that decides who may see and do what. Web
// pages, the REST API, mail intake and the workflow engine all ask these
// functions; list queries turn TicketScope into SQL conditions on indexed
// columns (org_id, queue_id, requester_id), so no list is filtered row by
// row in Go.
//
// The rules (docs/security.md has the matrix):
//
//   - The installation administrator (an admin created without an
//     organisation, as in the Contract) and the system see and do everything.
//   - Requesters see the tickets they asked for; a membership on an
//     organisation (optionally with its descendants) also lets them read
//     that organisation's tickets. They may reply to, confirm and reopen
//     only their own.
//   - Agents and approvers work the tickets of their home organisation,
//     unless they have memberships: then exactly the organisations (with or
//     without descendants) and queues those name. They also see their own
//     requests.
//   - Approvers decide approval gates of the tickets they may work; service
//     memberships narrow that to those services.
//   - Organisation administrators administer (and work the tickets of)
//     their home organisation and its descendants, plus the organisations
//     of their memberships.
//   - API tokens carry scopes (read, write, admin) that narrow what the
//     token may do below what its user may do; see Actor.Allows.

// Actor is who is acting: a signed-in user, a token holder, or the system
// (mail intake, background jobs). Every domain call takes one.
type Actor struct {
	UserID            int64
	OrgID             int64
	Role              Role
	Name              string
	Email             string
	InstallationAdmin bool
	System            bool
	// Access is what the user's memberships grant, resolved by
	// Desk.ActorOf (and TokenActor). Nil means no memberships were read:
	// the defaults of the home organisation apply.
	Access *Access
	// Scopes narrow an API token; zero (web sessions, the system) means
	// every scope.
	Scopes TokenScope
}

// Access is the resolved reach of a user, as ids of rows (organisations
// with their descendants already expanded).
type Access struct {
	// WorkOrgIDs are the organisations whose tickets the user works
	// (staff) or reads (requesters granted their organisation's tickets).
	WorkOrgIDs []int64
	// QueueIDs are the queues whose tickets the user works (staff).
	QueueIDs []int64
	// ServiceIDs are the services whose approvals the user decides
	// (approvers); empty: every ticket they may work.
	ServiceIDs []int64
	// AdminOrgIDs are the organisations the user administers (admins).
	AdminOrgIDs []int64
}

// SystemActor is used by background work such as mail intake.
var SystemActor = Actor{System: true, Name: "Sportello", Role: RoleAdmin, InstallationAdmin: true}

// ActorFor builds the actor for a user with the defaults of their home
// organisation, without reading memberships. Surfaces serving requests use
// Desk.ActorOf, which reads them.
func ActorFor(u User) Actor {
	return Actor{UserID: u.ID, OrgID: u.OrgID, Role: u.Role, Name: u.Name, Email: u.Email,
		InstallationAdmin: u.InstallationAdmin && u.Role == RoleAdmin}
}

// IsStaff reports whether the actor works tickets.
func (a Actor) IsStaff() bool { return a.System || a.Role.Staff() }

// Unrestricted reports whether the actor sees every organisation.
func (a Actor) Unrestricted() bool { return a.System || a.InstallationAdmin }

// access returns the actor's resolved access, or the home-organisation
// defaults when memberships were not read.
func (a Actor) access() Access {
	if a.Access != nil {
		return *a.Access
	}
	var acc Access
	if a.OrgID != 0 {
		if a.Role.Staff() {
			acc.WorkOrgIDs = []int64{a.OrgID}
		}
		if a.Role == RoleAdmin {
			acc.AdminOrgIDs = []int64{a.OrgID}
		}
	}
	return acc
}

// Scope restricts ticket queries to what an actor may see: a ticket is in
// scope when its organisation is in OrgIDs, or its queue in QueueIDs, or
// its requester is RequesterID. The zero Scope means every ticket (the
// system); None means nothing. TicketScope never leaves OrgIDs nil for a
// restricted actor (it may be empty), so code that reads OrgIDs alone, for
// counts, with nil meaning every organisation, never widens a scope.
type Scope struct {
	OrgIDs      []int64
	QueueIDs    []int64
	RequesterID int64
	None        bool
}

// All reports whether the scope has no restriction.
func (s Scope) All() bool {
	return !s.None && len(s.OrgIDs) == 0 && len(s.QueueIDs) == 0 && s.RequesterID == 0
}

// Contains reports whether a ticket is in the scope.
func (s Scope) Contains(t *Ticket) bool {
	switch {
	case s.None:
		return false
	case s.All():
		return true
	}
	return slices.Contains(s.OrgIDs, t.OrgID) || (t.QueueID != 0 && slices.Contains(s.QueueIDs, t.QueueID)) ||
		(s.RequesterID != 0 && t.RequesterID == s.RequesterID)
}

// TicketScope returns the tickets an actor may see.
func TicketScope(a Actor) Scope {
	if a.Unrestricted() {
		return Scope{}
	}
	if !a.Role.Valid() {
		return Scope{None: true, OrgIDs: []int64{}}
	}
	acc := a.access()
	s := Scope{OrgIDs: append([]int64{}, acc.WorkOrgIDs...), QueueIDs: acc.QueueIDs}
	if a.Role == RoleAdmin {
		s.OrgIDs = union(s.OrgIDs, acc.AdminOrgIDs)
	}
	// Everyone sees their own requests, wherever they asked (staff may
	// ask another organisation for help).
	if a.UserID != 0 {
		s.RequesterID = a.UserID
	}
	if len(s.OrgIDs) == 0 && len(s.QueueIDs) == 0 && s.RequesterID == 0 {
		return Scope{None: true, OrgIDs: []int64{}}
	}
	return s
}

// workScope is the part of the scope in which staff work tickets (their own
// requests elsewhere excluded).
func workScope(a Actor) Scope {
	if a.Unrestricted() {
		return Scope{}
	}
	if !a.Role.Staff() {
		return Scope{None: true, OrgIDs: []int64{}}
	}
	s := TicketScope(a)
	s.RequesterID = 0
	if len(s.OrgIDs) == 0 && len(s.QueueIDs) == 0 {
		return Scope{None: true, OrgIDs: []int64{}}
	}
	return s
}

// CanSeeTicket reports whether the actor may see the ticket at all.
func CanSeeTicket(a Actor, t *Ticket) bool { return TicketScope(a).Contains(t) }

// CanWorkTicket reports whether the actor may change fields, assign,
// add internal notes, see internal notes and make any lifecycle move on
// the ticket: staff whose work scope holds it.
func CanWorkTicket(a Actor, t *Ticket) bool { return a.IsStaff() && workScope(a).Contains(t) }

// CanActAsRequester reports whether the actor may reply to, confirm or
// reopen the ticket as its requester: requesters only on their own
// tickets (a granted view of the organisation's tickets is read-only).
func CanActAsRequester(a Actor, t *Ticket) bool {
	if CanWorkTicket(a, t) {
		return true
	}
	return a.UserID != 0 && t.RequesterID == a.UserID && CanSeeTicket(a, t)
}

// CanSeeInternal reports whether internal notes can be visible to the
// actor at all (staff); on a given ticket, use CanWorkTicket.
func CanSeeInternal(a Actor) bool { return a.IsStaff() }

// CanApprove reports whether the actor may decide an approval gate of the
// ticket: a person (never the system) who is an approver or administrator,
// may work the ticket and, when their memberships name services, is
// responsible for the ticket's service.
func CanApprove(a Actor, t *Ticket) bool {
	if a.System || a.UserID == 0 || !(a.Role == RoleApprover || a.Role == RoleAdmin) || !CanWorkTicket(a, t) {
		return false
	}
	if a.InstallationAdmin || a.Role == RoleAdmin {
		return true
	}
	svcs := a.access().ServiceIDs
	return len(svcs) == 0 || slices.Contains(svcs, t.ServiceID)
}

// CanAdminOrg reports whether the actor administers the organisation.
func CanAdminOrg(a Actor, orgID int64) bool {
	if a.Unrestricted() {
		return true
	}
	return a.Role == RoleAdmin && orgID != 0 && slices.Contains(a.access().AdminOrgIDs, orgID)
}

// AdminOrgIDs returns the organisations the actor administers: nil for
// every organisation, empty for none.
func AdminOrgIDs(a Actor) []int64 {
	if a.Unrestricted() {
		return nil
	}
	if a.Role != RoleAdmin {
		return []int64{}
	}
	return append([]int64{}, a.access().AdminOrgIDs...)
}

// CanWorkOrg reports whether staff may register and work tickets of the
// organisation as a whole (its home organisation, an organisation
// membership, or one it administers).
func CanWorkOrg(a Actor, orgID int64) bool {
	if a.Unrestricted() {
		return true
	}
	if !a.Role.Staff() {
		return false
	}
	return slices.Contains(workScope(a).OrgIDs, orgID)
}

// PeopleOrgIDs returns the organisations whose people staff may look up:
// nil for all; the organisations they work, those of their queues, and
// their home organisation.
func PeopleOrgIDs(a Actor, queueOrgs []int64) []int64 {
	if a.Unrestricted() {
		return nil
	}
	s := workScope(a)
	return union(union(s.OrgIDs, queueOrgs), []int64{a.OrgID})
}

func union(a, b []int64) []int64 {
	out := append([]int64{}, a...)
	for _, id := range b {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// TokenScope is a set of API token scopes.
type TokenScope uint8

const (
	// ScopeRead allows reading (GET routes).
	ScopeRead TokenScope = 1 << iota
	// ScopeWrite allows creating and changing tickets.
	ScopeWrite
	// ScopeAdmin allows administration: people, memberships,
	// organisations, the catalogue.
	ScopeAdmin
)

// AllScopes is every scope.
const AllScopes = ScopeRead | ScopeWrite | ScopeAdmin

// Allows reports whether the actor's token (if any) carries the scope.
func (a Actor) Allows(s TokenScope) bool { return a.Scopes == 0 || a.Scopes&s == s }

package desk

// Actor is who is acting: a signed-in user, a token holder, or the system
// (mail intake, background jobs). Every domain call takes one, and every
// visibility decision is made in this file.
type Actor struct {
	UserID            int64
	OrgID             int64
	Role              Role
	Name              string
	Email             string
	InstallationAdmin bool
	System            bool
}

// SystemActor is used by background work such as mail intake.
var SystemActor = Actor{System: true, Name: "Sportello", Role: RoleAdmin, InstallationAdmin: true}

// ActorFor builds the actor for a user.
func ActorFor(u User) Actor {
	return Actor{UserID: u.ID, OrgID: u.OrgID, Role: u.Role, Name: u.Name, Email: u.Email,
		InstallationAdmin: u.InstallationAdmin && u.Role == RoleAdmin}
}

// IsStaff reports whether the actor works tickets.
func (a Actor) IsStaff() bool { return a.System || a.Role.Staff() }

// Scope restricts ticket queries to what an actor may see. Zero values mean
// "no restriction" on that dimension.
type Scope struct {
	OrgIDs      []int64 // nil: every organisation
	RequesterID int64   // non-zero: only this requester's tickets
	None        bool    // the actor may see nothing
}

// TicketScope returns the ticket visibility of an actor.
func TicketScope(a Actor) Scope {
	switch {
	case a.System || a.InstallationAdmin:
		return Scope{}
	case a.Role.Staff():
		return Scope{OrgIDs: []int64{a.OrgID}}
	case a.Role == RoleRequester && a.UserID != 0:
		return Scope{RequesterID: a.UserID}
	}
	return Scope{None: true}
}

// CanSeeTicket reports whether the actor may see the ticket at all.
func CanSeeTicket(a Actor, t *Ticket) bool {
	s := TicketScope(a)
	if s.None {
		return false
	}
	if s.RequesterID != 0 && t.RequesterID != s.RequesterID {
		return false
	}
	if s.OrgIDs != nil {
		for _, id := range s.OrgIDs {
			if id == t.OrgID {
				return true
			}
		}
		return false
	}
	return true
}

// CanWorkTicket reports whether the actor may change fields, assign,
// add internal notes and make any lifecycle move on the ticket.
func CanWorkTicket(a Actor, t *Ticket) bool { return a.IsStaff() && CanSeeTicket(a, t) }

// CanSeeInternal reports whether internal notes are visible to the actor.
func CanSeeInternal(a Actor) bool { return a.IsStaff() }

// CanAdminOrg reports whether the actor administers the organisation.
func CanAdminOrg(a Actor, orgID int64) bool {
	return a.System || a.InstallationAdmin || (a.Role == RoleAdmin && a.OrgID == orgID)
}

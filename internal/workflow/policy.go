package workflow

import "github.com/sportello/sportello/internal/desk"

// The workflow's own access rules, in one place. Everything else (who may
// see or work a ticket, who administers an organisation) is desk policy.

// CanDecide reports whether the actor may approve or reject an approval
// gate of the ticket: an approver or administrator who may work the ticket
// (so, of its organisation, or of the whole installation). A decision is
// a person's: the system actor never decides.
func CanDecide(a desk.Actor, t *desk.Ticket) bool { return desk.CanApprove(a, t) }

// CanReadCatalogue reports whether the actor may read an organisation's
// whole catalogue, internal fields and history included: its staff, and
// administrators of the installation.
func CanReadCatalogue(a desk.Actor, orgID int64) bool {
	return desk.CanWorkOrg(a, orgID) || desk.CanAdminOrg(a, orgID) || (a.Role.Staff() && a.OrgID == orgID)
}

// CanConfirm reports whether the actor may confirm or reopen a resolved
// ticket on the requester's behalf: its requester, or staff who may work
// it (after hearing the requester, e.g. by phone).
func CanConfirm(a desk.Actor, t *desk.Ticket) bool { return desk.CanActAsRequester(a, t) }

// forRequester removes from a ticket's progress what only staff may see:
// the supplier's contact, the notes and the resolution of supplier calls,
// and notes on phases.
func forRequester(p *Progress) {
	for i := range p.SupplierCalls {
		c := &p.SupplierCalls[i]
		c.Contact, c.Notes, c.Resolution = "", "", ""
	}
	for i := range p.Phases {
		p.Phases[i].Note = ""
	}
}

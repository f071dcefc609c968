package workflow

import (
	"context"
	"fmt"

	"github.com/sportello/sportello/internal/desk"
)

// gateLister is implemented by the store's transactions.
type gateLister interface {
	PendingGates(ctx context.Context, orgIDs []int64, limit int) ([]desk.Ticket, error)
}

// PendingApprovals returns the tickets waiting for an approver's decision
// (their current phase is an approval gate not yet approved), oldest gate
// first: the approvers' "waiting for my approval" list. Only approvers and
// administrators have one; they see their organisation's (an installation
// administrator, every organisation's). Others get EForbidden.
func (e *Engine) PendingApprovals(ctx context.Context, a desk.Actor, limit int) ([]desk.Ticket, error) {
	if a.System || a.UserID == 0 || (a.Role != desk.RoleApprover && a.Role != desk.RoleAdmin) {
		return nil, desk.Errorf(desk.EForbidden, "only approvers and administrators decide on approval gates")
	}
	sc := desk.TicketScope(a)
	var out []desk.Ticket
	err := e.store.View(ctx, func(tx desk.Tx) error {
		gl, ok := tx.(gateLister)
		if !ok {
			return fmt.Errorf("workflow: the store cannot list pending approval gates")
		}
		var err error
		out, err = gl.PendingGates(ctx, sc.OrgIDs, limit)
		return err
	})
	return out, err
}

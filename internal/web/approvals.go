package web

import (
	"net/http"

	"github.com/sportello/sportello/internal/desk"
)

// approvalsLimit bounds the approvers' list.
const approvalsLimit = 100

type approvalsView struct {
	Page
	Tickets []desk.Ticket
	More    bool
	Limit   int
}

// approvals is the approver's "waiting for my approval" list: tickets whose
// current phase is an approval gate not yet approved. Agents get 403 (the
// workflow's rule).
func (w *Web) approvals(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.workflow == nil {
		return desk.Errorf(desk.ENotFound, "no workflow")
	}
	ts, err := w.workflow.PendingApprovals(r.Context(), c.Actor, approvalsLimit+1)
	if err != nil {
		return err
	}
	p := w.newPage(r, c, "approvals")
	p.Title = p.T("approvals.title")
	v := &approvalsView{Page: p, Tickets: ts, Limit: approvalsLimit}
	if len(ts) > approvalsLimit {
		v.Tickets, v.More = ts[:approvalsLimit], true
	}
	w.render(rw, r, http.StatusOK, "approvals", v)
	return nil
}

package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/workflow"
)

// Workflow is what the pages need of a service's phases, approval gates,
// supplier calls and the verification with the requester (scenarios 7
// and 8). *workflow.Engine implements it. Without one (Opts.Workflow nil)
// the pages show no phases, and resolving, confirming and reopening are
// the desk's plain transitions.
type Workflow interface {
	Progress(ctx context.Context, a desk.Actor, number string) (workflow.Progress, error)
	StartPhases(ctx context.Context, a desk.Actor, number string) (workflow.Progress, error)
	CompletePhase(ctx context.Context, a desk.Actor, number, code, note string) (workflow.Progress, error)
	SkipPhase(ctx context.Context, a desk.Actor, number, code, reason string) (workflow.Progress, error)
	Approve(ctx context.Context, a desk.Actor, number, reason string) (workflow.Progress, error)
	Reject(ctx context.Context, a desk.Actor, number, reason string) (workflow.Progress, error)
	CallSupplier(ctx context.Context, a desk.Actor, number string, in workflow.SupplierCall) (workflow.SupplierCall, error)
	SupplierResolved(ctx context.Context, a desk.Actor, number string, callID int64, resolution string) (workflow.SupplierCall, error)
	RequestVerification(ctx context.Context, a desk.Actor, number string, in workflow.Verification) (workflow.Progress, error)
	ConfirmResolution(ctx context.Context, a desk.Actor, number string) (workflow.Progress, error)
	ReopenResolution(ctx context.Context, a desk.Actor, number, reason string) (workflow.Progress, error)
	// ServiceFields returns the own fields of the actor's services by code.
	ServiceFields(ctx context.Context, a desk.Actor) (map[string][]catalog.FormField, error)
	// PendingApprovals lists the tickets waiting for an approver's decision.
	PendingApprovals(ctx context.Context, a desk.Actor, limit int) ([]desk.Ticket, error)
}

var _ Workflow = (*workflow.Engine)(nil)

// phasesView is the phases panel of a ticket page.
type phasesView struct {
	Started bool
	Phases  []workflow.TicketPhase
	// Current is the current phase, if any; Gate is set when it is an
	// approval gate, Approved when an approver accepted it.
	Current   *workflow.TicketPhase
	Gate      bool
	Approved  bool
	CanDecide bool
	Approvals []workflow.Approval
	Calls     []workflow.SupplierCall
	OpenCalls []workflow.SupplierCall
	names     map[string]string
}

// Has reports whether there is anything to show.
func (v *phasesView) Has() bool { return v != nil && (len(v.Phases) > 0 || len(v.Calls) > 0) }

// Name returns a phase's name from its code.
func (v *phasesView) Name(code string) string {
	if v != nil && v.names[code] != "" {
		return v.names[code]
	}
	return code
}

// IsVerification reports whether a phase is the verification with the requester.
func (v *phasesView) IsVerification(p workflow.TicketPhase) bool {
	return p.Kind == catalog.PhaseVerification
}

// loadPhases reads a ticket's progress for its page; nil without a workflow.
func (w *Web) loadPhases(ctx context.Context, a desk.Actor, t *desk.Ticket) (*phasesView, error) {
	if w.workflow == nil {
		return nil, nil
	}
	p, err := w.workflow.Progress(ctx, a, t.Number)
	if err != nil {
		return nil, err
	}
	v := &phasesView{Started: p.Started, Phases: p.Phases, Approvals: p.Approvals, Calls: p.SupplierCalls,
		CanDecide: workflow.CanDecide(a, t), names: map[string]string{}}
	for _, ph := range p.Phases {
		v.names[ph.Code] = ph.Name
	}
	if cur, ok := p.Current(); ok && p.Started {
		v.Current = &cur
		v.Gate = cur.RequiresApproval
		for _, ap := range p.Approvals {
			if ap.Phase == cur.Code {
				v.Approved = ap.Decision == workflow.Approve
			}
		}
	}
	for _, c := range p.SupplierCalls {
		if c.Open() {
			v.OpenCalls = append(v.OpenCalls, c)
		}
	}
	return v, nil
}

// phaseAction runs one workflow step from the ticket page.
func (w *Web) phaseAction(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.workflow == nil {
		return desk.Errorf(desk.ENotFound, "no workflow")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	ctx := r.Context()
	form := map[string]string{}
	for k := range f {
		form[k] = f.Get(k)
	}
	action := r.PathValue("action")
	return w.ticketAction(rw, r, c, "phases", form, func(number string) (string, error) {
		var err error
		switch action {
		case "avvia":
			_, err = w.workflow.StartPhases(ctx, c.Actor, number)
			return "phase.started", err
		case "completa":
			_, err = w.workflow.CompletePhase(ctx, c.Actor, number, f.Get("code"), f.Get("note"))
			return "phase.completed", err
		case "salta":
			_, err = w.workflow.SkipPhase(ctx, c.Actor, number, f.Get("code"), f.Get("skip_reason"))
			return "phase.skipped", err
		case "approva":
			_, err = w.workflow.Approve(ctx, c.Actor, number, f.Get("decision_reason"))
			return "phase.approved", err
		case "respingi":
			_, err = w.workflow.Reject(ctx, c.Actor, number, f.Get("decision_reason"))
			return "phase.rejected", err
		case "fornitore":
			_, err = w.workflow.CallSupplier(ctx, c.Actor, number, workflow.SupplierCall{Supplier: f.Get("supplier"),
				Contact: f.Get("contact"), Reference: f.Get("reference"), Notes: f.Get("notes")})
			return "phase.supplier_called", err
		case "fornitore-risolto":
			id, _ := strconv.ParseInt(f.Get("call"), 10, 64)
			_, err = w.workflow.SupplierResolved(ctx, c.Actor, number, id, f.Get("resolution"))
			return "phase.supplier_resolved", err
		}
		return "", desk.Errorf(desk.ENotFound, "unknown step %q", action)
	})
}

// resolve resolves a ticket: through the workflow's verification when
// there is one (it moves the phases and asks the requester to confirm),
// else with the desk's plain transition.
func (w *Web) resolve(ctx context.Context, a desk.Actor, number string, cause desk.Cause, note string) error {
	if w.workflow != nil {
		_, err := w.workflow.RequestVerification(ctx, a, number, workflow.Verification{Cause: cause, Note: note})
		return err
	}
	_, err := w.desk.Transition(ctx, a, number, desk.TransitionInput{To: desk.StatusResolved, Cause: cause, Reason: note})
	return err
}

// confirm and reopen answer a resolution for the requester.
func (w *Web) confirm(ctx context.Context, a desk.Actor, number string) error {
	if w.workflow != nil {
		_, err := w.workflow.ConfirmResolution(ctx, a, number)
		return err
	}
	_, err := w.desk.Transition(ctx, a, number, desk.TransitionInput{To: desk.StatusClosed})
	return err
}

func (w *Web) reopen(ctx context.Context, a desk.Actor, number, reason string) error {
	if w.workflow != nil {
		_, err := w.workflow.ReopenResolution(ctx, a, number, reason)
		return err
	}
	_, err := w.desk.Transition(ctx, a, number, desk.TransitionInput{To: desk.StatusOpen, Reason: reason})
	return err
}

// phaseEventText renders the workflow's history events; ok is false for
// other fields.
func phaseEventText(p *Page, ph *phasesView, e desk.Event) (string, bool) {
	name := func(code string) string {
		if code == "" {
			return p.T("value.none")
		}
		return ph.Name(code)
	}
	switch e.Field {
	case workflow.EventPhase:
		switch {
		case e.New == "":
			return p.T("event.phase_end", name(e.Old)), true
		case e.Old == "":
			return p.T("event.phase_start", name(e.New)), true
		}
		return p.T("event.phase", name(e.Old), name(e.New)), true
	case workflow.EventPhaseSkipped:
		return p.T("event.phase_skipped", name(e.New)), true
	case workflow.EventApproval:
		return p.T("event.approval."+e.New, name(e.Old)), true
	case workflow.EventSupplierCall:
		return p.T("event.supplier_call", e.New), true
	case workflow.EventSupplierResolved:
		return p.T("event.supplier_resolved", e.New), true
	case workflow.EventVerification:
		return p.T("event.verification." + strings.TrimSpace(e.New)), true
	}
	return "", false
}

package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
)

// PhaseState is where a ticket stands in one phase of its service.
type PhaseState string

// The phase states. A ticket has at most one current phase: the first that
// is neither done nor skipped. It is active, or rejected when an approver
// refused its gate.
const (
	PhasePending  PhaseState = "pending"
	PhaseActive   PhaseState = "active"
	PhaseDone     PhaseState = "done"
	PhaseSkipped  PhaseState = "skipped"
	PhaseRejected PhaseState = "rejected"
)

// Label returns the Italian label of the state.
func (s PhaseState) Label() string {
	switch s {
	case PhasePending:
		return "Da avviare"
	case PhaseActive:
		return "In corso"
	case PhaseDone:
		return "Completata"
	case PhaseSkipped:
		return "Non necessaria"
	case PhaseRejected:
		return "Respinta"
	}
	return string(s)
}

func (s PhaseState) passed() bool { return s == PhaseDone || s == PhaseSkipped }

// TicketPhase is one phase of a ticket, copied from its service when the
// phases start.
type TicketPhase struct {
	TicketID int64
	Seq      int // from 1, in order
	Code     string
	Name     string
	Kind     catalog.PhaseKind
	// RequiresApproval marks an approval gate (catalog.Phase.NeedsApproval).
	RequiresApproval bool
	// Supplier marks a phase with the external supplier
	// (catalog.Phase.InvolvesSupplier).
	Supplier   bool
	State      PhaseState
	Started    time.Time
	Done       time.Time // when it was done, skipped or rejected
	DoneByID   int64
	DoneByName string
	Note       string
}

// Decision is an approver's decision on a gate.
type Decision string

// The decisions.
const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
)

// Approval is one recorded decision: who decided what on which phase, when
// and why. Approvals are never changed; a later decision supersedes.
type Approval struct {
	ID            int64
	TicketID      int64
	Phase         string // phase code
	Decision      Decision
	Reason        string
	ApproverID    int64
	ApproverName  string
	ApproverEmail string
	At            time.Time
}

// SupplierCall is a call to an external supplier. CallSupplier takes
// Supplier, Contact, Reference and Notes; the rest is recorded.
type SupplierCall struct {
	ID       int64
	TicketID int64
	// Phase is the code of the phase the call belongs to ("" when the
	// ticket has no phases).
	Phase     string
	Supplier  string // the supplier's name (required)
	Contact   string // who was called or how (phone, e-mail, portal)
	Reference string // the supplier's reference, e.g. their ticket number
	Notes     string
	Called    time.Time
	// Resolved is zero while the supplier has not solved it.
	Resolved      time.Time
	Resolution    string
	CreatedByID   int64
	CreatedByName string
	ResolvedByID  int64
}

// Open reports whether the supplier has not yet solved it.
func (c SupplierCall) Open() bool { return c.Resolved.IsZero() }

// String describes the call for the history: "Supplier — rif. REF".
func (c SupplierCall) String() string {
	if c.Reference == "" {
		return c.Supplier
	}
	return c.Supplier + " — rif. " + c.Reference
}

// Progress is where a ticket stands in its service's phases, with the
// decisions and supplier calls recorded on it.
type Progress struct {
	Number  string
	Service string // service code ("" if none)
	// Started is false while the phases have not started; Phases then
	// lists the service's phases, all pending.
	Started       bool
	Phases        []TicketPhase
	Approvals     []Approval
	SupplierCalls []SupplierCall
}

// Current returns the current phase: the first neither done nor skipped.
func (p *Progress) Current() (TicketPhase, bool) {
	for _, ph := range p.Phases {
		if !ph.State.passed() {
			return ph, true
		}
	}
	return TicketPhase{}, false
}

// Complete reports whether the ticket has phases and has passed them all.
func (p *Progress) Complete() bool {
	_, cur := p.Current()
	return p.Started && len(p.Phases) > 0 && !cur
}

// History fields of the events the workflow writes (desk.Event.Field).
const (
	// EventPhase: the current phase changed; Old and New are phase codes
	// ("" before the first and after the last).
	EventPhase = "phase"
	// EventPhaseSkipped: New is the code of a phase passed as not needed.
	EventPhaseSkipped = "phase_skipped"
	// EventApproval: Old is the phase code, New "approved" or "rejected".
	EventApproval = "approval"
	// EventSupplierCall: New is "Supplier — rif. REF".
	EventSupplierCall = "supplier_call"
	// EventSupplierResolved: New is "Supplier — rif. REF".
	EventSupplierResolved = "supplier_resolved"
	// EventVerification: New is "requested", "confirmed", "reopened" or
	// "silent" (closed automatically after a silence).
	EventVerification = "verification"
	// EventReason carries the free text of a step (the desk's field too).
	EventReason = "reason"
)

// Limits of user input.
const (
	maxLine = 300
	maxText = 10_000
)

// clean trims text and checks its length; one-line fields get their
// whitespace collapsed.
func clean(field, s string, max int, oneLine, required bool) (string, error) {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if oneLine {
		s = strings.Join(strings.Fields(s), " ")
	}
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", desk.FieldError(field, "%s is required", field)
	}
	if utf8.RuneCountInString(s) > max {
		return "", desk.FieldError(field, "%s is longer than %d characters", field, max)
	}
	return s, nil
}

// work is one workflow step on one ticket, inside one transaction.
type work struct {
	e         *Engine
	ctx       context.Context
	tx        Tx
	d         *desk.Desk // the desk bound to tx
	a         desk.Actor
	t         desk.Ticket
	now       time.Time
	phases    []TicketPhase
	approvals []Approval
	dirty     map[int]bool
	evs       []desk.Event
	touch     bool // events written since the desk last updated the ticket
}

// ticketFor returns a ticket the actor may see; others are ENotFound, so
// that their existence does not leak.
func ticketFor(ctx context.Context, tx desk.Tx, a desk.Actor, number string) (desk.Ticket, error) {
	if !desk.ValidNumber(number) {
		return desk.Ticket{}, desk.Errorf(desk.ENotFound, "ticket %s not found", number)
	}
	t, err := tx.TicketByNumber(ctx, number)
	if err != nil {
		return desk.Ticket{}, err
	}
	if !desk.CanSeeTicket(a, &t) {
		return desk.Ticket{}, desk.Errorf(desk.ENotFound, "ticket %s not found", number)
	}
	return t, nil
}

// step runs fn as one step on the ticket, in one transaction, and returns
// the ticket's progress afterwards. With start, phases that have not
// started yet start first.
func (e *Engine) step(ctx context.Context, a desk.Actor, number string, start bool, fn func(w *work) error) (Progress, error) {
	var p Progress
	err := e.update(ctx, func(tx Tx, d *desk.Desk) error {
		t, err := ticketFor(ctx, tx, a, number)
		if err != nil {
			return err
		}
		w := &work{e: e, ctx: ctx, tx: tx, d: d, a: a, t: t, now: e.now(), dirty: map[int]bool{}}
		if w.phases, err = tx.TicketPhases(ctx, t.ID); err != nil {
			return err
		}
		if w.approvals, err = tx.Approvals(ctx, t.ID); err != nil {
			return err
		}
		if start && len(w.phases) == 0 && !t.Status.Final() && t.MergedInto == 0 {
			if err := w.start(); err != nil {
				return err
			}
		}
		if err := fn(w); err != nil {
			return err
		}
		if err := w.flush(); err != nil {
			return err
		}
		if w.touch {
			if err := w.touchTicket(); err != nil {
				return err
			}
		}
		p, err = w.progress()
		return err
	})
	return p, err
}

// start copies the service's phases onto the ticket. The registration of
// the ticket is its receipt: a leading receipt phase is done at once, as
// of the ticket's creation.
func (w *work) start() error {
	if w.t.ServiceID == 0 {
		return nil
	}
	r, err := w.tx.ServiceRecord(w.ctx, w.t.ServiceID)
	if err != nil {
		return err
	}
	if r.Version == 0 || len(r.Data.Phases) == 0 {
		return nil
	}
	for i, ph := range r.Data.Phases {
		w.phases = append(w.phases, TicketPhase{TicketID: w.t.ID, Seq: i + 1, Code: ph.Code, Name: ph.Name, Kind: ph.Kind,
			RequiresApproval: ph.NeedsApproval(), Supplier: ph.InvolvesSupplier(), State: PhasePending})
	}
	first := &w.phases[0]
	first.State, first.Started = PhaseActive, w.now
	w.event(EventPhase, "", first.Code)
	if first.Kind == catalog.PhaseReceipt {
		first.Started = w.t.Created
		w.finishAs(0, PhaseDone, "", 0)
		w.phases[0].Done = w.t.Created
	}
	if err := w.tx.InsertTicketPhases(w.ctx, w.phases); err != nil {
		return err
	}
	w.dirty = map[int]bool{}
	return nil
}

func (w *work) event(field, old, new string) {
	w.evs = append(w.evs, desk.Event{Field: field, Old: old, New: new})
}

// current returns the index of the current phase, -1 if none.
func (w *work) current() int {
	for i, p := range w.phases {
		if !p.State.passed() {
			return i
		}
	}
	return -1
}

func (w *work) code(i int) string {
	if i < 0 || i >= len(w.phases) {
		return ""
	}
	return w.phases[i].Code
}

// approved reports whether the last decision on the phase approves it.
func (w *work) approved(i int) bool {
	code := w.phases[i].Code
	for j := len(w.approvals) - 1; j >= 0; j-- {
		if w.approvals[j].Phase == code {
			return w.approvals[j].Decision == Approve
		}
	}
	return false
}

// gatesUpTo checks that every approval gate among phases 0..last is
// approved: the rule that no phase is passed, and no work done, before the
// approver's decision.
func (w *work) gatesUpTo(last int) error {
	for k := 0; k <= last && k < len(w.phases); k++ {
		p := w.phases[k]
		if p.State == PhaseRejected {
			return desk.Errorf(desk.EConflict, "the phase %q of ticket %s was rejected by the approver", p.Name, w.t.Number)
		}
		if p.RequiresApproval && !p.State.passed() && !w.approved(k) {
			return desk.Errorf(desk.EConflict, "the phase %q of ticket %s needs an approver's decision first: it cannot be passed before it is approved", p.Name, w.t.Number)
		}
	}
	return nil
}

// finish ends phase i (done or skipped) by the actor and makes the next
// one current.
func (w *work) finish(i int, state PhaseState, note string) {
	w.finishAs(i, state, note, w.a.UserID)
}

func (w *work) finishAs(i int, state PhaseState, note string, by int64) {
	p := &w.phases[i]
	p.State, p.Done, p.DoneByID = state, w.now, by
	if note != "" {
		p.Note = note
	}
	w.dirty[i] = true
	if state == PhaseSkipped {
		w.event(EventPhaseSkipped, "", p.Code)
	}
	if i+1 < len(w.phases) {
		n := &w.phases[i+1]
		n.State, n.Started = PhaseActive, w.now
		w.dirty[i+1] = true
	}
	w.event(EventPhase, p.Code, w.code(i+1))
}

// advanceTo makes phase target current (len(phases): past the last),
// finishing the current phase as done and skipping those in between. The
// gates up to the target must be approved.
func (w *work) advanceTo(target int) error {
	cur := w.current()
	if cur < 0 || target <= cur {
		return nil
	}
	if err := w.gatesUpTo(target - 1); err != nil {
		return err
	}
	w.finish(cur, PhaseDone, "")
	for k := cur + 1; k < target; k++ {
		w.finish(k, PhaseSkipped, "")
	}
	return nil
}

// next returns the index of the first phase from i on that matches, -1 if
// none.
func (w *work) next(i int, match func(TicketPhase) bool) int {
	for k := max(i, 0); k < len(w.phases); k++ {
		if match(w.phases[k]) {
			return k
		}
	}
	return -1
}

// flush writes the changed phases and the pending events.
func (w *work) flush() error {
	for i := range w.phases {
		if w.dirty[i] {
			if err := w.tx.UpdateTicketPhase(w.ctx, &w.phases[i]); err != nil {
				return err
			}
		}
	}
	w.dirty = map[int]bool{}
	if len(w.evs) == 0 {
		return nil
	}
	for i := range w.evs {
		ev := &w.evs[i]
		ev.TicketID, ev.ActorID, ev.At = w.t.ID, w.a.UserID, w.now
		ev.ActorName = firstNonEmpty(w.a.Name, w.a.Email, "Sportello")
	}
	if err := w.tx.InsertEvents(w.ctx, w.evs); err != nil {
		return err
	}
	w.evs = nil
	w.touch = true
	return nil
}

// transition changes the ticket's status through the desk (its rules, its
// history entries), after writing what the step recorded so far.
func (w *work) transition(in desk.TransitionInput) error {
	if err := w.flush(); err != nil {
		return err
	}
	t, err := w.d.Transition(w.ctx, w.a, w.t.Number, in)
	if err != nil {
		return err
	}
	w.t, w.touch = t, false
	return nil
}

// openIfNew moves a new ticket to open: staff have started working it.
func (w *work) openIfNew() error {
	if w.t.Status != desk.StatusNew {
		return nil
	}
	return w.transition(desk.TransitionInput{To: desk.StatusOpen})
}

// touchTicket records that the ticket changed (updated_at) and notifies.
func (w *work) touchTicket() error {
	prev, err := w.tx.TicketByID(w.ctx, w.t.ID)
	if err != nil {
		return err
	}
	next := prev
	next.Updated = w.now
	if err := w.tx.UpdateTicket(w.ctx, &prev, &next); err != nil {
		return err
	}
	w.t = next
	w.e.changed(w.tx, w.t.ID)
	return nil
}

// workable checks that the actor may work the ticket and that it is
// still open to work.
func (w *work) workable() error {
	if !desk.CanWorkTicket(w.a, &w.t) {
		return desk.Errorf(desk.EForbidden, "only staff can work ticket %s", w.t.Number)
	}
	return w.notFinal()
}

func (w *work) notFinal() error {
	if w.t.MergedInto != 0 {
		return desk.Errorf(desk.EConflict, "ticket %s was merged into another ticket", w.t.Number)
	}
	if w.t.Status.Final() {
		return desk.Errorf(desk.EConflict, "ticket %s is %s", w.t.Number, w.t.Status)
	}
	return nil
}

// needCurrent returns the current phase, or EConflict when there is none.
func (w *work) needCurrent() (int, error) {
	if len(w.phases) == 0 {
		return -1, desk.Errorf(desk.EConflict, "ticket %s has no phases (its service defines none)", w.t.Number)
	}
	cur := w.current()
	if cur < 0 {
		return -1, desk.Errorf(desk.EConflict, "every phase of ticket %s is complete", w.t.Number)
	}
	return cur, nil
}

func (w *work) progress() (Progress, error) {
	p := Progress{Number: w.t.Number, Service: w.t.ServiceCode, Started: len(w.phases) > 0, Phases: w.phases, Approvals: w.approvals}
	var err error
	if p.SupplierCalls, err = w.tx.SupplierCalls(w.ctx, w.t.ID); err != nil {
		return Progress{}, err
	}
	// Re-read what the store names (who did what).
	if p.Started {
		if p.Phases, err = w.tx.TicketPhases(w.ctx, w.t.ID); err != nil {
			return Progress{}, err
		}
	}
	if p.Approvals, err = w.tx.Approvals(w.ctx, w.t.ID); err != nil {
		return Progress{}, err
	}
	if !desk.CanWorkTicket(w.a, &w.t) {
		forRequester(&p)
	}
	return p, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// The steps

// Progress returns where the ticket stands in its phases. Before the
// phases start it lists the service's phases as pending. Requesters see
// their own tickets' progress without the supplier's contact and notes.
func (e *Engine) Progress(ctx context.Context, a desk.Actor, number string) (Progress, error) {
	var p Progress
	err := e.view(ctx, func(tx Tx) error {
		t, err := ticketFor(ctx, tx, a, number)
		if err != nil {
			return err
		}
		w := &work{e: e, ctx: ctx, tx: tx, a: a, t: t}
		if w.phases, err = tx.TicketPhases(ctx, t.ID); err != nil {
			return err
		}
		if p, err = w.progress(); err != nil {
			return err
		}
		if !p.Started && t.ServiceID != 0 {
			r, err := tx.ServiceRecord(ctx, t.ServiceID)
			if err != nil {
				return err
			}
			for i, ph := range r.Data.Phases {
				p.Phases = append(p.Phases, TicketPhase{TicketID: t.ID, Seq: i + 1, Code: ph.Code, Name: ph.Name, Kind: ph.Kind,
					RequiresApproval: ph.NeedsApproval(), Supplier: ph.InvolvesSupplier(), State: PhasePending})
			}
		}
		return nil
	})
	return p, err
}

// StartPhases starts the phases of the ticket's service on the ticket, if
// it has a service with phases and they have not started: call it when a
// ticket is created or given a service. It is idempotent, and anyone who
// may see the ticket may call it. Every other step starts the phases too
// when needed.
func (e *Engine) StartPhases(ctx context.Context, a desk.Actor, number string) (Progress, error) {
	return e.step(ctx, a, number, true, func(*work) error { return nil })
}

// CompletePhase marks the current phase done and makes the next current.
// code, when not empty, must be the current phase's (so that a stale form
// cannot complete the wrong phase). An approval gate cannot be completed
// before an approver approved it; a supplier phase not while a call is
// open. Staff only.
func (e *Engine) CompletePhase(ctx context.Context, a desk.Actor, number, code, note string) (Progress, error) {
	note, err := clean("note", note, maxText, false, false)
	if err != nil {
		return Progress{}, err
	}
	return e.step(ctx, a, number, true, func(w *work) error {
		if err := w.workable(); err != nil {
			return err
		}
		cur, err := w.needCurrent()
		if err != nil {
			return err
		}
		if err := w.isCurrent(cur, code); err != nil {
			return err
		}
		if err := w.gatesUpTo(cur); err != nil {
			return err
		}
		if w.phases[cur].Supplier {
			if c, open, err := w.openCall(); err != nil {
				return err
			} else if open {
				return desk.Errorf(desk.EConflict, "the supplier call to %s is still open: record its resolution first", c)
			}
		}
		w.finish(cur, PhaseDone, note)
		return w.openIfNew()
	})
}

// SkipPhase passes the current phase as not needed (for example the
// supplier phase when the intervention solved the problem). Approval gates
// cannot be skipped. Staff only.
func (e *Engine) SkipPhase(ctx context.Context, a desk.Actor, number, code, reason string) (Progress, error) {
	reason, err := clean("reason", reason, maxText, false, false)
	if err != nil {
		return Progress{}, err
	}
	return e.step(ctx, a, number, true, func(w *work) error {
		if err := w.workable(); err != nil {
			return err
		}
		cur, err := w.needCurrent()
		if err != nil {
			return err
		}
		if err := w.isCurrent(cur, code); err != nil {
			return err
		}
		if w.phases[cur].RequiresApproval {
			return desk.Errorf(desk.EConflict, "the phase %q is an approval gate: it cannot be skipped", w.phases[cur].Name)
		}
		if err := w.gatesUpTo(cur - 1); err != nil {
			return err
		}
		w.finish(cur, PhaseSkipped, reason)
		if reason != "" {
			w.event(EventReason, "", reason)
		}
		return nil
	})
}

func (w *work) isCurrent(cur int, code string) error {
	if code != "" && code != w.phases[cur].Code {
		return desk.Errorf(desk.EConflict, "the phase %q is not the current phase of ticket %s (the current phase is %q)", code, w.t.Number, w.phases[cur].Code)
	}
	return nil
}

// Approve records an approver's acceptance of the current phase, which
// must be an approval gate. A phase of kind approval is then done; any
// other gate stays current, its work now allowed. Only approvers and
// administrators of the ticket's organisation may decide (CanDecide).
func (e *Engine) Approve(ctx context.Context, a desk.Actor, number, reason string) (Progress, error) {
	reason, err := clean("reason", reason, maxText, false, false)
	if err != nil {
		return Progress{}, err
	}
	return e.step(ctx, a, number, true, func(w *work) error {
		cur, err := w.gate()
		if err != nil {
			return err
		}
		p := &w.phases[cur]
		if p.State == PhaseActive && w.approved(cur) {
			return desk.Errorf(desk.EConflict, "the phase %q of ticket %s is already approved", p.Name, w.t.Number)
		}
		if err := w.decide(cur, Approve, reason); err != nil {
			return err
		}
		if p.State == PhaseRejected { // approved after all, on a reopened ticket
			p.State, p.Started, p.Done, p.DoneByID = PhaseActive, w.now, time.Time{}, 0
			w.dirty[cur] = true
		}
		if p.Kind == catalog.PhaseApproval {
			w.finish(cur, PhaseDone, reason)
		}
		return w.openIfNew()
	})
}

// Reject records an approver's refusal of the current approval gate, with
// its reason (required). The phase becomes rejected and the ticket is
// cancelled through the desk, with the reason in its history: the request
// will not be worked. Staff may reopen a cancelled ticket; an approver may
// then still approve the gate. Only approvers and administrators of the
// ticket's organisation may decide (CanDecide).
func (e *Engine) Reject(ctx context.Context, a desk.Actor, number, reason string) (Progress, error) {
	reason, err := clean("reason", reason, maxText, false, true)
	if err != nil {
		return Progress{}, err
	}
	return e.step(ctx, a, number, true, func(w *work) error {
		cur, err := w.gate()
		if err != nil {
			return err
		}
		if w.phases[cur].State == PhaseRejected {
			return desk.Errorf(desk.EConflict, "the phase %q of ticket %s is already rejected", w.phases[cur].Name, w.t.Number)
		}
		if err := w.decide(cur, Reject, reason); err != nil {
			return err
		}
		p := &w.phases[cur]
		p.State, p.Done, p.DoneByID, p.Note = PhaseRejected, w.now, w.a.UserID, reason
		w.dirty[cur] = true
		return w.transition(desk.TransitionInput{To: desk.StatusCancelled, Reason: reason})
	})
}

// gate checks a decision may be taken and returns the current phase,
// which must be an approval gate.
func (w *work) gate() (int, error) {
	if !CanDecide(w.a, &w.t) {
		return -1, desk.Errorf(desk.EForbidden, "only an approver or an administrator of the organisation can approve or reject a request")
	}
	if err := w.notFinal(); err != nil {
		return -1, err
	}
	cur, err := w.needCurrent()
	if err != nil {
		return -1, err
	}
	if !w.phases[cur].RequiresApproval {
		return -1, desk.Errorf(desk.EConflict, "the current phase of ticket %s (%q) does not need approval", w.t.Number, w.phases[cur].Name)
	}
	return cur, nil
}

func (w *work) decide(cur int, d Decision, reason string) error {
	ap := Approval{TicketID: w.t.ID, Phase: w.phases[cur].Code, Decision: d, Reason: reason, ApproverID: w.a.UserID,
		ApproverName: w.a.Name, ApproverEmail: w.a.Email, At: w.now}
	if err := w.tx.InsertApproval(w.ctx, &ap); err != nil {
		return err
	}
	w.approvals = append(w.approvals, ap)
	word := "approved"
	if d == Reject {
		word = "rejected"
	}
	w.event(EventApproval, ap.Phase, word)
	// Approvals are security-relevant: the audit log answers "who
	// approved this firewall rule, and when" without opening the ticket.
	detail := fmt.Sprintf("%s phase %q (%s)", word, w.phases[cur].Name, ap.Phase)
	if reason != "" {
		detail += ": " + reason
	}
	if err := w.d.AuditTx(w.ctx, w.tx, w.a, desk.AuditEntry{OrgID: w.t.OrgID, Action: "approval." + string(d),
		Target: "ticket:" + w.t.Number, Detail: detail}); err != nil {
		return err
	}
	if reason != "" && d == Approve {
		// A rejection's reason goes to the history with the status change.
		w.event(EventReason, "", reason)
	}
	return nil
}

// openCall returns the last open supplier call, if any.
func (w *work) openCall() (SupplierCall, bool, error) {
	calls, err := w.tx.SupplierCalls(w.ctx, w.t.ID)
	if err != nil {
		return SupplierCall{}, false, err
	}
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Open() {
			return calls[i], true, nil
		}
	}
	return SupplierCall{}, false, nil
}

// CallSupplier records a call to an external supplier (supplier required;
// contact, their reference and notes optional) and moves the ticket to
// waiting_supplier through the desk. Calling the supplier is work on the
// request, so every approval gate before it must be approved. When the
// service has a supplier phase ahead, the ticket moves to it: the current
// phase is done and any between are skipped. Staff only.
func (e *Engine) CallSupplier(ctx context.Context, a desk.Actor, number string, in SupplierCall) (SupplierCall, error) {
	var err error
	c := SupplierCall{}
	if c.Supplier, err = clean("supplier", in.Supplier, maxLine, true, true); err != nil {
		return SupplierCall{}, err
	}
	if c.Contact, err = clean("contact", in.Contact, maxLine, true, false); err != nil {
		return SupplierCall{}, err
	}
	if c.Reference, err = clean("reference", in.Reference, maxLine, true, false); err != nil {
		return SupplierCall{}, err
	}
	if c.Notes, err = clean("notes", in.Notes, maxText, false, false); err != nil {
		return SupplierCall{}, err
	}
	_, err = e.step(ctx, a, number, true, func(w *work) error {
		if err := w.workable(); err != nil {
			return err
		}
		if cur := w.current(); cur >= 0 {
			target := w.next(cur, func(p TicketPhase) bool { return p.Supplier })
			if target < 0 {
				// No supplier phase: the call belongs to the current phase,
				// and must wait for the gates before the work starts.
				work := w.next(cur, func(p TicketPhase) bool {
					return p.Kind == catalog.PhaseIntervention || p.Kind == catalog.PhaseVerification
				})
				if work < 0 {
					work = len(w.phases) - 1
				}
				if err := w.gatesUpTo(max(work, cur)); err != nil {
					return err
				}
				c.Phase = w.phases[cur].Code
			} else {
				if err := w.gatesUpTo(target); err != nil {
					return err
				}
				if err := w.advanceTo(target); err != nil {
					return err
				}
				c.Phase = w.phases[target].Code
			}
		}
		c.TicketID, c.Called, c.CreatedByID, c.CreatedByName = w.t.ID, w.now, w.a.UserID, w.a.Name
		if err := w.tx.InsertSupplierCall(w.ctx, &c); err != nil {
			return err
		}
		w.event(EventSupplierCall, "", c.String())
		if w.t.Status == desk.StatusWaitingSupplier {
			return nil
		}
		return w.transition(desk.TransitionInput{To: desk.StatusWaitingSupplier})
	})
	if err != nil {
		return SupplierCall{}, err
	}
	return c, nil
}

// SupplierResolved records that the supplier solved a call (callID 0: the
// last open one), with an optional note. When no call is left open, the
// ticket goes back from waiting_supplier to open and a current supplier
// phase is done. Staff only.
func (e *Engine) SupplierResolved(ctx context.Context, a desk.Actor, number string, callID int64, resolution string) (SupplierCall, error) {
	resolution, err := clean("resolution", resolution, maxText, false, false)
	if err != nil {
		return SupplierCall{}, err
	}
	var c SupplierCall
	_, err = e.step(ctx, a, number, false, func(w *work) error {
		if err := w.workable(); err != nil {
			return err
		}
		calls, err := w.tx.SupplierCalls(w.ctx, w.t.ID)
		if err != nil {
			return err
		}
		found, stillOpen := false, false
		for i := len(calls) - 1; i >= 0; i-- {
			switch {
			case !found && (calls[i].ID == callID || (callID == 0 && calls[i].Open())):
				c, found = calls[i], true
			case calls[i].Open():
				stillOpen = true
			}
		}
		if !found {
			if callID != 0 {
				return desk.Errorf(desk.ENotFound, "supplier call %d not found on ticket %s", callID, w.t.Number)
			}
			return desk.Errorf(desk.EConflict, "ticket %s has no open supplier call", w.t.Number)
		}
		if !c.Open() {
			return desk.Errorf(desk.EConflict, "the supplier call to %s was already resolved", c)
		}
		c.Resolved, c.Resolution, c.ResolvedByID = w.now, resolution, w.a.UserID
		if err := w.tx.ResolveSupplierCall(w.ctx, &c); err != nil {
			return err
		}
		w.event(EventSupplierResolved, "", c.String())
		if resolution != "" {
			w.event(EventReason, "", resolution)
		}
		if stillOpen {
			return nil
		}
		if cur := w.current(); cur >= 0 && w.phases[cur].Supplier && w.phases[cur].Code == c.Phase && w.phases[cur].State == PhaseActive {
			w.finish(cur, PhaseDone, resolution)
		}
		if w.t.Status == desk.StatusWaitingSupplier {
			return w.transition(desk.TransitionInput{To: desk.StatusOpen})
		}
		return nil
	})
	if err != nil {
		return SupplierCall{}, err
	}
	return c, nil
}

// Verification is what RequestVerification records.
type Verification struct {
	Cause desk.Cause // the identified cause, recorded by the desk
	Note  string     // shown in the history, e.g. what was done
}

// RequestVerification ends the work: the ticket moves to the service's
// verification phase (the current phase done, any between skipped; every
// approval gate must be approved) and is resolved through the desk, which
// asks the requester to confirm. Supplier calls must be resolved first.
// Staff only.
func (e *Engine) RequestVerification(ctx context.Context, a desk.Actor, number string, in Verification) (Progress, error) {
	note, err := clean("note", in.Note, maxText, false, false)
	if err != nil {
		return Progress{}, err
	}
	return e.step(ctx, a, number, true, func(w *work) error {
		if err := w.workable(); err != nil {
			return err
		}
		if c, open, err := w.openCall(); err != nil {
			return err
		} else if open {
			return desk.Errorf(desk.EConflict, "the supplier call to %s is still open: record its resolution first", c)
		}
		if cur := w.current(); cur >= 0 {
			target := w.next(cur, func(p TicketPhase) bool { return p.Kind == catalog.PhaseVerification })
			if target < 0 {
				target = len(w.phases)
			}
			if err := w.gatesUpTo(target - 1); err != nil {
				return err
			}
			if err := w.advanceTo(target); err != nil {
				return err
			}
		}
		w.event(EventVerification, "", "requested")
		return w.transition(desk.TransitionInput{To: desk.StatusResolved, Cause: in.Cause, Reason: note})
	})
}

// ConfirmResolution records that the requester confirmed the fix: the
// verification phase is done and the ticket is closed through the desk.
// The requester, or staff on their behalf, may confirm (CanConfirm).
func (e *Engine) ConfirmResolution(ctx context.Context, a desk.Actor, number string) (Progress, error) {
	return e.step(ctx, a, number, false, func(w *work) error {
		if err := w.resolvedFor(); err != nil {
			return err
		}
		if cur := w.current(); cur >= 0 && w.phases[cur].Kind == catalog.PhaseVerification {
			w.finish(cur, PhaseDone, "")
		}
		w.event(EventVerification, "", "confirmed")
		return w.transition(desk.TransitionInput{To: desk.StatusClosed})
	})
}

// ReopenResolution records that the fix did not work: the ticket goes
// back to open through the desk, with the reason, and the phase before
// verification is current again. The requester, or staff on their behalf,
// may reopen (CanConfirm).
func (e *Engine) ReopenResolution(ctx context.Context, a desk.Actor, number, reason string) (Progress, error) {
	reason, err := clean("reason", reason, maxText, false, false)
	if err != nil {
		return Progress{}, err
	}
	return e.step(ctx, a, number, false, func(w *work) error {
		if err := w.resolvedFor(); err != nil {
			return err
		}
		if cur := w.current(); cur > 0 && w.phases[cur].Kind == catalog.PhaseVerification {
			back := cur - 1
			for back > 0 && w.phases[back].State == PhaseSkipped {
				back--
			}
			v, b := &w.phases[cur], &w.phases[back]
			v.State, v.Started = PhasePending, time.Time{}
			b.State, b.Started, b.Done, b.DoneByID = PhaseActive, w.now, time.Time{}, 0
			for k := back + 1; k < cur; k++ {
				w.phases[k].State, w.phases[k].Done, w.phases[k].DoneByID = PhasePending, time.Time{}, 0
				w.dirty[k] = true
			}
			w.dirty[cur], w.dirty[back] = true, true
			w.event(EventPhase, v.Code, b.Code)
		}
		w.event(EventVerification, "", "reopened")
		return w.transition(desk.TransitionInput{To: desk.StatusOpen, Reason: reason})
	})
}

func (w *work) resolvedFor() error {
	if !CanConfirm(w.a, &w.t) {
		return desk.Errorf(desk.EForbidden, "only the requester or staff can confirm or reopen ticket %s", w.t.Number)
	}
	if w.t.Status != desk.StatusResolved {
		return desk.Errorf(desk.EConflict, "ticket %s is %s, not resolved", w.t.Number, w.t.Status)
	}
	return nil
}

// SilenceReason is the history text of an automatic closure after d
// without an answer: "chiusura automatica dopo 10 giorni senza risposta".
func SilenceReason(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d%day == 0 && d == day:
		return "chiusura automatica dopo 1 giorno senza risposta"
	case d%day == 0:
		return fmt.Sprintf("chiusura automatica dopo %d giorni senza risposta", d/day)
	case d == time.Hour:
		return "chiusura automatica dopo 1 ora senza risposta"
	default:
		return fmt.Sprintf("chiusura automatica dopo %d ore senza risposta", d/time.Hour)
	}
}

// closeBatch bounds the tickets CloseSilent closes per call.
const closeBatch = 500

// CloseSilent closes, as the system, resolved tickets whose requester has
// not answered (no incoming message, no reopening) for at least after
// since the resolution, as of now: the verification phase is done and the
// desk moves the ticket resolved → closed with SilenceReason in the
// history. It returns how many it closed. Each ticket is closed in its own
// transaction, re-checked inside it, so replicas may run it concurrently;
// a ticket that changed meanwhile is left alone. Run it periodically (at
// most closeBatch tickets per call).
func (e *Engine) CloseSilent(ctx context.Context, now time.Time, after time.Duration) (int, error) {
	if after <= 0 {
		return 0, desk.FieldError("after", "the silence before automatic closure must be positive")
	}
	before := now.Add(-after)
	var numbers []string
	err := e.view(ctx, func(tx Tx) error {
		var err error
		numbers, err = tx.ResolvedBefore(ctx, before, closeBatch)
		return err
	})
	if err != nil {
		return 0, err
	}
	reason := SilenceReason(after)
	closed := 0
	for _, n := range numbers {
		if err := ctx.Err(); err != nil {
			return closed, err
		}
		skip := false
		_, err := e.step(ctx, desk.SystemActor, n, false, func(w *work) error {
			if w.t.Status != desk.StatusResolved || w.t.Resolved.IsZero() || w.t.Resolved.After(before) {
				skip = true
				return nil
			}
			answered, err := w.tx.AnsweredSince(w.ctx, w.t.ID, w.t.Resolved)
			if err != nil || answered {
				skip = answered
				return err
			}
			if cur := w.current(); cur >= 0 && w.phases[cur].Kind == catalog.PhaseVerification {
				w.finish(cur, PhaseDone, "")
			}
			w.event(EventVerification, "", "silent")
			return w.transition(desk.TransitionInput{To: desk.StatusClosed, Reason: reason})
		})
		switch {
		case desk.ErrorCode(err) == desk.EConflict || desk.IsNotFound(err):
			// Changed or merged meanwhile: not ours to close.
		case err != nil:
			return closed, err
		case !skip:
			closed++
		}
	}
	return closed, nil
}

// ChangeService follows a change of a ticket's service (desk.Update, in its
// transaction): the old service's phases give way to the new service's,
// which start at once, as they do when a ticket is registered. Once work
// was recorded on the phases (a phase completed, skipped or refused after
// the receipt, an approver's decision, a supplier call), the change is
// refused: that work belongs to the old procedure, and its history must
// stay readable; the ticket can be closed and a new one opened.
func (e *Engine) ChangeService(ctx context.Context, tx desk.Tx, prev, next desk.Ticket) ([]desk.Event, error) {
	wtx, err := asTx(tx)
	if err != nil {
		return nil, err
	}
	w := &work{e: e, ctx: ctx, tx: wtx, t: next, now: e.now(), dirty: map[int]bool{}}
	if w.phases, err = wtx.TicketPhases(ctx, prev.ID); err != nil {
		return nil, err
	}
	approvals, err := wtx.Approvals(ctx, prev.ID)
	if err != nil {
		return nil, err
	}
	calls, err := wtx.SupplierCalls(ctx, prev.ID)
	if err != nil {
		return nil, err
	}
	worked := len(approvals) > 0 || len(calls) > 0
	for i, p := range w.phases {
		receipt := i == 0 && p.Kind == catalog.PhaseReceipt
		if !receipt && (p.State.passed() || p.State == PhaseRejected) {
			worked = true
		}
	}
	if worked {
		return nil, &desk.Error{Code: desk.EConflict, Field: "service", Message: fmt.Sprintf(
			"ticket %s has work recorded on the phases of service %s: its service can no longer change (close it and open a new one)",
			prev.Number, prev.ServiceCode)}
	}
	if len(w.phases) > 0 {
		cur := w.current()
		if err := wtx.DeleteTicketPhases(ctx, prev.ID); err != nil {
			return nil, err
		}
		if cur >= 0 {
			w.event(EventPhase, w.phases[cur].Code, "")
		}
		w.phases = nil
	}
	if next.ServiceID != 0 && !next.Status.Final() && next.MergedInto == 0 {
		if err := w.start(); err != nil {
			return nil, err
		}
	}
	return w.evs, nil
}

// GuardTransition checks a status change made outside the workflow (the
// desk's plain transitions, e.g. POST /api/v1/tickets/{n}/transitions)
// against the ticket's phases: a ticket cannot be resolved, nor put to
// wait on a supplier, while an approval gate it has not passed lacks an
// approver's approval. It returns nil or an EConflict *desk.Error, and
// reads only, inside the caller's transaction (tx must come from the
// store, which implements Tx). The desk has no hook to call it yet.
func (e *Engine) GuardTransition(ctx context.Context, tx desk.Tx, t desk.Ticket, to desk.Status) error {
	if to != desk.StatusResolved && to != desk.StatusWaitingSupplier {
		return nil
	}
	wtx, err := asTx(tx)
	if err != nil {
		return err
	}
	w := &work{ctx: ctx, tx: wtx, t: t}
	if w.phases, err = wtx.TicketPhases(ctx, t.ID); err != nil || len(w.phases) == 0 {
		return err
	}
	if w.approvals, err = wtx.Approvals(ctx, t.ID); err != nil {
		return err
	}
	return w.gatesUpTo(len(w.phases) - 1)
}

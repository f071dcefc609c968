package api

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/workflow"
)

// PhaseJSON is one phase of a ticket.
type PhaseJSON struct {
	Seq              int        `json:"seq"`
	Code             string     `json:"code"`
	Name             string     `json:"name"`
	Kind             string     `json:"kind"`
	RequiresApproval bool       `json:"requires_approval"`
	Supplier         bool       `json:"supplier"`
	State            string     `json:"state"`
	Started          *time.Time `json:"started_at,omitempty"`
	Done             *time.Time `json:"done_at,omitempty"`
	DoneBy           string     `json:"done_by,omitempty"`
	Note             string     `json:"note,omitempty"`
}

// ApprovalJSON is one recorded decision.
type ApprovalJSON struct {
	Phase    string    `json:"phase"`
	Decision string    `json:"decision"`
	Reason   string    `json:"reason"`
	Approver Person    `json:"approver"`
	At       time.Time `json:"at"`
}

// SupplierCallJSON is a call to an external supplier.
type SupplierCallJSON struct {
	ID         int64      `json:"id"`
	Phase      string     `json:"phase,omitempty"`
	Supplier   string     `json:"supplier"`
	Contact    string     `json:"contact,omitempty"`
	Reference  string     `json:"reference,omitempty"`
	Notes      string     `json:"notes,omitempty"`
	CalledAt   time.Time  `json:"called_at"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Resolution string     `json:"resolution,omitempty"`
	CalledBy   string     `json:"called_by,omitempty"`
}

// ProgressJSON is where a ticket stands in its service's phases.
type ProgressJSON struct {
	Ticket        string             `json:"ticket"`
	Service       string             `json:"service,omitempty"`
	Started       bool               `json:"started"`
	Current       *string            `json:"current"`
	Phases        []PhaseJSON        `json:"phases"`
	Approvals     []ApprovalJSON     `json:"approvals"`
	SupplierCalls []SupplierCallJSON `json:"supplier_calls"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func progressJSON(p workflow.Progress) ProgressJSON {
	out := ProgressJSON{Ticket: p.Number, Service: p.Service, Started: p.Started, Phases: []PhaseJSON{}, Approvals: []ApprovalJSON{}, SupplierCalls: []SupplierCallJSON{}}
	if cur, ok := p.Current(); ok {
		out.Current = &cur.Code
	}
	for _, ph := range p.Phases {
		out.Phases = append(out.Phases, PhaseJSON{Seq: ph.Seq, Code: ph.Code, Name: ph.Name, Kind: string(ph.Kind), RequiresApproval: ph.RequiresApproval,
			Supplier: ph.Supplier, State: string(ph.State), Started: timePtr(ph.Started), Done: timePtr(ph.Done), DoneBy: ph.DoneByName, Note: ph.Note})
	}
	for _, ap := range p.Approvals {
		out.Approvals = append(out.Approvals, ApprovalJSON{Phase: ap.Phase, Decision: string(ap.Decision), Reason: ap.Reason,
			Approver: Person{Email: ap.ApproverEmail, Name: ap.ApproverName}, At: ap.At})
	}
	for _, c := range p.SupplierCalls {
		out.SupplierCalls = append(out.SupplierCalls, supplierCallJSON(c))
	}
	return out
}

func supplierCallJSON(c workflow.SupplierCall) SupplierCallJSON {
	return SupplierCallJSON{ID: c.ID, Phase: c.Phase, Supplier: c.Supplier, Contact: c.Contact, Reference: c.Reference, Notes: c.Notes,
		CalledAt: c.Called, ResolvedAt: timePtr(c.Resolved), Resolution: c.Resolution, CalledBy: c.CreatedByName}
}

func (a *API) needWorkflow() error {
	if a.wf == nil {
		return desk.Errorf(desk.ENotFound, "the service catalogue is not enabled on this server")
	}
	return nil
}

func (a *API) phases(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	if err := a.needWorkflow(); err != nil {
		return err
	}
	p, err := a.wf.Progress(r.Context(), actor, r.PathValue("number"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, progressJSON(p))
	return nil
}

type noteIn struct {
	Note string `json:"note"`
}

func (a *API) completePhase(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	return a.phaseStep(w, r, actor, false)
}

func (a *API) skipPhase(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	return a.phaseStep(w, r, actor, true)
}

func (a *API) phaseStep(w http.ResponseWriter, r *http.Request, actor desk.Actor, skip bool) error {
	if err := a.needWorkflow(); err != nil {
		return err
	}
	var in noteIn
	if err := decode(r, &in); err != nil {
		return err
	}
	step := a.wf.CompletePhase
	if skip {
		step = a.wf.SkipPhase
	}
	p, err := step(r.Context(), actor, r.PathValue("number"), r.PathValue("code"), in.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, progressJSON(p))
	return nil
}

type approvalIn struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

func (a *API) approval(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	if err := a.needWorkflow(); err != nil {
		return err
	}
	var in approvalIn
	if err := decode(r, &in); err != nil {
		return err
	}
	var p workflow.Progress
	var err error
	switch workflow.Decision(in.Decision) {
	case workflow.Approve:
		p, err = a.wf.Approve(r.Context(), actor, r.PathValue("number"), in.Reason)
	case workflow.Reject:
		p, err = a.wf.Reject(r.Context(), actor, r.PathValue("number"), in.Reason)
	default:
		return desk.FieldError("decision", "decision must be approve or reject")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, progressJSON(p))
	return nil
}

type supplierIn struct {
	Supplier  string `json:"supplier"`
	Contact   string `json:"contact"`
	Reference string `json:"reference"`
	Notes     string `json:"notes"`
}

func (a *API) callSupplier(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	if err := a.needWorkflow(); err != nil {
		return err
	}
	var in supplierIn
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.wf.CallSupplier(r.Context(), actor, r.PathValue("number"), workflow.SupplierCall{Supplier: in.Supplier, Contact: in.Contact, Reference: in.Reference, Notes: in.Notes})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, supplierCallJSON(c))
	return nil
}

type resolutionIn struct {
	Resolution string `json:"resolution"`
}

func (a *API) supplierResolved(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	if err := a.needWorkflow(); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return desk.Errorf(desk.ENotFound, "supplier call not found")
	}
	var in resolutionIn
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := a.wf.SupplierResolved(r.Context(), actor, r.PathValue("number"), id, in.Resolution)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, supplierCallJSON(c))
	return nil
}

type verificationIn struct {
	Cause *CauseJSON `json:"cause"`
	Note  string     `json:"note"`
}

func (a *API) verification(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	if err := a.needWorkflow(); err != nil {
		return err
	}
	var in verificationIn
	if err := decode(r, &in); err != nil {
		return err
	}
	v := workflow.Verification{Note: in.Note}
	if in.Cause != nil {
		v.Cause = desk.Cause{Category: in.Cause.Category, Text: in.Cause.Text}
	}
	p, err := a.wf.RequestVerification(r.Context(), actor, r.PathValue("number"), v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, progressJSON(p))
	return nil
}

// exportCatalogue returns an organisation's whole catalogue as YAML
// (default) or JSON (?format=json or Accept: application/json).
func (a *API) exportCatalogue(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	if err := a.needWorkflow(); err != nil {
		return err
	}
	cat, err := a.wf.ExportCatalogue(r.Context(), actor, r.URL.Query().Get("organisation"))
	if err != nil {
		return err
	}
	format, ct := catalog.FormatYAML, "application/yaml; charset=utf-8"
	if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		format, ct = catalog.FormatJSON, "application/json; charset=utf-8"
	}
	var buf bytes.Buffer
	if err := catalog.Export(&buf, cat, format); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// ReportJSON says what a catalogue import changed.
type ReportJSON struct {
	Organisation  string   `json:"organisation"`
	Changed       bool     `json:"changed"`
	QueuesCreated []string `json:"queues_created"`
	Created       []string `json:"created"`
	Updated       []string `json:"updated"`
	Unchanged     []string `json:"unchanged"`
	Retired       []string `json:"retired"`
}

// importCatalogue replaces an organisation's catalogue with the YAML or
// JSON body; problems come back as invalid_request naming line and field.
func (a *API) importCatalogue(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	if err := a.needWorkflow(); err != nil {
		return err
	}
	format := catalog.FormatAuto
	if strings.Contains(r.Header.Get("Content-Type"), "json") {
		format = catalog.FormatJSON
	} else if strings.Contains(r.Header.Get("Content-Type"), "yaml") {
		format = catalog.FormatYAML
	}
	rep, err := a.wf.ImportFile(r.Context(), actor, r.URL.Query().Get("organisation"), r.Body, format)
	if err != nil {
		return err
	}
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	writeJSON(w, http.StatusOK, ReportJSON{Organisation: rep.Org, Changed: rep.Changed(), QueuesCreated: nz(rep.QueuesCreated), Created: nz(rep.Created),
		Updated: nz(rep.Updated), Unchanged: nz(rep.Unchanged), Retired: nz(rep.Retired)})
	return nil
}

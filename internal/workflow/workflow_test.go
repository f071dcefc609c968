package workflow_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/workflow"
)

// fixture is a desk with the seeds loaded and the people of the
// Provincia di Brindisi's IT office.
type fixture struct {
	db    *store.DB
	desk  *desk.Desk
	wf    *workflow.Engine
	clock *storetest.Clock

	admin     desk.Actor // administrator of the province
	agent     desk.Actor // first-level agent
	tech      desk.Actor // second-level collaborator
	approver  desk.Actor // the IT manager
	employee  desk.Actor // a requester of another department
	outsider  desk.Actor // an approver of another organisation
	installer desk.Actor // administrator of the installation
}

func engines(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			fn(t, newFixture(t, storetest.Engines[name](t)))
		})
	}
}

func newFixture(tb testing.TB, db *store.DB) *fixture {
	tb.Helper()
	ctx := context.Background()
	clk := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	d := storetest.NewDesk(tb, db, clk.Now)
	f := &fixture{db: db, desk: d, clock: clk, wf: workflow.New(workflow.Opts{Desk: d})}
	if err := f.wf.LoadSeeds(ctx); err != nil {
		tb.Fatalf("load seeds: %v", err)
	}
	mk := func(email, name string, role desk.Role, org string, inst bool) desk.Actor {
		u, err := d.EnsureUser(ctx, desk.NewUser{Email: email, Name: name, Role: role, OrgCode: org, InstallationAdmin: inst})
		if err != nil {
			tb.Fatal(err)
		}
		return desk.ActorFor(u)
	}
	const pb = workflow.OrgProvinciaBrindisi
	f.admin = mk("admin@provincia.brindisi.it", "Amministratore", desk.RoleAdmin, pb, false)
	f.agent = mk("antonio.pugliese@provincia.brindisi.it", "Antonio Pugliese", desk.RoleAgent, pb, false)
	f.tech = mk("piero.nolasco@provincia.brindisi.it", "Piero Nolasco", desk.RoleAgent, pb, false)
	f.approver = mk("luigi.settembrini@provincia.brindisi.it", "Dr. Luigi Settembrini", desk.RoleApprover, pb, false)
	f.employee = mk("mario.rossi@provincia.brindisi.it", "Mario Rossi", desk.RoleRequester, pb, false)
	f.outsider = mk("responsabile@desk.example.it", "Responsabile BDNA", desk.RoleApprover, "ministero-interno-dippp", false)
	f.installer = mk("root@example.it", "Root", desk.RoleAdmin, "", true)
	return f
}

func wantCode(tb testing.TB, err error, code desk.Code) {
	tb.Helper()
	if got := desk.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

func (f *fixture) count(tb testing.TB, table string) int {
	tb.Helper()
	var n int
	if err := f.db.SQL().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// current returns the code and state of the current phase ("" when none).
func current(p workflow.Progress) string {
	c, ok := p.Current()
	if !ok {
		return ""
	}
	return c.Code + ":" + string(c.State)
}

// history renders a ticket's events as "field:old>new" for comparison.
func (f *fixture) history(tb testing.TB, a desk.Actor, number string) []string {
	tb.Helper()
	tl, err := f.desk.Timeline(context.Background(), a, number)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range tl.Events {
		out = append(out, e.Field+":"+e.Old+">"+e.New)
	}
	return out
}

// wantInOrder checks that want appears in got as a subsequence.
func wantInOrder(tb testing.TB, got, want []string) {
	tb.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i < len(want) {
		tb.Fatalf("history lacks %q (in order) after %q;\nhistory:\n  %s", want[i], want[:i], strings.Join(got, "\n  "))
	}
}

// TestScenario7PrinterFailure: a printer failure at the Province goes
// through evaluation, acceptance by the IT manager, assignment, on-site
// intervention, a supplier call with its reference, verification with the
// employee and closure, every step in the history.
func TestScenario7PrinterFailure(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tk, err := f.desk.CreateTicket(ctx, f.agent, desk.NewTicket{Subject: "Stampante di rete del secondo piano guasta",
			Description: "La stampante non stampa e segnala un inceppamento continuo.", Service: "dispositivi-hardware-sito-web",
			Channel: desk.ChannelPhone, Requester: desk.Contact{Email: "mario.rossi@provincia.brindisi.it", Name: "Mario Rossi"}})
		if err != nil {
			t.Fatal(err)
		}
		n := tk.Number
		p := must[workflow.Progress](t)(f.wf.StartPhases(ctx, f.agent, n))
		if !p.Started || len(p.Phases) != 5 || p.Phases[0].State != workflow.PhaseDone || current(p) != "accettazione:active" {
			t.Fatalf("after start: %+v", p)
		}
		again := must[workflow.Progress](t)(f.wf.StartPhases(ctx, f.employee, n))
		if current(again) != "accettazione:active" || len(again.Phases) != 5 {
			t.Fatalf("StartPhases is not idempotent: %+v", again)
		}

		// Evaluation, recorded by the agent.
		if _, err := f.desk.AddMessage(ctx, f.agent, n, desk.NewMessage{Body: "Valutazione: probabile guasto al gruppo fusore.", Internal: true}); err != nil {
			t.Fatal(err)
		}
		// Nobody passes the gate before the IT manager decides.
		_, err = f.wf.CompletePhase(ctx, f.agent, n, "accettazione", "")
		wantCode(t, err, desk.EConflict)
		if !strings.Contains(desk.ErrorMessage(err), "approv") {
			t.Errorf("message %q does not explain the gate", desk.ErrorMessage(err))
		}
		_, err = f.wf.CompletePhase(ctx, f.agent, n, "intervento", "")
		wantCode(t, err, desk.EConflict)
		_, err = f.wf.Approve(ctx, f.agent, n, "")
		wantCode(t, err, desk.EForbidden)
		_, err = f.wf.CallSupplier(ctx, f.agent, n, workflow.SupplierCall{Supplier: "Ditta"})
		wantCode(t, err, desk.EConflict)
		_, err = f.wf.Approve(ctx, f.outsider, n, "")
		wantCode(t, err, desk.ENotFound)

		// Acceptance and confirmation by the IT manager.
		p = must[workflow.Progress](t)(f.wf.Approve(ctx, f.approver, n, "Intervento autorizzato"))
		if current(p) != "intervento:active" || len(p.Approvals) != 1 || p.Approvals[0].ApproverEmail != f.approver.Email {
			t.Fatalf("after approval: %+v", p)
		}
		_, err = f.wf.Approve(ctx, f.approver, n, "")
		wantCode(t, err, desk.EConflict)

		// Assignment to a collaborator, who works on site.
		tech := f.tech.Email
		if _, err := f.desk.Update(ctx, f.agent, n, desk.Changes{Assignee: &tech}); err != nil {
			t.Fatal(err)
		}
		p = must[workflow.Progress](t)(f.wf.CompletePhase(ctx, f.tech, n, "intervento", "Intervento sul posto: fusore da sostituire."))
		if current(p) != "fornitore:active" {
			t.Fatalf("after intervention: %+v", p)
		}
		_, err = f.wf.CompletePhase(ctx, f.tech, n, "intervento", "")
		wantCode(t, err, desk.EConflict) // a stale form

		// The supplier is called, with their reference.
		c := must[workflow.SupplierCall](t)(f.wf.CallSupplier(ctx, f.tech, n, workflow.SupplierCall{
			Supplier: "Copiatrici Salento s.r.l.", Contact: "assistenza tecnica, 0831 000000", Reference: "TT-2026-4471", Notes: "Sostituzione fusore in garanzia."}))
		if c.ID == 0 || c.Phase != "fornitore" || c.Called.IsZero() {
			t.Fatalf("call %+v", c)
		}
		tk = must[desk.Ticket](t)(f.desk.Ticket(ctx, f.agent, n))
		if tk.Status != desk.StatusWaitingSupplier || tk.AssigneeEmail != tech {
			t.Fatalf("ticket %+v", tk)
		}
		_, err = f.wf.RequestVerification(ctx, f.tech, n, workflow.Verification{})
		wantCode(t, err, desk.EConflict) // the call is still open
		c = must[workflow.SupplierCall](t)(f.wf.SupplierResolved(ctx, f.tech, n, 0, "Fusore sostituito dal tecnico del fornitore."))
		if c.Resolved.IsZero() {
			t.Fatalf("call not resolved: %+v", c)
		}

		// Verification with the employee, then closure.
		p = must[workflow.Progress](t)(f.wf.RequestVerification(ctx, f.tech, n, workflow.Verification{
			Cause: desk.Cause{Category: "hardware", Text: "Gruppo fusore guasto"}, Note: "Stampante di nuovo in funzione."}))
		if current(p) != "verifica:active" {
			t.Fatalf("after verification request: %+v", p)
		}
		mine := must[workflow.Progress](t)(f.wf.Progress(ctx, f.employee, n))
		if len(mine.SupplierCalls) != 1 || mine.SupplierCalls[0].Reference != "TT-2026-4471" || mine.SupplierCalls[0].Contact != "" {
			t.Fatalf("requester's view of the supplier call: %+v", mine.SupplierCalls)
		}
		p = must[workflow.Progress](t)(f.wf.ConfirmResolution(ctx, f.employee, n))
		if !p.Complete() {
			t.Fatalf("not complete: %+v", p)
		}
		tk = must[desk.Ticket](t)(f.desk.Ticket(ctx, f.agent, n))
		if tk.Status != desk.StatusClosed || tk.Cause.Category != "hardware" {
			t.Fatalf("ticket %+v", tk)
		}

		wantInOrder(t, f.history(t, f.agent, n), []string{
			"created:>phone",
			"phase:>ricezione",
			"phase:ricezione>accettazione",
			"approval:accettazione>approved",
			"reason:>Intervento autorizzato",
			"phase:accettazione>intervento",
			"status:new>open",
			"assignee:>" + tech,
			"phase:intervento>fornitore",
			"supplier_call:>Copiatrici Salento s.r.l. — rif. TT-2026-4471",
			"status:open>waiting_supplier",
			"supplier_resolved:>Copiatrici Salento s.r.l. — rif. TT-2026-4471",
			"phase:fornitore>verifica",
			"status:waiting_supplier>open",
			"verification:>requested",
			"status:open>resolved",
			"phase:verifica>",
			"verification:>confirmed",
			"status:resolved>closed",
		})
		// The requester sees the steps too.
		wantInOrder(t, f.history(t, f.employee, n), []string{"approval:accettazione>approved", "supplier_call:>Copiatrici Salento s.r.l. — rif. TT-2026-4471", "status:resolved>closed"})
	})
}

// TestScenario8FirewallRule: a firewall rule requested by another
// department needs the IT manager's approval before it is implemented;
// the audit trail shows who approved what and when.
func TestScenario8FirewallRule(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tk, err := f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Apertura regola firewall per il portale tributi",
			Description: "Chiediamo l'apertura della porta 443 verso il server del nuovo portale.", Service: "sicurezza-informatica", Channel: desk.ChannelWeb})
		if err != nil {
			t.Fatal(err)
		}
		n := tk.Number
		p := must[workflow.Progress](t)(f.wf.StartPhases(ctx, f.employee, n))
		if current(p) != "accettazione:active" {
			t.Fatalf("after start: %+v", p)
		}

		// No implementation before approval, whatever the path.
		for name, try := range map[string]func() error{
			"complete": func() error { _, err := f.wf.CompletePhase(ctx, f.agent, n, "", ""); return err },
			"skip":     func() error { _, err := f.wf.SkipPhase(ctx, f.agent, n, "accettazione", ""); return err },
			"verify":   func() error { _, err := f.wf.RequestVerification(ctx, f.agent, n, workflow.Verification{}); return err },
			"supplier": func() error {
				_, err := f.wf.CallSupplier(ctx, f.agent, n, workflow.SupplierCall{Supplier: "Gestore firewall"})
				return err
			},
		} {
			if err := try(); desk.ErrorCode(err) != desk.EConflict {
				t.Errorf("%s before approval: %v, want conflict", name, err)
			}
		}
		_, err = f.wf.Approve(ctx, f.employee, n, "")
		wantCode(t, err, desk.EForbidden)
		_, err = f.wf.Approve(ctx, f.agent, n, "")
		wantCode(t, err, desk.EForbidden)

		before := f.clock.Now()
		p = must[workflow.Progress](t)(f.wf.Approve(ctx, f.approver, n, "Regola conforme alla policy di sicurezza"))
		if current(p) != "esecuzione:active" {
			t.Fatalf("after approval: %+v", p)
		}
		p = must[workflow.Progress](t)(f.wf.CompletePhase(ctx, f.agent, n, "esecuzione", "Regola creata sul firewall perimetrale."))
		if current(p) != "verifica:active" {
			t.Fatalf("after execution: %+v", p)
		}
		must[workflow.Progress](t)(f.wf.RequestVerification(ctx, f.agent, n, workflow.Verification{Note: "Regola attiva."}))
		p = must[workflow.Progress](t)(f.wf.ConfirmResolution(ctx, f.employee, n))
		if !p.Complete() {
			t.Fatalf("not complete: %+v", p)
		}

		// The audit: who approved what, and when.
		audit := must[workflow.Progress](t)(f.wf.Progress(ctx, f.admin, n))
		if len(audit.Approvals) != 1 {
			t.Fatalf("approvals %+v", audit.Approvals)
		}
		ap := audit.Approvals[0]
		if ap.Phase != "accettazione" || ap.Decision != workflow.Approve || ap.ApproverName != "Dr. Luigi Settembrini" ||
			ap.ApproverEmail != f.approver.Email || ap.Reason != "Regola conforme alla policy di sicurezza" || ap.At.Before(before) {
			t.Fatalf("approval %+v", ap)
		}
		tl := must[desk.Timeline](t)(f.desk.Timeline(ctx, f.admin, n))
		found := false
		for _, e := range tl.Events {
			if e.Field == workflow.EventApproval {
				found = e.ActorID == f.approver.UserID && e.ActorName == "Dr. Luigi Settembrini" && e.Old == "accettazione" && e.New == "approved" && e.At.Equal(ap.At)
			}
		}
		if !found {
			t.Fatalf("no approval event by the approver in %+v", tl.Events)
		}
		for _, ph := range audit.Phases {
			if ph.Code == "accettazione" && (ph.DoneByID != f.approver.UserID || ph.DoneByName != "Dr. Luigi Settembrini") {
				t.Fatalf("gate phase %+v", ph)
			}
		}
		// Decisions cannot be rewritten.
		if _, err := f.db.SQL().Exec("UPDATE approvals SET decision = 'reject'"); err == nil {
			t.Fatal("approvals can be changed")
		}
		if _, err := f.db.SQL().Exec("DELETE FROM approvals"); err == nil {
			t.Fatal("approvals can be deleted")
		}
	})
}

func TestRejection(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tk := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Nuova casella PEC per l'ufficio", Service: "posta-elettronica"}))
		n := tk.Number
		_, err := f.wf.Reject(ctx, f.approver, n, "  ")
		wantCode(t, err, desk.EInvalid)
		p := must[workflow.Progress](t)(f.wf.Reject(ctx, f.approver, n, "La casella esiste già: usare quella del settore"))
		c, _ := p.Current()
		if c.Code != "accettazione" || c.State != workflow.PhaseRejected || c.Note == "" {
			t.Fatalf("after rejection: %+v", p)
		}
		tk = must[desk.Ticket](t)(f.desk.Ticket(ctx, f.employee, n))
		if tk.Status != desk.StatusCancelled {
			t.Fatalf("status %s", tk.Status)
		}
		wantInOrder(t, f.history(t, f.employee, n), []string{"approval:accettazione>rejected", "status:new>cancelled", "reason:>La casella esiste già: usare quella del settore"})
		_, err = f.wf.Approve(ctx, f.approver, n, "")
		wantCode(t, err, desk.EConflict) // cancelled

		// Reopened by staff, the approver may still accept.
		if _, err := f.desk.Transition(ctx, f.agent, n, desk.TransitionInput{To: desk.StatusOpen, Reason: "nuove informazioni"}); err != nil {
			t.Fatal(err)
		}
		_, err = f.wf.CompletePhase(ctx, f.agent, n, "", "")
		wantCode(t, err, desk.EConflict)
		p = must[workflow.Progress](t)(f.wf.Approve(ctx, f.approver, n, "Confermata dopo chiarimento"))
		if current(p) != "intervento:active" || len(p.Approvals) != 2 {
			t.Fatalf("after approval: %+v", p)
		}
	})
}

func TestCloseSilent(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		mk := func(subject string) string {
			tk := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: subject, Service: "assistenza-stazioni-lavoro"}))
			must[workflow.Progress](t)(f.wf.RequestVerification(ctx, f.agent, tk.Number, workflow.Verification{Note: "Risolto."}))
			return tk.Number
		}
		silent, answered := mk("Il PC non si accende"), mk("Rete lenta")
		if _, err := f.desk.AddMessage(ctx, f.employee, answered, desk.NewMessage{Body: "Il problema si ripresenta ancora."}); err != nil {
			t.Fatal(err)
		}
		resolved := must[desk.Ticket](t)(f.desk.Ticket(ctx, f.agent, silent)).Resolved
		after := 10 * 24 * time.Hour

		n, err := f.wf.CloseSilent(ctx, resolved.Add(9*24*time.Hour), after)
		if err != nil || n != 0 {
			t.Fatalf("before the silence: %d %v", n, err)
		}
		n, err = f.wf.CloseSilent(ctx, resolved.Add(11*24*time.Hour), after)
		if err != nil || n != 1 {
			t.Fatalf("after the silence: %d %v", n, err)
		}
		if st := must[desk.Ticket](t)(f.desk.Ticket(ctx, f.agent, silent)).Status; st != desk.StatusClosed {
			t.Fatalf("silent ticket is %s", st)
		}
		if st := must[desk.Ticket](t)(f.desk.Ticket(ctx, f.agent, answered)).Status; st != desk.StatusResolved {
			t.Fatalf("answered ticket is %s", st)
		}
		wantInOrder(t, f.history(t, f.employee, silent), []string{"verification:>requested", "status:new>resolved", "phase:verifica>",
			"verification:>silent", "status:resolved>closed", "reason:>chiusura automatica dopo 10 giorni senza risposta"})
		p := must[workflow.Progress](t)(f.wf.Progress(ctx, f.agent, silent))
		if !p.Complete() {
			t.Fatalf("phases %+v", p.Phases)
		}
		// Nothing left to do.
		n, err = f.wf.CloseSilent(ctx, resolved.Add(30*24*time.Hour), after)
		if err != nil || n != 0 {
			t.Fatalf("second run: %d %v", n, err)
		}
	})
}

func TestReopenAndSkip(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tk := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Telefono muto", Service: "telefonia-fissa"}))
		n := tk.Number
		must[workflow.Progress](t)(f.wf.Approve(ctx, f.approver, n, ""))
		p := must[workflow.Progress](t)(f.wf.CompletePhase(ctx, f.agent, n, "", "Cavo sostituito"))
		if current(p) != "chiamata-fornitore:active" {
			t.Fatalf("%+v", p)
		}
		p = must[workflow.Progress](t)(f.wf.SkipPhase(ctx, f.agent, n, "chiamata-fornitore", "Non necessario"))
		if current(p) != "verifica:active" || p.Phases[3].State != workflow.PhaseSkipped {
			t.Fatalf("%+v", p)
		}
		must[workflow.Progress](t)(f.wf.RequestVerification(ctx, f.agent, n, workflow.Verification{}))
		_, err := f.wf.ReopenResolution(ctx, f.outsider, n, "")
		wantCode(t, err, desk.ENotFound)
		p = must[workflow.Progress](t)(f.wf.ReopenResolution(ctx, f.employee, n, "Il telefono è ancora muto"))
		if current(p) != "intervento:active" {
			t.Fatalf("after reopening: %+v", p)
		}
		if st := must[desk.Ticket](t)(f.desk.Ticket(ctx, f.agent, n)).Status; st != desk.StatusOpen {
			t.Fatalf("status %s", st)
		}
		// This time the supplier is needed: calling moves to its phase.
		must[workflow.SupplierCall](t)(f.wf.CallSupplier(ctx, f.agent, n, workflow.SupplierCall{Supplier: "Operatore telefonico", Reference: "OT-99"}))
		p = must[workflow.Progress](t)(f.wf.Progress(ctx, f.agent, n))
		if current(p) != "chiamata-fornitore:active" {
			t.Fatalf("after the call: %+v", p)
		}
		_, err = f.wf.CompletePhase(ctx, f.agent, n, "", "")
		wantCode(t, err, desk.EConflict) // the call is open
		_, err = f.wf.SupplierResolved(ctx, f.agent, n, 12345, "")
		wantCode(t, err, desk.ENotFound)
		must[workflow.SupplierCall](t)(f.wf.SupplierResolved(ctx, f.agent, n, 0, ""))
		_, err = f.wf.SupplierResolved(ctx, f.agent, n, 0, "")
		wantCode(t, err, desk.EConflict)
		p = must[workflow.Progress](t)(f.wf.Progress(ctx, f.agent, n))
		if current(p) != "verifica:active" {
			t.Fatalf("after resolution: %+v", p)
		}
	})
}

func TestNoPhases(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tk := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Domanda generica"}))
		p := must[workflow.Progress](t)(f.wf.StartPhases(ctx, f.employee, tk.Number))
		if p.Started || len(p.Phases) != 0 {
			t.Fatalf("%+v", p)
		}
		_, err := f.wf.CompletePhase(ctx, f.agent, tk.Number, "", "")
		wantCode(t, err, desk.EConflict)
		// A supplier call and a verification still work without phases.
		c := must[workflow.SupplierCall](t)(f.wf.CallSupplier(ctx, f.agent, tk.Number, workflow.SupplierCall{Supplier: "Fornitore"}))
		if c.Phase != "" {
			t.Fatalf("%+v", c)
		}
		must[workflow.SupplierCall](t)(f.wf.SupplierResolved(ctx, f.agent, tk.Number, c.ID, ""))
		must[workflow.Progress](t)(f.wf.RequestVerification(ctx, f.agent, tk.Number, workflow.Verification{}))
		_, err = f.wf.StartPhases(ctx, f.employee, "2026-999999")
		wantCode(t, err, desk.ENotFound)
		_, err = f.wf.CallSupplier(ctx, f.employee, tk.Number, workflow.SupplierCall{Supplier: "x"})
		wantCode(t, err, desk.EForbidden)
		_, err = f.wf.CallSupplier(ctx, f.agent, tk.Number, workflow.SupplierCall{})
		wantCode(t, err, desk.EInvalid)
	})
}

func TestPhasesNotified(t *testing.T) {
	db := storetest.OpenSQLite(t)
	clk := storetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	d := storetest.NewDesk(t, db, clk.Now)
	var got []int64
	wf := workflow.New(workflow.Opts{Desk: d, Notify: func(id int64) { got = append(got, id) }})
	ctx := context.Background()
	if err := wf.LoadSeeds(ctx); err != nil {
		t.Fatal(err)
	}
	tk := must[desk.Ticket](t)(d.CreateTicket(ctx, desk.SystemActor, desk.NewTicket{OrgCode: workflow.OrgProvinciaBrindisi, Subject: "x", Service: "firma-digitale"}))
	must[workflow.Progress](t)(wf.StartPhases(ctx, desk.SystemActor, tk.Number))
	if !slices.Contains(got, tk.ID) {
		t.Fatalf("notified %v", got)
	}
}

func TestGuardTransition(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tk := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Regola firewall", Service: "sicurezza-informatica"}))
		must[workflow.Progress](t)(f.wf.StartPhases(ctx, f.employee, tk.Number))
		guard := func(to desk.Status) error {
			return f.db.View(ctx, func(tx desk.Tx) error {
				cur, err := tx.TicketByNumber(ctx, tk.Number)
				if err != nil {
					return err
				}
				return f.wf.GuardTransition(ctx, tx, cur, to)
			})
		}
		wantCode(t, guard(desk.StatusResolved), desk.EConflict)
		wantCode(t, guard(desk.StatusWaitingSupplier), desk.EConflict)
		if err := guard(desk.StatusCancelled); err != nil {
			t.Fatal(err)
		}
		must[workflow.Progress](t)(f.wf.Approve(ctx, f.approver, tk.Number, ""))
		if err := guard(desk.StatusResolved); err != nil {
			t.Fatal(err)
		}
	})
}

// TestConcurrentSteps: steps on one ticket serialise on it, on both
// engines: phases start once, and one of several approvals wins.
func TestConcurrentSteps(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		tk := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Firma digitale", Service: "firma-digitale"}))
		const n = 8
		errs := make(chan error, 2*n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				_, err := f.wf.StartPhases(ctx, f.agent, tk.Number)
				errs <- err
			})
		}
		wg.Wait()
		for range n {
			wg.Go(func() {
				_, err := f.wf.Approve(ctx, f.approver, tk.Number, "")
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		ok, conflicts := 0, 0
		for err := range errs {
			switch desk.ErrorCode(err) {
			case "":
				ok++
			case desk.EConflict:
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != n+1 || conflicts != n-1 {
			t.Fatalf("%d successes, %d conflicts", ok, conflicts)
		}
		starts := 0
		for _, h := range f.history(t, f.agent, tk.Number) {
			if h == "phase:>ricezione" {
				starts++
			}
		}
		p := must[workflow.Progress](t)(f.wf.Progress(ctx, f.agent, tk.Number))
		if starts != 1 || len(p.Phases) != 4 || len(p.Approvals) != 1 || current(p) != "intervento:active" {
			t.Fatalf("%d starts, progress %+v", starts, p)
		}
	})
}

// TestChangeOfService: changing a ticket's service replaces the old
// service's phases with the new one's, started at once, while no work was
// recorded on them; after an approver's decision the change is refused and
// nothing changes. Removing the service removes its phases.
func TestChangeOfService(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		f.desk.SetServiceChange(f.wf.ChangeService)
		codes := func(p workflow.Progress) []string {
			var out []string
			for _, ph := range p.Phases {
				out = append(out, ph.Code)
			}
			return out
		}
		// The phases each service starts with, on tickets of their own.
		startOf := func(service string) workflow.Progress {
			tk := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Riferimento", Service: service}))
			return must[workflow.Progress](t)(f.wf.StartPhases(ctx, f.agent, tk.Number))
		}
		phone, signature := startOf("telefonia-fissa"), startOf("firma-digitale")
		if slices.Equal(codes(phone), codes(signature)) || len(codes(phone)) == 0 || len(codes(signature)) == 0 {
			t.Fatalf("the two services should have different phases: %v, %v", codes(phone), codes(signature))
		}

		tk := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Firma non valida", Service: "firma-digitale"}))
		n := tk.Number
		before := must[workflow.Progress](t)(f.wf.StartPhases(ctx, f.agent, n))
		svc := "telefonia-fissa"
		must[desk.Ticket](t)(f.desk.Update(ctx, f.agent, n, desk.Changes{Service: &svc}))
		p := must[workflow.Progress](t)(f.wf.Progress(ctx, f.agent, n))
		if !slices.Equal(codes(p), codes(phone)) || current(p) != current(phone) {
			t.Fatalf("after the change: phases %v (current %s), want %v (current %s)", codes(p), current(p), codes(phone), current(phone))
		}
		oldCur, _ := before.Current()
		wantInOrder(t, f.history(t, f.agent, n), []string{
			"service:firma-digitale>telefonia-fissa", "phase:" + oldCur.Code + ">", "phase:>" + p.Phases[0].Code,
		})

		// Work recorded on the new phases: the service stays.
		must[workflow.Progress](t)(f.wf.Approve(ctx, f.approver, n, "Va bene"))
		events := len(f.history(t, f.agent, n))
		back := "firma-digitale"
		_, err := f.desk.Update(ctx, f.agent, n, desk.Changes{Service: &back})
		wantCode(t, err, desk.EConflict)
		if got := must[desk.Ticket](t)(f.desk.Ticket(ctx, f.agent, n)).ServiceCode; got != "telefonia-fissa" {
			t.Fatalf("service %q after a refused change", got)
		}
		if after := must[workflow.Progress](t)(f.wf.Progress(ctx, f.agent, n)); !slices.Equal(codes(after), codes(phone)) {
			t.Fatalf("phases %v after a refused change", codes(after))
		}
		if got := len(f.history(t, f.agent, n)); got != events {
			t.Fatalf("%d history entries after a refused change, want %d", got, events)
		}

		// A ticket whose service is removed before any work loses its phases.
		tk2 := must[desk.Ticket](t)(f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Telefono muto", Service: "telefonia-fissa"}))
		must[workflow.Progress](t)(f.wf.StartPhases(ctx, f.agent, tk2.Number))
		none := ""
		must[desk.Ticket](t)(f.desk.Update(ctx, f.agent, tk2.Number, desk.Changes{Service: &none}))
		if p := must[workflow.Progress](t)(f.wf.Progress(ctx, f.agent, tk2.Number)); len(p.Phases) != 0 {
			t.Fatalf("phases %v after the service was removed", codes(p))
		}
	})
}

package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/httpstatus"
	"github.com/sportello/sportello/internal/mail/mailbox"
)

// listLimit is the number of tickets per page of the workspace list.
const listLimit = 50

// listFilter is the workspace list's query string.
type listFilter struct {
	Status   string // "" (open), "tutti" or a status identifier
	Queue    string
	Service  string
	Assignee string // "", "me" or "none"
	Text     string
	Order    string // "" (newest) or a key of listOrders
	Cursor   string
	Tag      string
}

func filterFrom(q url.Values) listFilter {
	return listFilter{Status: q.Get("stato"), Queue: q.Get("coda"), Service: q.Get("servizio"),
		Assignee: q.Get("assegnatario"), Text: strings.TrimSpace(q.Get("q")), Order: q.Get("ordine"), Cursor: q.Get("cursore"),
		Tag: strings.ToLower(strings.TrimSpace(q.Get("etichetta")))}
}

// Values encodes the filter (without the cursor) as a query string.
func (f listFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"stato": f.Status, "coda": f.Queue, "servizio": f.Service, "assegnatario": f.Assignee, "q": f.Text, "ordine": f.Order, "etichetta": f.Tag} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Active reports whether any filter narrows the list.
func (f listFilter) Active() bool { return len(f.values()) > 0 }

type workspaceView struct {
	Page
	Queues    []desk.QueueCount
	Services  []desk.Service
	Filter    listFilter
	Tickets   []desk.Ticket
	NextURL   string
	FirstURL  string
	Error     string
	OpenTotal int64
	View      string // the built-in view in use, if any
	// Counts of the built-in views, from the maintained counters.
	MineCount, UnassignedCount, AllCount int64
	// Saved are the person's and the organisation's saved views.
	Saved []savedViewItem
	// Query is the current filter as a query string (for saving it).
	Query     string
	CanShare  bool
	ViewForm  map[string]string
	ViewError string
	// PECAlerts are recent PEC delivery alerts of tickets assigned to the
	// agent or to no one (pec.go).
	PECAlerts []mailbox.PECAlert
}

func (w *Web) workspace(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderWorkspace(rw, r, c, http.StatusOK, nil, "")
}

// renderWorkspace shows the list of r's filter; viewForm and viewErr are
// the save-view form's values and error, if it was refused.
func (w *Web) renderWorkspace(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, viewForm map[string]string, viewErr string) error {
	ctx := r.Context()
	f := filterFrom(r.URL.Query())
	if _, ok := listOrders[f.Order]; !ok {
		f.Order = ""
	}
	q := desk.ListQuery{Text: f.Text, Queue: f.Queue, Service: f.Service, Assignee: f.Assignee, Cursor: f.Cursor, Limit: listLimit,
		Order: listOrders[f.Order], Tag: f.Tag}
	switch f.Status {
	case "":
		q.OnlyOpen = true
	case "tutti":
	default:
		q.Statuses = []desk.Status{desk.Status(f.Status)}
	}
	if f.Assignee != "" && f.Assignee != "me" && f.Assignee != "none" {
		f.Assignee = ""
		q.Assignee = ""
	}
	p := w.newPage(r, c, "workspace")
	p.Title = p.T("ws.title")
	v := &workspaceView{Page: p, Filter: f, ViewForm: viewForm, ViewError: viewErr}
	var err error
	if v.Queues, err = w.desk.Queues(ctx, c.Actor); err != nil {
		return err
	}
	for _, qc := range v.Queues {
		v.OpenTotal += qc.Open
	}
	if v.Services, err = w.desk.Services(ctx, c.Actor); err != nil {
		return err
	}
	page, err := w.desk.ListTickets(ctx, c.Actor, q)
	if err != nil {
		_, msg, ok := formError(c.Lang, err)
		if !ok {
			return err
		}
		v.Error, status = msg, http.StatusBadRequest
	}
	v.Tickets = page.Items
	vals := f.values()
	if page.Next != "" {
		nv := f.values()
		nv.Set("cursore", page.Next)
		v.NextURL = "/operatore?" + nv.Encode()
	}
	if f.Cursor != "" {
		v.FirstURL = "/operatore"
		if len(vals) > 0 {
			v.FirstURL += "?" + vals.Encode()
		}
	}
	switch {
	case f.Order != "" || f.Tag != "":
		// A sorted or tag-filtered list is not one of the built-in views.
	case f.Assignee == "me" && f.Status == "" && f.Queue == "" && f.Service == "" && f.Text == "":
		v.View = "mine"
	case f.Assignee == "none" && f.Status == "" && f.Queue == "" && f.Service == "" && f.Text == "":
		v.View = "unassigned"
	case f.Status == "tutti" && f.Queue == "" && f.Service == "" && f.Assignee == "" && f.Text == "":
		v.View = "all"
	case f.Status == "" && f.Queue == "" && f.Service == "" && f.Assignee == "" && f.Text == "":
		v.View = "open"
	}
	if err := w.fillViews(ctx, r, c, v); err != nil {
		return err
	}
	v.PECAlerts = w.recentPECAlerts(ctx, c.Actor)
	w.render(rw, r, status, "workspace", v)
	return nil
}

// canned is a ready-made answer an agent starts a reply from.
type canned struct {
	Code, Title, Text string
}

// cannedAnswers are the desk's ready-made replies (Italian: they are sent
// to requesters). {nome}, {numero} and {operatore} are filled in.
var cannedAnswers = []canned{
	{"presa-in-carico", "Presa in carico",
		"Gentile {nome},\nabbiamo preso in carico la sua richiesta {numero}. La ricontatteremo al più presto.\n\nCordiali saluti,\n{operatore}\nService Desk"},
	{"informazioni", "Richiesta di informazioni",
		"Gentile {nome},\nper procedere con la richiesta {numero} abbiamo bisogno di alcune informazioni:\n- \n\nPuò rispondere a questo messaggio o dal portale.\n\nCordiali saluti,\n{operatore}"},
	{"intervento", "Intervento in loco",
		"Gentile {nome},\nun tecnico passerà presso la sua postazione per la richiesta {numero}. La preghiamo di lasciare la postazione accessibile.\n\nCordiali saluti,\n{operatore}"},
	{"fornitore", "Segnalato al fornitore",
		"Gentile {nome},\nil problema della richiesta {numero} richiede l'intervento del fornitore, che abbiamo già contattato. La aggiorneremo appena avremo notizie.\n\nCordiali saluti,\n{operatore}"},
	{"risolto", "Problema risolto",
		"Gentile {nome},\nriteniamo di aver risolto il problema segnalato con la richiesta {numero}. Le chiediamo di confermare dal portale che tutto funziona; se il problema persiste può riaprire la richiesta.\n\nCordiali saluti,\n{operatore}"},
	{"certificato", "Rinnovo certificato digitale",
		"Gentile {nome},\nle richieste di rinnovo dei certificati digitali vanno inviate alla casella PEC della Prefettura competente. La richiesta {numero} viene quindi chiusa.\n\nCordiali saluti,\n{operatore}"},
}

func fillCanned(text string, t desk.Ticket, agent string) string {
	name := t.Requester.Name
	if name == "" {
		name = "utente"
	}
	return strings.NewReplacer("{nome}", name, "{numero}", t.Number, "{operatore}", agent).Replace(text)
}

type ticketView struct {
	Page
	Ticket    desk.Ticket
	Timeline  timeline
	Files     []desk.Attachment
	Links     []desk.Link
	Next      []desk.Status
	Queues    []desk.QueueCount
	Services  []desk.Service
	Agents    []desk.PersonMatch
	Canned    []canned
	Form      map[string]string
	Errors    map[string]string
	LiveURL   string
	MaxUpload string
	Mine      bool
	Phases    *phasesView
	PEC       *pecView

	// MailURL links the HTML version of the e-mail that opened the ticket.
	MailURL string
	// FieldsForm edits the service's own fields, when it has some.
	FieldsForm *serviceFieldsView
}

func (w *Web) ticket(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	form := map[string]string{}
	if code := r.URL.Query().Get("modello"); code != "" {
		form["canned"] = code
	}
	return w.renderTicket(rw, r, c, http.StatusOK, form, nil)
}

func (w *Web) renderTicket(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, form, errs map[string]string) error {
	ctx := r.Context()
	number := r.PathValue("number")
	tl, err := w.desk.Timeline(ctx, c.Actor, number)
	if err != nil {
		return err
	}
	t := tl.Ticket
	ph, err := w.loadPhases(ctx, c.Actor, &t)
	if err != nil {
		return err
	}
	p := w.newPage(r, c, "workspace")
	p.Title = t.Number + " — " + t.Subject
	base := "/operatore/ticket/" + t.Number
	v := &ticketView{Page: p, Ticket: t, Timeline: buildTimeline(&p, tl, base, ph), Phases: ph, Files: ticketFiles(tl), Links: tl.Links,
		Next: desk.NextStatuses(t.Status), Form: form, Errors: errs, MaxUpload: humanSize(w.maxUpload - 1<<20),
		LiveURL: base + "/aggiornamenti?v=" + staffVersion(t), Mine: t.AssigneeID == c.Actor.UserID && t.AssigneeID != 0}
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	// The organisation's own answers (administration) come first.
	own, err := w.desk.CannedAnswers(ctx, c.Actor, t.OrgCode)
	if err != nil {
		return err
	}
	for _, cn := range append(ownCanned(own), cannedAnswers...) {
		cn.Text = fillCanned(cn.Text, t, c.User.Name)
		v.Canned = append(v.Canned, cn)
		if v.Form["canned"] == cn.Code && v.Form["body"] == "" {
			v.Form["body"] = cn.Text
		}
	}
	if v.Queues, err = w.desk.Queues(ctx, c.Actor); err != nil {
		return err
	}
	if v.Services, err = w.desk.Services(ctx, c.Actor); err != nil {
		return err
	}
	v.Agents = w.agents(ctx, c.Actor)
	if t.ServiceCode != "" {
		defs, err := w.serviceFields(ctx, c.Actor)
		if err != nil {
			return err
		}
		if d := defs[t.ServiceCode]; len(d) > 0 {
			vals := v.Form
			if _, posted := v.Form["fields_posted"]; !posted {
				vals = map[string]string{}
				for _, f := range t.Fields {
					vals[fieldName(t.ServiceCode, f.Code)] = f.Value
				}
			}
			svc := desk.Service{Code: t.ServiceCode, Name: t.ServiceName}
			fs := buildFields(c.Lang, svc, d, vals, v.Errors)
			v.FieldsForm = &fs
		}
	}
	{
		if mv := w.mailVersions(ctx, t.ID); len(mv) > 0 {
			link := func(id int64) string { return base + "/posta/" + strconv.FormatInt(id, 10) }
			if id, ok := mv[0]; ok {
				v.MailURL = link(id)
			}
			for i := range v.Timeline.Entries {
				if e := &v.Timeline.Entries[i]; e.Message != nil {
					if id, ok := mv[e.Message.ID]; ok {
						e.MailURL = link(id)
					}
				}
			}
		}
	}
	v.PEC = w.ticketPEC(ctx, c.Actor, t.Number)
	w.render(rw, r, status, "ticket", v)
	return nil
}

// agents lists the staff an agent may assign to. The desk has no method
// for it yet: this asks FindPeople for the first 200 people by name and
// keeps the staff, so in a large organisation some agents may be missing
// from the list; the form also takes an e-mail typed by hand.
func (w *Web) agents(ctx context.Context, a desk.Actor) []desk.PersonMatch {
	people, err := w.desk.FindPeople(ctx, a, "@", 200)
	if err != nil {
		w.log.Warn("web: listing agents", "err", err)
		return nil
	}
	var out []desk.PersonMatch
	for _, p := range people {
		if p.Role.Staff() {
			out = append(out, p)
		}
	}
	return out
}

// ticketAction runs a desk call for a workspace form and answers with a
// redirect to the ticket, or the ticket page with the error by the field.
func (w *Web) ticketAction(rw http.ResponseWriter, r *http.Request, c *reqCtx, field string, form map[string]string,
	do func(number string) (string, error)) error {
	number := r.PathValue("number")
	flashKey, err := do(number)
	if err == nil {
		w.flash(r, c, flashKey, number)
		redirect(rw, r, "/operatore/ticket/"+number)
		return nil
	}
	_, msg, ok := formError(c.Lang, err)
	if !ok {
		return err
	}
	st := http.StatusUnprocessableEntity
	if code := desk.ErrorCode(err); code == desk.EConflict || code == desk.EForbidden {
		st = httpstatus.Of(code)
	}
	return w.renderTicket(rw, r, c, st, form, map[string]string{field: msg})
}

func (w *Web) ticketMessage(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	files, err := w.parseUpload(rw, r, "allegati")
	if err != nil {
		_, msg, ok := formError(c.Lang, err)
		if !ok {
			return err
		}
		return w.renderTicket(rw, r, c, httpstatus.Of(desk.ErrorCode(err)), nil, map[string]string{"body": msg})
	}
	body := r.PostFormValue("body")
	internal := r.PostFormValue("kind") == "note"
	return w.ticketAction(rw, r, c, "body", map[string]string{"body": body}, func(number string) (string, error) {
		_, err := w.desk.AddMessage(r.Context(), c.Actor, number, desk.NewMessage{Body: body, Internal: internal, Channel: desk.ChannelWeb, Attachments: files})
		if internal {
			return "ticket.noted", err
		}
		return "ticket.replied", err
	})
}

func (w *Web) ticketStatus(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	form := map[string]string{"to": f.Get("to"), "cause_category": f.Get("cause_category"), "cause_text": f.Get("cause_text"), "reason": f.Get("reason")}
	return w.ticketAction(rw, r, c, "to", form, func(number string) (string, error) {
		to := desk.Status(f.Get("to"))
		cause := desk.Cause{Category: f.Get("cause_category"), Text: f.Get("cause_text")}
		if to == desk.StatusResolved {
			return "ticket.status_changed", w.resolve(r.Context(), c.Actor, number, cause, f.Get("reason"))
		}
		_, err := w.desk.Transition(r.Context(), c.Actor, number, desk.TransitionInput{To: to, Cause: cause, Reason: f.Get("reason")})
		return "ticket.status_changed", err
	})
}

func (w *Web) ticketFields(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	var ch desk.Changes
	if f.Has("priority") {
		p := desk.Priority(f.Get("priority"))
		ch.Priority = &p
	}
	if f.Has("queue") {
		q := f.Get("queue")
		ch.Queue = &q
	}
	if f.Has("service") {
		s := f.Get("service")
		ch.Service = &s
	}
	field := "fields"
	if f.Has("protocol") {
		s := f.Get("protocol")
		ch.Protocol = &s
		field = "protocol" // its own form (pec.html)
	}
	return w.ticketAction(rw, r, c, field, nil, func(number string) (string, error) {
		_, err := w.desk.Update(r.Context(), c.Actor, number, ch)
		return "ticket.updated", err
	})
}

// ticketSetFields completes or corrects the service's own fields.
func (w *Web) ticketSetFields(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	number := r.PathValue("number")
	t, err := w.desk.Ticket(r.Context(), c.Actor, number)
	if err != nil {
		return err
	}
	defs, err := w.serviceFields(r.Context(), c.Actor)
	if err != nil {
		return err
	}
	form := map[string]string{"fields_posted": "1"}
	values := postedFields(r.PostForm, t.ServiceCode, defs[t.ServiceCode], form)
	if _, err := w.desk.SetFields(r.Context(), c.Actor, number, values); err != nil {
		field, msg, ok := formError(c.Lang, err)
		if !ok {
			return err
		}
		id := fieldErrorID(t.ServiceCode, field)
		if id == "" {
			id = "dati"
		} else {
			msg = fieldErrorMsg(c.Lang, err, defs[t.ServiceCode], field)
		}
		st := http.StatusUnprocessableEntity
		if code := desk.ErrorCode(err); code == desk.EConflict || code == desk.EForbidden {
			st = httpstatus.Of(code)
		}
		return w.renderTicket(rw, r, c, st, form, map[string]string{id: msg})
	}
	w.flash(r, c, "ticket.fields_saved", number)
	redirect(rw, r, "/operatore/ticket/"+number)
	return nil
}

func (w *Web) ticketAssign(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	who := strings.TrimSpace(r.PostForm.Get("assignee"))
	if other := strings.TrimSpace(r.PostForm.Get("assignee_email")); other != "" {
		// Typed by hand: someone the list does not show.
		who = other
	}
	if who == "me" {
		who = c.Actor.Email
	}
	return w.ticketAction(rw, r, c, "assignee", map[string]string{"assignee_email": r.PostForm.Get("assignee_email")}, func(number string) (string, error) {
		_, err := w.desk.Update(r.Context(), c.Actor, number, desk.Changes{Assignee: &who})
		return "ticket.assigned", err
	})
}

func (w *Web) ticketEscalate(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	reason := r.PostForm.Get("escalate_reason")
	return w.ticketAction(rw, r, c, "escalate", map[string]string{"escalate_reason": reason}, func(number string) (string, error) {
		_, err := w.desk.Escalate(r.Context(), c.Actor, number, reason)
		return "ticket.escalated", err
	})
}

func (w *Web) ticketLink(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	other, kind := strings.TrimSpace(r.PostForm.Get("other")), r.PostForm.Get("kind")
	return w.ticketAction(rw, r, c, "link", map[string]string{"other": other, "kind": kind}, func(number string) (string, error) {
		return "ticket.linked", w.desk.LinkTickets(r.Context(), c.Actor, number, other, desk.LinkKind(kind))
	})
}

func (w *Web) ticketMerge(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	number := r.PathValue("number")
	target := strings.TrimSpace(r.PostForm.Get("target"))
	t, err := w.desk.Merge(r.Context(), c.Actor, number, target)
	if err != nil {
		_, msg, ok := formError(c.Lang, err)
		if !ok {
			return err
		}
		return w.renderTicket(rw, r, c, http.StatusUnprocessableEntity, map[string]string{"target": target}, map[string]string{"merge": msg})
	}
	w.flash(r, c, "ticket.merged", number, t.Number)
	redirect(rw, r, "/operatore/ticket/"+t.Number)
	return nil
}

// staffVersion is what a live stream compares for staff: any change.
func staffVersion(t desk.Ticket) string {
	return t.Updated.UTC().Format("20060102T150405.000000")
}

package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/httpstatus"
)

// noService is the value of the service chooser for "I don't know which":
// it cannot be a service code (codes have no underscore).
const noService = "_"

type myRequestsView struct {
	Page
	Tickets []desk.Ticket
	Next    string
	Cursor  string
}

func (w *Web) myRequests(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := desk.ListQuery{Cursor: r.URL.Query().Get("cursore"), Limit: 25}
	if c.Actor.IsStaff() {
		// Staff see every ticket of their organisation; here, only theirs.
		q.Requester = c.Actor.Email
	}
	page, err := w.desk.ListTickets(r.Context(), c.Actor, q)
	if err != nil {
		if desk.ErrorCode(err) == desk.EInvalid { // a stale or forged cursor
			redirect(rw, r, "/richieste")
			return nil
		}
		return err
	}
	p := w.newPage(r, c, "requests")
	p.Title = p.T("requests.title")
	w.render(rw, r, http.StatusOK, "requests", &myRequestsView{Page: p, Tickets: page.Items, Next: page.Next, Cursor: q.Cursor})
	return nil
}

type newRequestView struct {
	Page
	Services []desk.Service
	// Service is the chosen service ("" while choosing); NoService is
	// set when the requester does not know which.
	Service   *desk.Service
	NoService bool
	Form      map[string]string
	Errors    map[string]string
	MaxUpload string
	// Fields are the chosen service's own fields, if it has any.
	Fields *serviceFieldsView
}

func (w *Web) newRequestForm(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderNewRequest(rw, r, c, http.StatusOK, r.URL.Query().Get("servizio"), map[string]string{}, nil)
}

func (w *Web) renderNewRequest(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, code string, form, errs map[string]string) error {
	svcs, err := w.desk.Services(r.Context(), c.Actor)
	if err != nil {
		return err
	}
	p := w.newPage(r, c, "new")
	p.Title = p.T("new.title")
	v := &newRequestView{Page: p, Services: svcs, Form: form, Errors: errs, NoService: code == noService, MaxUpload: humanSize(w.maxUpload - 1<<20)}
	if code != "" && code != noService {
		for i := range svcs {
			if svcs[i].Code == code {
				v.Service = &svcs[i]
			}
		}
		if v.Service == nil {
			return desk.Errorf(desk.ENotFound, "unknown service %q", code)
		}
	}
	if v.Service != nil {
		p.Title = v.Service.Name + " — " + p.T("new.title")
		v.Page = p
		defs, err := w.serviceFields(r.Context(), c.Actor)
		if err != nil {
			return err
		}
		if d := defs[v.Service.Code]; len(d) > 0 {
			fv := buildFields(c.Lang, *v.Service, d, form, errs)
			v.Fields = &fv
		}
	}
	w.render(rw, r, status, "new", v)
	return nil
}

// parseUpload reads a multipart form within the upload limit and returns
// its files as attachments (empty file inputs are skipped).
func (w *Web) parseUpload(rw http.ResponseWriter, r *http.Request, field string) ([]desk.NewAttachment, error) {
	r.Body = http.MaxBytesReader(rw, r.Body, w.maxUpload)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &desk.Error{Code: desk.ETooLarge, Field: "attachments", Message: "upload too large", Err: err}
		}
		if errors.Is(err, http.ErrNotMultipart) {
			// A plain form (e.g. a client without file inputs) is fine.
			if err := r.ParseForm(); err != nil {
				return nil, desk.Errorf(desk.EInvalid, "bad form")
			}
			return nil, nil
		}
		return nil, desk.Errorf(desk.EInvalid, "bad form")
	}
	var out []desk.NewAttachment
	if r.MultipartForm == nil {
		return nil, nil
	}
	for _, fh := range r.MultipartForm.File[field] {
		if fh.Size == 0 && fh.Filename == "" {
			continue
		}
		a, err := readPart(fh)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func readPart(fh *multipart.FileHeader) (desk.NewAttachment, error) {
	f, err := fh.Open()
	if err != nil {
		return desk.NewAttachment{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return desk.NewAttachment{}, err
	}
	ct := fh.Header.Get("Content-Type")
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	return desk.NewAttachment{Name: fh.Filename, ContentType: ct, Data: data}, nil
}

func (w *Web) newRequest(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	files, err := w.parseUpload(rw, r, "allegati")
	form := map[string]string{}
	code := ""
	var defs map[string][]catalog.FormField
	if err == nil {
		for _, k := range []string{"subject", "description", "phone"} {
			form[k] = r.PostFormValue(k)
		}
		code = r.PostFormValue("service")
		in := desk.NewTicket{Subject: form["subject"], Description: form["description"], Channel: desk.ChannelWeb,
			Requester: desk.Contact{Phone: form["phone"]}, Attachments: files}
		if code != noService {
			in.Service = code
			if defs, err = w.serviceFields(r.Context(), c.Actor); err != nil {
				return err
			}
			in.Fields = postedFields(r.PostForm, code, defs[code], form)
		}
		if c.Actor.IsStaff() {
			// Staff asking for themselves are the requester.
			in.Requester.Email, in.Requester.Name = c.User.Email, c.User.Name
		}
		var t desk.Ticket
		if t, err = w.desk.CreateTicket(r.Context(), c.Actor, in); err == nil {
			w.flash(r, c, "new.created", t.Number)
			redirect(rw, r, "/richieste/"+t.Number)
			return nil
		}
	}
	field, msg, ok := formError(c.Lang, err)
	if !ok {
		return err
	}
	if id := fieldErrorID(code, field); id != "" {
		return w.renderNewRequest(rw, r, c, http.StatusUnprocessableEntity, code, form,
			map[string]string{id: fieldErrorMsg(c.Lang, err, defs[code], field)})
	}
	if field == "" || field == "service" {
		field = "subject"
	}
	if code == "" {
		code = noService
	}
	return w.renderNewRequest(rw, r, c, http.StatusUnprocessableEntity, code, form, map[string]string{fieldID(field): msg})
}

// fieldID maps a domain field name to the id of the form control.
func fieldID(field string) string {
	switch field {
	case "attachments":
		return "allegati"
	case "body":
		return "body"
	case "requester.email":
		return "caller_email"
	case "cause.category", "cause.text":
		return "cause"
	}
	return field
}

type requestView struct {
	Page
	Timeline  timeline
	Ticket    desk.Ticket
	Files     []desk.Attachment // attachments of the request itself
	Form      map[string]string
	Errors    map[string]string
	MaxUpload string
	LiveURL   string
	Phases    *phasesView
}

func (w *Web) request(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderRequest(rw, r, c, http.StatusOK, nil, nil)
}

func (w *Web) renderRequest(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, form, errs map[string]string) error {
	number := r.PathValue("number")
	if c.Actor.IsStaff() && status == http.StatusOK {
		// Staff work tickets in the workspace, which shows everything.
		redirect(rw, r, "/operatore/ticket/"+number)
		return nil
	}
	tl, err := w.desk.Timeline(r.Context(), c.Actor, number)
	if err != nil {
		return err
	}
	ph, err := w.loadPhases(r.Context(), c.Actor, &tl.Ticket)
	if err != nil {
		return err
	}
	p := w.newPage(r, c, "requests")
	p.Title = tl.Ticket.Number + " — " + tl.Ticket.Subject
	v := &requestView{Page: p, Ticket: tl.Ticket, Form: form, Errors: errs, MaxUpload: humanSize(w.maxUpload - 1<<20),
		Timeline: buildTimeline(&p, tl, "/richieste/"+number, ph), Files: ticketFiles(tl), Phases: ph}
	v.LiveURL = "/richieste/" + number + "/aggiornamenti?v=" + w.publicVersion(tl)
	w.render(rw, r, status, "request", v)
	return nil
}

func (w *Web) requestReply(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	number := r.PathValue("number")
	files, err := w.parseUpload(rw, r, "allegati")
	body := ""
	if err == nil {
		body = r.PostFormValue("body")
		if _, err = w.desk.AddMessage(r.Context(), c.Actor, number, desk.NewMessage{Body: body, Channel: desk.ChannelWeb, Attachments: files}); err == nil {
			w.flash(r, c, "request.replied")
			redirect(rw, r, "/richieste/"+number+"#cronologia")
			return nil
		}
	}
	field, msg, ok := formError(c.Lang, err)
	if !ok {
		return err
	}
	if field != "allegati" && fieldID(field) != "allegati" {
		field = "body"
	}
	return w.renderRequest(rw, r, c, http.StatusUnprocessableEntity, map[string]string{"body": body}, map[string]string{fieldID(field): msg})
}

func (w *Web) requestConfirm(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	number := r.PathValue("number")
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	if err := w.confirm(r.Context(), c.Actor, number); err != nil {
		return w.requestActionError(rw, r, c, err, "confirm")
	}
	w.flash(r, c, "request.confirmed")
	redirect(rw, r, "/richieste/"+number)
	return nil
}

func (w *Web) requestReopen(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	number := r.PathValue("number")
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	reason := r.PostForm.Get("reason")
	if err := w.reopen(r.Context(), c.Actor, number, reason); err != nil {
		return w.requestActionError(rw, r, c, err, "reason")
	}
	w.flash(r, c, "request.reopened")
	redirect(rw, r, "/richieste/"+number)
	return nil
}

// requestActionError shows a refused confirm/reopen on the request page.
func (w *Web) requestActionError(rw http.ResponseWriter, r *http.Request, c *reqCtx, err error, field string) error {
	_, msg, ok := formError(c.Lang, err)
	if !ok {
		return err
	}
	return w.renderRequest(rw, r, c, httpstatus.Of(desk.ErrorCode(err)), map[string]string{"reason": r.PostForm.Get("reason")}, map[string]string{field: msg})
}

// attachment serves a file of a ticket the user may see, through the
// API's safe download (sandboxing CSP, inline only for inert types).
func (w *Web) attachment(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return desk.Errorf(desk.ENotFound, "no such attachment")
	}
	at, data, err := w.desk.Attachment(r.Context(), c.Actor, r.PathValue("number"), id)
	if err != nil {
		return err
	}
	rw.Header().Set("Cache-Control", "private, no-store")
	api.ServeAttachment(rw, at, data)
	return nil
}

// ticketFiles are the attachments that belong to no message (sent with
// the request itself).
func ticketFiles(tl desk.Timeline) []desk.Attachment {
	var out []desk.Attachment
	for _, a := range tl.Attachments {
		if a.MessageID == 0 {
			out = append(out, a)
		}
	}
	return out
}

func trimmed(s string) string { return strings.TrimSpace(s) }

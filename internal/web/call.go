package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/sportello/sportello/internal/desk"
)

// Phone and in-person registration (scenario 6): one form. The caller is
// found as the agent types (htmx asks /operatore/persone for a fragment of
// radio buttons); without JavaScript the "Cerca" button posts the form back
// with the same results, keeping what was typed.

// minLookup is the shortest text worth looking up.
const minLookup = 3

// peopleResults is the caller lookup, shared by the page and the fragment.
type peopleResults struct {
	Query    string
	People   []desk.PersonMatch
	Searched bool
	TooShort bool
	Selected string // e-mail of the picked caller
}

type callView struct {
	Page
	peopleResults
	Services []desk.Service
	Form     map[string]string
	Errors   map[string]string
	// FieldSets are the own fields of every service that has some; a
	// script shows only the chosen service's.
	FieldSets []serviceFieldsView
}

type peopleView struct {
	Page
	peopleResults
}

func (w *Web) lookup(r *http.Request, c *reqCtx, q, selected string) (peopleResults, error) {
	res := peopleResults{Query: strings.TrimSpace(q), Selected: selected}
	if res.Query == "" {
		return res, nil
	}
	res.Searched = true
	if utf8.RuneCountInString(res.Query) < minLookup {
		res.TooShort = true
		return res, nil
	}
	var err error
	res.People, err = w.desk.FindPeople(r.Context(), c.Actor, res.Query, 10)
	return res, err
}

func (w *Web) callForm(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	form := map[string]string{"channel": string(desk.ChannelPhone), "priority": string(desk.PriorityNormal)}
	if ch := r.URL.Query().Get("canale"); ch == string(desk.ChannelInPerson) {
		form["channel"] = ch
	}
	q := r.URL.Query().Get("q")
	form["q"] = q
	res, err := w.lookup(r, c, q, "")
	if err != nil {
		return err
	}
	return w.renderCall(rw, r, c, http.StatusOK, res, form, nil)
}

func (w *Web) renderCall(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, res peopleResults, form, errs map[string]string) error {
	svcs, err := w.desk.Services(r.Context(), c.Actor)
	if err != nil {
		return err
	}
	defs, err := w.serviceFields(r.Context(), c.Actor)
	if err != nil {
		return err
	}
	p := w.newPage(r, c, "call")
	p.Title = p.T("call.title")
	v := &callView{Page: p, peopleResults: res, Services: svcs, Form: form, Errors: errs}
	for _, svc := range svcs {
		if d := defs[svc.Code]; len(d) > 0 {
			fs := buildFields(c.Lang, svc, d, form, errs)
			fs.NoRequiredAttr, fs.Chosen = true, svc.Code == form["service"]
			v.FieldSets = append(v.FieldSets, fs)
		}
	}
	w.render(rw, r, status, "call", v)
	return nil
}

// callFields are the inputs of the registration form.
var callFields = []string{"q", "caller", "caller_name", "caller_email", "caller_phone", "service", "subject", "description", "channel", "priority"}

func (w *Web) call(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	form := map[string]string{}
	for _, k := range callFields {
		form[k] = strings.TrimSpace(r.PostForm.Get(k))
	}
	form["description"] = r.PostForm.Get("description")
	res, err := w.lookup(r, c, form["q"], form["caller"])
	if err != nil {
		return err
	}
	defs, err := w.serviceFields(r.Context(), c.Actor)
	if err != nil {
		return err
	}
	for svc, d := range defs { // keep what was typed for every service
		postedFields(r.PostForm, svc, d, form)
	}
	if r.PostForm.Get("action") == "search" {
		return w.renderCall(rw, r, c, http.StatusOK, res, form, nil)
	}

	in := desk.NewTicket{Subject: form["subject"], Description: form["description"], Service: form["service"],
		Channel: desk.Channel(form["channel"]), Priority: desk.Priority(form["priority"]),
		Fields: postedFields(r.PostForm, form["service"], defs[form["service"]], form)}
	if in.Channel != desk.ChannelPhone && in.Channel != desk.ChannelInPerson {
		in.Channel = desk.ChannelPhone
	}
	if form["caller"] != "" {
		// A known person: the desk fills name and phone from their record.
		in.Requester = desk.Contact{Email: form["caller"]}
	} else {
		in.Requester = desk.Contact{Email: form["caller_email"], Name: form["caller_name"], Phone: form["caller_phone"]}
	}
	errs := map[string]string{}
	if in.Requester == (desk.Contact{}) {
		errs["caller"] = translate(c.Lang, "call.caller.required")
	}
	if len(errs) == 0 {
		t, err := w.desk.CreateTicket(r.Context(), c.Actor, in)
		if err == nil {
			w.flash(r, c, "call.created", t.Number)
			redirect(rw, r, "/operatore/ticket/"+url.PathEscape(t.Number))
			return nil
		}
		field, msg, ok := formError(c.Lang, err)
		if !ok {
			return err
		}
		if id := fieldErrorID(form["service"], field); id != "" {
			field, msg = id, fieldErrorMsg(c.Lang, err, defs[form["service"]], field)
		}
		switch {
		case strings.HasPrefix(field, "f-"):
		case field == "requester.email":
			field = "caller_email"
		case field == "channel", field == "priority", field == "service", field == "subject", field == "description":
		default:
			field = "subject"
		}
		errs[field] = msg
	}
	return w.renderCall(rw, r, c, http.StatusUnprocessableEntity, res, form, errs)
}

// people answers the as-you-type caller lookup with a fragment. A browser
// without htmx that lands here is sent to the full form.
func (w *Web) people(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query().Get("q")
	if r.Header.Get("HX-Request") != "true" {
		redirect(rw, r, "/operatore/chiamata?q="+url.QueryEscape(q))
		return nil
	}
	res, err := w.lookup(r, c, q, r.URL.Query().Get("caller"))
	if err != nil {
		return err
	}
	p := w.newPage(r, c, "call")
	rw.Header().Set("Vary", "HX-Request")
	w.renderFragment(rw, "people", &peopleView{Page: p, peopleResults: res})
	return nil
}

package web

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
)

// A service's own fields on the forms that open requests: the portal's
// form and the agents' phone and in-person registration. Each control is
// named "f.SERVICE.CODE" (so that the registration form, which shows the
// fields of every service until a script hides the others, posts each
// service's values apart) and has the id "f-SERVICE-CODE", which is also
// the key of its error (see fieldID).

// fieldView is one control of a service's fields.
type fieldView struct {
	ID, Name, Label, Help, Type, Value, Error string
	Required                                  bool
	Options                                   []optionView
}

// optionView is one choice of a select.
type optionView struct {
	Value, Label string
	Selected     bool
}

// serviceFieldsView is the fields of one service.
type serviceFieldsView struct {
	Service string
	Name    string
	Fields  []fieldView
	// Chosen is set when the service is the one selected on the form.
	Chosen bool
	// NoRequiredAttr leaves out the HTML required attribute (the
	// registration form shows every service's fields at once); the server
	// still enforces required fields of the chosen service.
	NoRequiredAttr bool
}

func fieldName(svc, code string) string  { return "f." + svc + "." + code }
func fieldCtlID(svc, code string) string { return "f-" + svc + "-" + code }

// serviceFields returns the field definitions of the actor's services by
// code (none without a workflow).
func (w *Web) serviceFields(ctx context.Context, a desk.Actor) (map[string][]catalog.FormField, error) {
	if w.workflow == nil {
		return nil, nil
	}
	return w.workflow.ServiceFields(ctx, a)
}

// buildFields prepares the controls of a service's fields with what was
// posted (form, keyed by control name) and the errors (keyed by id).
func buildFields(lang string, svc desk.Service, defs []catalog.FormField, form, errs map[string]string) serviceFieldsView {
	v := serviceFieldsView{Service: svc.Code, Name: svc.Name}
	for _, f := range defs {
		fv := fieldView{ID: fieldCtlID(svc.Code, f.Code), Name: fieldName(svc.Code, f.Code), Label: f.LabelIn(lang), Help: f.HelpIn(lang),
			Type: string(f.Type), Required: f.Required}
		fv.Value = form[fv.Name]
		fv.Error = errs[fv.ID]
		for _, o := range f.Options {
			fv.Options = append(fv.Options, optionView{Value: o.Value, Label: o.LabelIn(lang), Selected: o.Value == fv.Value})
		}
		v.Fields = append(v.Fields, fv)
	}
	return v
}

// postedFields returns the values posted for a service's fields, keyed
// by field code, and records them in form (keyed by control name) to show
// them again. It returns nil when the service has no fields, so that the
// desk reads no catalogue; otherwise a map, even if empty, so that
// required fields are enforced.
func postedFields(post url.Values, svc string, defs []catalog.FormField, form map[string]string) map[string]string {
	if len(defs) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, f := range defs {
		name := fieldName(svc, f.Code)
		v := post.Get(name)
		form[name] = v
		if strings.TrimSpace(v) != "" {
			out[f.Code] = v
		}
	}
	return out
}

// fieldErrorID maps a desk error field "fields.CODE" to the id of the
// control of the given service, or "" when it is not a field error.
func fieldErrorID(svc, field string) string {
	code, ok := strings.CutPrefix(field, "fields.")
	if !ok {
		return ""
	}
	return fieldCtlID(svc, code)
}

// fieldErrorMsg is the message shown by a field the desk refused, in the
// page's language, chosen by the field's type.
func fieldErrorMsg(lang string, err error, defs []catalog.FormField, field string) string {
	if errors.Is(err, catalog.ErrRequired) {
		return translate(lang, "fields.err.required")
	}
	code := strings.TrimPrefix(field, "fields.")
	for _, f := range defs {
		if f.Code == code {
			return translate(lang, "fields.err."+string(f.Type))
		}
	}
	return translate(lang, "err.invalid")
}

package desk

import "context"

// FieldValue is a value of one of a service's own fields ("its form shows
// what the service needs"), stored with the ticket together with the labels
// it was entered under, so that it reads the same after the catalogue
// changes. The definitions and the checks of each type live in package
// catalog; the desk only carries and stores them.
type FieldValue struct {
	Code    string `json:"code"`
	Label   string `json:"label"`
	LabelEN string `json:"label_en,omitempty"`
	Type    string `json:"type"`
	// Value is canonical (a date as YYYY-MM-DD, a select option's value).
	Value string `json:"value"`
	// Text and TextEN are what is shown (a select option's label).
	Text   string `json:"text"`
	TextEN string `json:"text_en,omitempty"`
}

// LabelIn returns the label in lang ("en" or Italian).
func (v FieldValue) LabelIn(lang string) string {
	if lang == "en" && v.LabelEN != "" {
		return v.LabelEN
	}
	return v.Label
}

// TextIn returns the shown value in lang ("en" or Italian).
func (v FieldValue) TextIn(lang string) string {
	if lang == "en" && v.TextEN != "" {
		return v.TextEN
	}
	return v.Text
}

// FieldChecker checks the values given for a new ticket's service fields
// and returns them canonical, in the service's order. enforceRequired is
// false for requests that cannot carry fields (see CreateTicket). Its
// refusals are *Error with code EInvalid and Field "fields.CODE". It runs
// in the read transaction of CreateTicket.
type FieldChecker func(ctx context.Context, tx Tx, svc Service, values map[string]string, enforceRequired bool) ([]FieldValue, error)

// SetFieldChecker installs the check of service fields (the workflow's,
// which knows the catalogue). It must be called before the desk is shared.
// Without one, a ticket that carries field values is refused.
func (d *Desk) SetFieldChecker(fc FieldChecker) { d.fieldCheck = fc }

// checkFields validates in.Fields for the service svc (zero: none).
// Required fields are enforced when the request carries a field map at
// all (in.Fields not nil: the portal and registration forms always send
// one; an API client sends "fields"); a free-text request such as an
// e-mail, which cannot carry them, is accepted and completed by the desk.
func (d *Desk) checkFields(ctx context.Context, tx Tx, svc Service, in NewTicket) ([]FieldValue, error) {
	if svc.ID == 0 {
		if len(in.Fields) > 0 {
			return nil, FieldError("fields", "fields need a service")
		}
		return nil, nil
	}
	if in.Fields == nil {
		// Nothing to check and nothing required: no catalogue read.
		return nil, nil
	}
	if d.fieldCheck == nil {
		if len(in.Fields) > 0 {
			return nil, FieldError("fields", "service %s has no fields", svc.Code)
		}
		return nil, nil
	}
	return d.fieldCheck(ctx, tx, svc, in.Fields, in.Fields != nil)
}

package desk

import (
	"context"
	"strings"
	"time"
)

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

// SetFields replaces the values of a ticket's service fields: staff
// complete or correct what a request carried (an e-mail carries none).
// values holds every field to keep, by code; they are checked like at
// registration, required fields included. The history records which
// fields changed (their labels), not their values (those stay where they can be
// redacted).
func (d *Desk) SetFields(ctx context.Context, a Actor, number string, values map[string]string) (Ticket, error) {
	if values == nil {
		values = map[string]string{}
	}
	var fields []FieldValue
	t, err := d.mutateTx(ctx, a, number, func(tx Tx, t *Ticket, prev Ticket, now time.Time) ([]Event, error) {
		if !CanWorkTicket(a, &prev) {
			return nil, Errorf(EForbidden, "only staff can change a ticket")
		}
		if prev.ServiceID == 0 {
			return nil, FieldError("fields", "the ticket has no service")
		}
		svc, err := tx.ServiceByID(ctx, prev.ServiceID)
		if err != nil {
			return nil, err
		}
		if d.fieldCheck == nil {
			return nil, FieldError("fields", "service %s has no fields", svc.Code)
		}
		if fields, err = d.fieldCheck(ctx, tx, svc, values, true); err != nil {
			return nil, err
		}
		old, err := tx.TicketFields(ctx, prev.ID)
		if err != nil {
			return nil, err
		}
		changed := changedFields(old, fields)
		if len(changed) == 0 {
			return nil, nil
		}
		if err := tx.SetTicketFields(ctx, prev.ID, fields); err != nil {
			return nil, err
		}
		return []Event{{Field: "fields", New: strings.Join(changed, ", ")}}, nil
	})
	if err != nil {
		return Ticket{}, err
	}
	t.Fields = fields
	return t, nil
}

// changedFields lists the labels of the fields whose value differs, in
// the new order, then those removed.
func changedFields(old, next []FieldValue) []string {
	was := map[string]string{}
	for _, f := range old {
		was[f.Code] = f.Value
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range next {
		seen[f.Code] = true
		if v, ok := was[f.Code]; !ok || v != f.Value {
			out = append(out, f.Label)
		}
	}
	for _, f := range old {
		if !seen[f.Code] {
			out = append(out, f.Label)
		}
	}
	return out
}

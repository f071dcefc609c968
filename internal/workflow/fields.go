package workflow

import (
	"context"
	"fmt"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
)

// CheckFields is the desk's FieldChecker: it checks the values of a new
// ticket's service fields against the service's current definitions in
// the catalogue (catalog.CheckValues) and returns them canonical. A
// service without details has no fields.
func (e *Engine) CheckFields(ctx context.Context, tx desk.Tx, svc desk.Service, values map[string]string, enforceRequired bool) ([]desk.FieldValue, error) {
	wtx, ok := tx.(Tx)
	if !ok {
		return nil, fmt.Errorf("workflow: the store's transaction does not implement workflow.Tx")
	}
	rec, err := wtx.ServiceRecord(ctx, svc.ID)
	if err != nil {
		return nil, err
	}
	vals, p := catalog.CheckValues(rec.Data.Fields, values, enforceRequired)
	if p != nil {
		e := &desk.Error{Code: desk.EInvalid, Field: "fields." + p.Field, Message: p.Msg}
		if p.Required {
			e.Err = catalog.ErrRequired
		}
		return nil, e
	}
	out := make([]desk.FieldValue, len(vals))
	for i, v := range vals {
		out[i] = desk.FieldValue{Code: v.Code, Label: v.Label, LabelEN: v.LabelEN, Type: string(v.Type), Value: v.Value, Text: v.Text, TextEN: v.TextEN}
	}
	return out, nil
}

// ServiceFields returns the field definitions of the organisation's active
// services by service code, for the forms that open requests.
func (e *Engine) ServiceFields(ctx context.Context, a desk.Actor) (map[string][]catalog.FormField, error) {
	out := map[string][]catalog.FormField{}
	err := e.desk.Store().View(ctx, func(dtx desk.Tx) error {
		tx, ok := dtx.(Tx)
		if !ok {
			return fmt.Errorf("workflow: the store's transaction does not implement workflow.Tx")
		}
		orgID := a.OrgID
		if orgID == 0 {
			o, err := desk.DefaultOrg(ctx, tx)
			if err != nil {
				return err
			}
			orgID = o.ID
		}
		recs, err := tx.ServiceRecords(ctx, orgID)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Service.Active && len(r.Data.Fields) > 0 {
				out[r.Service.Code] = r.Data.Fields
			}
		}
		return nil
	})
	return out, err
}

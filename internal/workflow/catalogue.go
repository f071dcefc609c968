package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
)

// Report says what an import changed. Lists hold service or queue codes.
type Report struct {
	Org           string
	OrgCreated    bool
	InfoChanged   bool // organisation data or criteria
	QueuesCreated []string
	Created       []string
	Updated       []string
	Unchanged     []string
	// Retired lists services of the catalogue that the file no longer
	// has: they are retired (never deleted, tickets refer to them).
	Retired []string
}

// Changed reports whether the import wrote anything.
func (r Report) Changed() bool {
	return r.OrgCreated || r.InfoChanged || len(r.QueuesCreated)+len(r.Created)+len(r.Updated)+len(r.Retired) > 0
}

// invalid wraps a catalogue validation or file error as an EInvalid domain
// error. The message is the catalogue error's text, unchanged (line and
// field of each problem), and errors.As still finds the catalog error.
func invalid(err error) error {
	e := &desk.Error{Code: desk.EInvalid, Message: err.Error(), Err: err}
	var fes catalog.FileErrors
	var ps catalog.Problems
	switch {
	case errors.As(err, &fes) && len(fes) > 0:
		e.Field = fes[0].Field
	case errors.As(err, &ps) && len(ps) > 0:
		e.Field = ps[0].Field
	}
	return e
}

// ImportFile reads a catalogue file (see catalog.Import) and imports it
// into the organisation (see ImportCatalogue). A file with problems is an
// EInvalid error whose message lists every problem with its line and
// field, as catalog.FileErrors does; errors.As finds the FileErrors.
func (e *Engine) ImportFile(ctx context.Context, a desk.Actor, orgCode string, r io.Reader, format catalog.Format) (Report, error) {
	cat, err := catalog.Import(r, format)
	if err != nil {
		var fes catalog.FileErrors
		if errors.As(err, &fes) {
			return Report{}, invalid(err)
		}
		return Report{}, err
	}
	return e.ImportCatalogue(ctx, a, orgCode, cat)
}

// ImportCatalogue makes the organisation's catalogue what cat says, in one
// transaction: the organisation's publication data and criteria, the
// queues the services name, and every service (the desk's row and the full
// record). Every change of a service is a new version recording who made
// it and which fields changed; a service the file leaves out is retired.
// Importing the same catalogue again changes nothing and adds no version.
//
// orgCode "" means cat.Organisation.Code; the stored publication data takes
// the organisation's code whatever the file says, so a catalogue can move
// between installations. A missing organisation is created when the actor
// administers the installation; otherwise only the organisation's
// administrators may import. A catalogue that does not validate is
// EInvalid (see invalid).
func (e *Engine) ImportCatalogue(ctx context.Context, a desk.Actor, orgCode string, cat *catalog.Catalogue) (Report, error) {
	if cat == nil {
		return Report{}, desk.FieldError("catalogue", "no catalogue to import")
	}
	if err := cat.Validate(); err != nil {
		return Report{}, invalid(err)
	}
	if orgCode == "" {
		orgCode = cat.Organisation.Code
	}
	var rep Report
	err := e.update(ctx, func(tx Tx, d *desk.Desk) error {
		rep = Report{Org: orgCode}
		org, err := tx.OrgByCode(ctx, orgCode)
		switch {
		case desk.IsNotFound(err) && (a.System || a.InstallationAdmin):
			if org, err = d.CreateOrg(ctx, a, desk.NewOrg{Code: orgCode, Name: cat.Organisation.Name}); err != nil {
				return err
			}
			rep.OrgCreated = true
		case desk.IsNotFound(err):
			return desk.Errorf(desk.ENotFound, "unknown organisation %q", orgCode)
		case err != nil:
			return err
		}
		if !desk.CanAdminOrg(a, org.ID) {
			return desk.Errorf(desk.EForbidden, "only administrators of %s can change its catalogue", org.Code)
		}
		return e.importInto(ctx, tx, a, org, cat, &rep)
	})
	if err != nil {
		return Report{}, err
	}
	return rep, nil
}

func (e *Engine) importInto(ctx context.Context, tx Tx, a desk.Actor, org desk.Organisation, cat *catalog.Catalogue, rep *Report) error {
	now := e.now()
	info := cat.Organisation
	info.Code = org.Code
	var crit []catalog.Criterion
	if len(cat.Criteria) > 0 {
		crit = slices.Clone(cat.Criteria)
	}
	old, err := tx.CatalogueInfo(ctx, org.ID)
	if err != nil && !desk.IsNotFound(err) {
		return err
	}
	if err != nil || !sameJSON(old.Info, info) || !sameJSON(old.Criteria, crit) {
		ci := CatalogueInfo{OrgID: org.ID, Info: info, Criteria: crit, Version: old.Version + 1, Updated: now, UpdatedBy: a.UserID}
		if err := tx.SaveCatalogueInfo(ctx, &ci); err != nil {
			return err
		}
		rep.InfoChanged = true
	}

	queues, err := e.ensureQueues(ctx, tx, org.ID, cat, rep)
	if err != nil {
		return err
	}
	recs, err := tx.ServiceRecords(ctx, org.ID)
	if err != nil {
		return err
	}
	byCode := make(map[string]ServiceRecord, len(recs))
	for _, r := range recs {
		byCode[r.Service.Code] = r
	}
	inFile := make(map[string]bool, len(cat.Services))
	for i, s := range cat.Services {
		inFile[s.Code] = true
		r, exists := byCode[s.Code]
		outcome, err := saveService(ctx, tx, a, org.ID, r, exists, s, i, queues[s.Queue], now)
		if err != nil {
			return err
		}
		switch outcome {
		case created:
			rep.Created = append(rep.Created, s.Code)
		case updated:
			rep.Updated = append(rep.Updated, s.Code)
		default:
			rep.Unchanged = append(rep.Unchanged, s.Code)
		}
	}
	// Services of the catalogue the file no longer lists are retired.
	// Services without details were made outside the catalogue: leave them.
	for _, r := range recs {
		if inFile[r.Service.Code] || r.Version == 0 || !r.Service.Active {
			continue
		}
		s := r.Data
		s.Active = false
		if _, err := saveService(ctx, tx, a, org.ID, r, true, s, r.Position, r.Service.QueueID, now); err != nil {
			return err
		}
		rep.Retired = append(rep.Retired, r.Service.Code)
	}
	return nil
}

// ensureQueues creates the queues the catalogue names (the services'
// queues and the triage queue) and returns every queue id by code.
func (e *Engine) ensureQueues(ctx context.Context, tx Tx, orgID int64, cat *catalog.Catalogue, rep *Report) (map[string]int64, error) {
	want := []string{}
	if cat.Organisation.TriageQueue != "" {
		want = append(want, cat.Organisation.TriageQueue)
	}
	for _, s := range cat.Services {
		if s.Queue != "" && !slices.Contains(want, s.Queue) {
			want = append(want, s.Queue)
		}
	}
	ids := map[string]int64{}
	for _, code := range want {
		q, err := tx.QueueByCode(ctx, orgID, code)
		if desk.IsNotFound(err) {
			q = desk.Queue{OrgID: orgID, Code: code, Name: QueueName(code)}
			err = tx.CreateQueue(ctx, &q)
			rep.QueuesCreated = append(rep.QueuesCreated, code)
		}
		if err != nil {
			return nil, err
		}
		ids[code] = q.ID
	}
	return ids, nil
}

// QueueName makes a readable name from a queue code:
// "sistemi-informativi" becomes "Sistemi informativi".
func QueueName(code string) string {
	s := strings.ReplaceAll(code, "-", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

type outcome int

const (
	unchanged outcome = iota
	created
	updated
)

// saveService writes one service: the desk's row (mirroring code, name,
// queue and active) and the details, with a new version when anything
// but the position changed.
func saveService(ctx context.Context, tx Tx, a desk.Actor, orgID int64, r ServiceRecord, exists bool, s catalog.Service, pos int, queueID int64, now time.Time) (outcome, error) {
	row := desk.Service{OrgID: orgID, Code: s.Code, Name: s.Name, QueueID: queueID, Active: s.Active}
	res := updated
	if !exists {
		if err := tx.CreateService(ctx, &row); err != nil {
			return 0, err
		}
		res = created
	} else {
		row.ID = r.Service.ID
		if row != r.Service {
			if err := tx.UpdateService(ctx, &row); err != nil {
				return 0, err
			}
		}
	}
	next := ServiceRecord{Service: row, Version: r.Version, Position: pos, Data: s, Updated: now, UpdatedBy: a.UserID}
	if exists && r.Version > 0 && sameJSON(r.Data, s) {
		if r.Position == pos && row == r.Service {
			return unchanged, nil
		}
		// Only the place in the catalogue (or a desk row edited behind
		// the catalogue's back) changed: no new version.
		next.Updated, next.UpdatedBy = r.Updated, r.UpdatedBy
		return unchanged, tx.SaveServiceDetails(ctx, &next, nil)
	}
	next.Version = r.Version + 1
	v := ServiceVersion{ServiceID: row.ID, Version: next.Version, Data: s, At: now, ByID: a.UserID}
	if r.Version > 0 {
		v.Changed = changedKeys(r.Data, s)
	}
	if err := tx.SaveServiceDetails(ctx, &next, &v); err != nil {
		return 0, err
	}
	return res, nil
}

// sameJSON compares two values by their JSON encoding, which is canonical
// for the catalogue's types (struct order, sorted map keys, omitted
// empties).
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// changedKeys lists the top-level keys whose values differ between two
// versions of a service.
func changedKeys(old, next catalog.Service) []string {
	var a, b map[string]json.RawMessage
	x, _ := json.Marshal(old)
	y, _ := json.Marshal(next)
	_ = json.Unmarshal(x, &a)
	_ = json.Unmarshal(y, &b)
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// orgByCode resolves an organisation code, "" meaning the default one.
// Unknown codes are ENotFound.
func orgByCode(ctx context.Context, tx desk.Tx, code string) (desk.Organisation, error) {
	if code == "" {
		return desk.DefaultOrg(ctx, tx)
	}
	o, err := tx.OrgByCode(ctx, code)
	if desk.IsNotFound(err) {
		return o, desk.Errorf(desk.ENotFound, "unknown organisation %q", code)
	}
	return o, err
}

// ExportCatalogue returns the organisation's whole catalogue ("" means the
// default organisation), internal fields included, in catalogue order.
// Imported into an empty installation it gives back the same catalogue.
// Services created outside the catalogue come last with what the desk
// knows of them (code, name, queue, active); they lack a description, so
// the file needs one before it imports. Only the organisation's staff and
// installation administrators may export.
func (e *Engine) ExportCatalogue(ctx context.Context, a desk.Actor, orgCode string) (*catalog.Catalogue, error) {
	var cat *catalog.Catalogue
	err := e.view(ctx, func(tx Tx) error {
		org, err := orgByCode(ctx, tx, orgCode)
		if err != nil {
			return err
		}
		if !CanReadCatalogue(a, org.ID) {
			return desk.Errorf(desk.ENotFound, "unknown organisation %q", orgCode)
		}
		cat, err = loadCatalogue(ctx, tx, org, false)
		return err
	})
	return cat, err
}

// PublicCatalogue returns what the organisation publishes ("" means the
// default organisation): its publication data, criteria and active
// services, without internal fields (team, queue, notes, triage queue).
// Anyone may read it; an unknown organisation is ENotFound.
func (e *Engine) PublicCatalogue(ctx context.Context, orgCode string) (*catalog.Catalogue, error) {
	var cat *catalog.Catalogue
	err := e.view(ctx, func(tx Tx) error {
		org, err := orgByCode(ctx, tx, orgCode)
		if err != nil {
			return err
		}
		cat, err = loadCatalogue(ctx, tx, org, true)
		return err
	})
	return cat, err
}

func loadCatalogue(ctx context.Context, tx Tx, org desk.Organisation, public bool) (*catalog.Catalogue, error) {
	cat := &catalog.Catalogue{Organisation: catalog.OrgInfo{Code: org.Code, Name: org.Name}}
	ci, err := tx.CatalogueInfo(ctx, org.ID)
	switch {
	case err == nil:
		cat.Organisation, cat.Criteria = ci.Info, ci.Criteria
	case !desk.IsNotFound(err):
		return nil, err
	}
	recs, err := tx.ServiceRecords(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	queueCodes := map[int64]string{}
	for _, r := range recs {
		if public && (r.Version == 0 || !r.Service.Active) {
			continue
		}
		s := r.Data
		if r.Version == 0 {
			s = catalog.Service{Code: r.Service.Code, Name: r.Service.Name, Active: r.Service.Active}
			if id := r.Service.QueueID; id != 0 {
				if _, ok := queueCodes[id]; !ok {
					q, err := tx.QueueByID(ctx, id)
					if err != nil {
						return nil, err
					}
					queueCodes[id] = q.Code
				}
				s.Queue = queueCodes[id]
			}
		}
		if public {
			s.Team, s.Queue = "", ""
		}
		cat.Services = append(cat.Services, s)
	}
	if public {
		cat.Organisation.Notes, cat.Organisation.TriageQueue = "", ""
	}
	return cat, nil
}

// SetServiceActive retires (active false) or reactivates a service of the
// organisation, as a new version. Only its administrators may do it;
// nothing changes when the service already is as asked.
func (e *Engine) SetServiceActive(ctx context.Context, a desk.Actor, orgCode, code string, active bool) error {
	return e.update(ctx, func(tx Tx, _ *desk.Desk) error {
		org, r, err := adminService(ctx, tx, a, orgCode, code)
		if err != nil {
			return err
		}
		if r.Service.Active == active && (r.Version == 0 || r.Data.Active == active) {
			return nil
		}
		if r.Version == 0 {
			row := r.Service
			row.Active = active
			return tx.UpdateService(ctx, &row)
		}
		s := r.Data
		s.Active = active
		_, err = saveService(ctx, tx, a, org.ID, r, true, s, r.Position, r.Service.QueueID, e.now())
		return err
	})
}

// SaveService creates or replaces one service of the organisation's
// catalogue (for an administration form), validated against the
// organisation's criteria, as a new version; its queue is created if
// missing. A new service goes at the end of the catalogue.
func (e *Engine) SaveService(ctx context.Context, a desk.Actor, orgCode string, s catalog.Service) error {
	return e.update(ctx, func(tx Tx, _ *desk.Desk) error {
		org, err := orgByCode(ctx, tx, orgCode)
		if err != nil {
			return err
		}
		if !desk.CanAdminOrg(a, org.ID) {
			return desk.Errorf(desk.EForbidden, "only administrators of %s can change its catalogue", org.Code)
		}
		var crit []catalog.Criterion
		if ci, err := tx.CatalogueInfo(ctx, org.ID); err == nil {
			crit = ci.Criteria
		} else if !desk.IsNotFound(err) {
			return err
		}
		if err := s.Validate(crit); err != nil {
			return invalid(err)
		}
		var rep Report
		queues, err := e.ensureQueues(ctx, tx, org.ID, &catalog.Catalogue{Services: []catalog.Service{s}}, &rep)
		if err != nil {
			return err
		}
		recs, err := tx.ServiceRecords(ctx, org.ID)
		if err != nil {
			return err
		}
		pos, found := 0, false
		var cur ServiceRecord
		for _, r := range recs {
			if r.Service.Code == s.Code {
				cur, found = r, true
			}
			if r.Version > 0 && r.Position >= pos {
				pos = r.Position + 1
			}
		}
		if found && cur.Version > 0 {
			pos = cur.Position
		}
		_, err = saveService(ctx, tx, a, org.ID, cur, found, s, pos, queues[s.Queue], e.now())
		return err
	})
}

// ServiceHistory returns every version of a service, oldest first, with
// who made it and which fields changed. The organisation's staff may read it.
func (e *Engine) ServiceHistory(ctx context.Context, a desk.Actor, orgCode, code string) ([]ServiceVersion, error) {
	var out []ServiceVersion
	err := e.view(ctx, func(tx Tx) error {
		org, err := orgByCode(ctx, tx, orgCode)
		if err != nil {
			return err
		}
		if !CanReadCatalogue(a, org.ID) {
			return desk.Errorf(desk.ENotFound, "unknown organisation %q", orgCode)
		}
		svc, err := tx.ServiceByCode(ctx, org.ID, code)
		if err != nil {
			return desk.Errorf(desk.ENotFound, "unknown service %q", code)
		}
		out, err = tx.ServiceVersions(ctx, svc.ID)
		return err
	})
	return out, err
}

func adminService(ctx context.Context, tx Tx, a desk.Actor, orgCode, code string) (desk.Organisation, ServiceRecord, error) {
	org, err := orgByCode(ctx, tx, orgCode)
	if err != nil {
		return org, ServiceRecord{}, err
	}
	if !desk.CanAdminOrg(a, org.ID) {
		return org, ServiceRecord{}, desk.Errorf(desk.EForbidden, "only administrators of %s can change its catalogue", org.Code)
	}
	svc, err := tx.ServiceByCode(ctx, org.ID, code)
	if err != nil {
		return org, ServiceRecord{}, desk.Errorf(desk.ENotFound, "unknown service %q", code)
	}
	r, err := tx.ServiceRecord(ctx, svc.ID)
	return org, r, err
}

// Seed organisations.
const (
	OrgProvinciaBrindisi = "provincia-brindisi"
)

// LoadSeeds loads the demo catalogues, idempotently: the ten services of
// the Provincia di Brindisi (seed 003) into organisation
// "provincia-brindisi" and the national BDNA service desk (seed 000) into
// its own organisation, creating the organisations when missing. It does
// not change the default organisation.
func (e *Engine) LoadSeeds(ctx context.Context) error {
	seeds := []struct {
		load     func() (*catalog.Catalogue, error)
		province string
	}{
		{catalog.ProvinciaBrindisi, "BR"},
		{catalog.DeskNazionale, ""},
	}
	for _, s := range seeds {
		cat, err := s.load()
		if err != nil {
			return err
		}
		o := cat.Organisation
		_, err = e.desk.CreateOrg(ctx, desk.SystemActor, desk.NewOrg{Code: o.Code, Name: o.Name, Province: s.province})
		if err != nil && desk.ErrorCode(err) != desk.EConflict {
			return err
		}
		if _, err := e.ImportCatalogue(ctx, desk.SystemActor, o.Code, cat); err != nil {
			return err
		}
	}
	return nil
}

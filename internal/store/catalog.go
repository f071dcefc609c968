package store

// The service catalogue and the phases of tickets (package workflow):
// migrations 0010_catalogue. Catalogue records are stored as JSON of the
// catalog package's types, beside the desk's services row that tickets
// refer to.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/workflow"
)

var _ workflow.Tx = (*q)(nil)

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode catalogue record: %w", err)
	}
	return string(b), nil
}

func unmarshal(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode catalogue record: %w", err)
	}
	return nil
}

// ---- organisations' publication data

func (t *q) CatalogueInfo(ctx context.Context, orgID int64) (workflow.CatalogueInfo, error) {
	c := workflow.CatalogueInfo{OrgID: orgID}
	var info, crit string
	var upd int64
	err := t.row(ctx, "SELECT version, info, criteria, updated_at, COALESCE(updated_by, 0) FROM catalogue_orgs WHERE org_id = $1", orgID).
		Scan(&c.Version, &info, &crit, &upd, &c.UpdatedBy)
	if err != nil {
		return c, notFound(err, "catalogue")
	}
	c.Updated = fromUS(upd)
	if err := unmarshal(info, &c.Info); err != nil {
		return c, err
	}
	return c, unmarshal(crit, &c.Criteria)
}

func (t *q) SaveCatalogueInfo(ctx context.Context, c *workflow.CatalogueInfo) error {
	info, err := marshal(c.Info)
	if err != nil {
		return err
	}
	crit := ""
	if len(c.Criteria) > 0 {
		if crit, err = marshal(c.Criteria); err != nil {
			return err
		}
	}
	_, err = t.exec(ctx, `INSERT INTO catalogue_org_versions (org_id, version, info, criteria, changed_at, changed_by)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.OrgID, c.Version, info, crit, us(c.Updated), nullID(c.UpdatedBy))
	if err != nil {
		return conflict(err, "the catalogue was changed meanwhile: try again")
	}
	_, err = t.exec(ctx, `INSERT INTO catalogue_orgs (org_id, version, info, criteria, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (org_id) DO UPDATE SET version = excluded.version, info = excluded.info, criteria = excluded.criteria,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		c.OrgID, c.Version, info, crit, us(c.Updated), nullID(c.UpdatedBy))
	return err
}

// ---- services

const serviceRecordSelect = `SELECT s.id, s.org_id, s.code, s.name, COALESCE(s.queue_id, 0), s.active,
	COALESCE(d.version, 0), COALESCE(d.position, 0), COALESCE(d.data, ''), COALESCE(d.updated_at, 0), COALESCE(d.updated_by, 0)
	FROM services s LEFT JOIN service_details d ON d.service_id = s.id`

func scanServiceRecord(r interface{ Scan(...any) error }) (workflow.ServiceRecord, error) {
	var x workflow.ServiceRecord
	var data string
	var upd int64
	s := &x.Service
	if err := r.Scan(&s.ID, &s.OrgID, &s.Code, &s.Name, &s.QueueID, &s.Active, &x.Version, &x.Position, &data, &upd, &x.UpdatedBy); err != nil {
		return x, err
	}
	x.Updated = fromUS(upd)
	return x, unmarshal(data, &x.Data)
}

func (t *q) ServiceRecords(ctx context.Context, orgID int64) ([]workflow.ServiceRecord, error) {
	rows, err := t.query(ctx, serviceRecordSelect+` WHERE s.org_id = $1
		ORDER BY CASE WHEN d.service_id IS NULL THEN 1 ELSE 0 END, d.position, s.name, s.id`, orgID)
	return scanAll(rows, err, func(r *sql.Rows) (workflow.ServiceRecord, error) { return scanServiceRecord(r) })
}

func (t *q) ServiceRecord(ctx context.Context, serviceID int64) (workflow.ServiceRecord, error) {
	x, err := scanServiceRecord(t.row(ctx, serviceRecordSelect+" WHERE s.id = $1", serviceID))
	return x, notFound(err, "service")
}

func (t *q) SaveServiceDetails(ctx context.Context, r *workflow.ServiceRecord, v *workflow.ServiceVersion) error {
	data, err := marshal(r.Data)
	if err != nil {
		return err
	}
	if v != nil {
		vdata, err := marshal(v.Data)
		if err != nil {
			return err
		}
		_, err = t.exec(ctx, `INSERT INTO service_versions (service_id, version, data, changed, changed_at, changed_by)
			VALUES ($1, $2, $3, $4, $5, $6)`, v.ServiceID, v.Version, vdata, strings.Join(v.Changed, ","), us(v.At), nullID(v.ByID))
		if err != nil {
			return conflict(err, "service %s was changed meanwhile: try again", r.Service.Code)
		}
	}
	_, err = t.exec(ctx, `INSERT INTO service_details (service_id, position, version, data, updated_at, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (service_id) DO UPDATE SET position = excluded.position, version = excluded.version, data = excluded.data,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		r.Service.ID, r.Position, r.Version, data, us(r.Updated), nullID(r.UpdatedBy))
	return err
}

func (t *q) ServiceVersions(ctx context.Context, serviceID int64) ([]workflow.ServiceVersion, error) {
	rows, err := t.query(ctx, `SELECT v.service_id, v.version, v.data, v.changed, v.changed_at, COALESCE(v.changed_by, 0), COALESCE(u.name, 'Sportello')
		FROM service_versions v LEFT JOIN users u ON u.id = v.changed_by WHERE v.service_id = $1 ORDER BY v.version`, serviceID)
	return scanAll(rows, err, func(r *sql.Rows) (workflow.ServiceVersion, error) {
		var v workflow.ServiceVersion
		var data, changed string
		var at int64
		if err := r.Scan(&v.ServiceID, &v.Version, &data, &changed, &at, &v.ByID, &v.ByName); err != nil {
			return v, err
		}
		v.At = fromUS(at)
		if changed != "" {
			v.Changed = strings.Split(changed, ",")
		}
		return v, unmarshal(data, &v.Data)
	})
}

// ---- phases of tickets

func (t *q) TicketPhases(ctx context.Context, ticketID int64) ([]workflow.TicketPhase, error) {
	rows, err := t.query(ctx, `SELECT p.ticket_id, p.seq, p.code, p.name, p.kind, p.requires_approval, p.supplier, p.state,
		p.started_at, p.done_at, COALESCE(p.done_by, 0), COALESCE(u.name, ''), p.note
		FROM ticket_phases p LEFT JOIN users u ON u.id = p.done_by WHERE p.ticket_id = $1 ORDER BY p.seq`, ticketID)
	return scanAll(rows, err, func(r *sql.Rows) (workflow.TicketPhase, error) {
		var p workflow.TicketPhase
		var st, dn int64
		err := r.Scan(&p.TicketID, &p.Seq, &p.Code, &p.Name, &p.Kind, &p.RequiresApproval, &p.Supplier, &p.State,
			&st, &dn, &p.DoneByID, &p.DoneByName, &p.Note)
		p.Started, p.Done = fromUS(st), fromUS(dn)
		return p, err
	})
}

func (t *q) InsertTicketPhases(ctx context.Context, ps []workflow.TicketPhase) error {
	for _, p := range ps {
		_, err := t.exec(ctx, `INSERT INTO ticket_phases (ticket_id, seq, code, name, kind, requires_approval, supplier, state, started_at, done_at, done_by, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			p.TicketID, p.Seq, p.Code, p.Name, string(p.Kind), p.RequiresApproval, p.Supplier, string(p.State),
			us(p.Started), us(p.Done), nullID(p.DoneByID), p.Note)
		if err != nil {
			return conflict(err, "the phases of the ticket have already started")
		}
	}
	return nil
}

func (t *q) DeleteTicketPhases(ctx context.Context, ticketID int64) error {
	_, err := t.exec(ctx, "DELETE FROM ticket_phases WHERE ticket_id = $1", ticketID)
	return err
}

func (t *q) UpdateTicketPhase(ctx context.Context, p *workflow.TicketPhase) error {
	_, err := t.exec(ctx, "UPDATE ticket_phases SET state = $3, started_at = $4, done_at = $5, done_by = $6, note = $7 WHERE ticket_id = $1 AND seq = $2",
		p.TicketID, p.Seq, string(p.State), us(p.Started), us(p.Done), nullID(p.DoneByID), p.Note)
	return err
}

// ---- approvals

func (t *q) InsertApproval(ctx context.Context, a *workflow.Approval) error {
	id, err := t.insert(ctx, "INSERT INTO approvals (ticket_id, phase_code, decision, reason, approver_id, decided_at) VALUES ($1, $2, $3, $4, $5, $6)",
		a.TicketID, a.Phase, string(a.Decision), a.Reason, nullID(a.ApproverID), us(a.At))
	a.ID = id
	return err
}

func (t *q) Approvals(ctx context.Context, ticketID int64) ([]workflow.Approval, error) {
	rows, err := t.query(ctx, `SELECT a.id, a.ticket_id, a.phase_code, a.decision, a.reason, COALESCE(a.approver_id, 0),
		COALESCE(u.name, 'Sportello'), COALESCE(u.email, ''), a.decided_at
		FROM approvals a LEFT JOIN users u ON u.id = a.approver_id WHERE a.ticket_id = $1 ORDER BY a.id`, ticketID)
	return scanAll(rows, err, func(r *sql.Rows) (workflow.Approval, error) {
		var a workflow.Approval
		var at int64
		err := r.Scan(&a.ID, &a.TicketID, &a.Phase, &a.Decision, &a.Reason, &a.ApproverID, &a.ApproverName, &a.ApproverEmail, &at)
		a.At = fromUS(at)
		return a, err
	})
}

// ---- supplier calls

func (t *q) InsertSupplierCall(ctx context.Context, c *workflow.SupplierCall) error {
	id, err := t.insert(ctx, `INSERT INTO supplier_calls (ticket_id, phase_code, supplier, contact, reference, notes, called_at, resolved_at, resolution, created_by, resolved_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.TicketID, c.Phase, c.Supplier, c.Contact, c.Reference, c.Notes, us(c.Called), us(c.Resolved), c.Resolution,
		nullID(c.CreatedByID), nullID(c.ResolvedByID))
	c.ID = id
	return err
}

func (t *q) ResolveSupplierCall(ctx context.Context, c *workflow.SupplierCall) error {
	_, err := t.exec(ctx, "UPDATE supplier_calls SET resolved_at = $2, resolution = $3, resolved_by = $4 WHERE id = $1",
		c.ID, us(c.Resolved), c.Resolution, nullID(c.ResolvedByID))
	return err
}

func (t *q) SupplierCalls(ctx context.Context, ticketID int64) ([]workflow.SupplierCall, error) {
	rows, err := t.query(ctx, `SELECT c.id, c.ticket_id, c.phase_code, c.supplier, c.contact, c.reference, c.notes, c.called_at,
		c.resolved_at, c.resolution, COALESCE(c.created_by, 0), COALESCE(u.name, 'Sportello'), COALESCE(c.resolved_by, 0)
		FROM supplier_calls c LEFT JOIN users u ON u.id = c.created_by WHERE c.ticket_id = $1 ORDER BY c.id`, ticketID)
	return scanAll(rows, err, func(r *sql.Rows) (workflow.SupplierCall, error) {
		var c workflow.SupplierCall
		var called, resolved int64
		err := r.Scan(&c.ID, &c.TicketID, &c.Phase, &c.Supplier, &c.Contact, &c.Reference, &c.Notes, &called,
			&resolved, &c.Resolution, &c.CreatedByID, &c.CreatedByName, &c.ResolvedByID)
		c.Called, c.Resolved = fromUS(called), fromUS(resolved)
		return c, err
	})
}

// ---- automatic closure

func (t *q) ResolvedBefore(ctx context.Context, before time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := t.query(ctx, fmt.Sprintf(`SELECT t.number FROM tickets t
		WHERE t.status = $1 AND t.resolved_at > 0 AND t.resolved_at <= $2 AND t.merged_into IS NULL
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.kind = $3 AND m.created_at >= t.resolved_at)
		ORDER BY t.resolved_at, t.id LIMIT %d`, limit), string(desk.StatusResolved), us(before), string(desk.MessageIncoming))
	return scanAll(rows, err, func(r *sql.Rows) (string, error) {
		var n string
		return n, r.Scan(&n)
	})
}

func (t *q) AnsweredSince(ctx context.Context, ticketID int64, since time.Time) (bool, error) {
	var n int
	err := t.row(ctx, "SELECT COUNT(*) FROM messages WHERE ticket_id = $1 AND kind = $2 AND created_at >= $3",
		ticketID, string(desk.MessageIncoming), us(since)).Scan(&n)
	return n > 0, err
}

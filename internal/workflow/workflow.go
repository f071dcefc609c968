// Package workflow runs the service catalogue on the desk. It keeps each
// organisation's catalogue of procedimenti (the types and file format are
// package catalog's) in the store, versioning every change, and it moves
// tickets through the phases of their service: approval gates that only an
// approver may pass, calls to external suppliers, verification with the
// requester and automatic closure after a silence.
//
// Phases are tracked beside the ticket's status, not instead of it. Every
// status change goes through desk.Desk, the one path for the lifecycle
// rules; so that a step and the status change it implies commit together,
// the engine runs a desk.Desk bound to its own transaction (see deskIn).
// Every step writes desk.Events, so it shows in the ticket's history.
//
// The package imports only desk and catalog. The store implements Tx.
package workflow

import (
	"context"
	"time"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
)

// Tx is what the engine needs inside a transaction: the desk's operations
// plus the catalogue's and the phases'. The store's transaction implements
// it; the engine type-asserts the desk.Tx it is handed. Getters return an
// ENotFound *desk.Error when nothing matches.
type Tx interface {
	desk.Tx

	// AfterCommit registers fn to run once the transaction has committed.
	AfterCommit(fn func())

	// CatalogueInfo returns an organisation's publication data.
	CatalogueInfo(ctx context.Context, orgID int64) (CatalogueInfo, error)
	// SaveCatalogueInfo makes c current and appends it as version
	// c.Version, which the caller sets to the previous version plus one.
	SaveCatalogueInfo(ctx context.Context, c *CatalogueInfo) error

	// ServiceRecords returns every service of the organisation, those with
	// details first in catalogue order, then the others by name.
	ServiceRecords(ctx context.Context, orgID int64) ([]ServiceRecord, error)
	// ServiceRecord returns one service with its details (Version 0 when
	// it has none).
	ServiceRecord(ctx context.Context, serviceID int64) (ServiceRecord, error)
	// SaveServiceDetails makes r's details current. When v is not nil it
	// is appended to the service's history; r.Version must equal
	// v.Version then. A version number taken meanwhile is EConflict.
	SaveServiceDetails(ctx context.Context, r *ServiceRecord, v *ServiceVersion) error
	// ServiceVersions returns the history of a service, oldest first.
	ServiceVersions(ctx context.Context, serviceID int64) ([]ServiceVersion, error)

	// TicketPhases returns the phases of a ticket in order (none if its
	// phases have not started).
	TicketPhases(ctx context.Context, ticketID int64) ([]TicketPhase, error)
	InsertTicketPhases(ctx context.Context, ps []TicketPhase) error
	// UpdateTicketPhase writes the state, times, author and note of a
	// phase identified by ticket and sequence number.
	UpdateTicketPhase(ctx context.Context, p *TicketPhase) error
	// DeleteTicketPhases removes a ticket's phases (its service changed
	// before any work was recorded on them).
	DeleteTicketPhases(ctx context.Context, ticketID int64) error

	InsertApproval(ctx context.Context, a *Approval) error
	// Approvals returns a ticket's decisions, oldest first.
	Approvals(ctx context.Context, ticketID int64) ([]Approval, error)

	InsertSupplierCall(ctx context.Context, c *SupplierCall) error
	// ResolveSupplierCall records the resolution of a call.
	ResolveSupplierCall(ctx context.Context, c *SupplierCall) error
	// SupplierCalls returns a ticket's supplier calls, oldest first.
	SupplierCalls(ctx context.Context, ticketID int64) ([]SupplierCall, error)

	// ResolvedBefore returns up to limit numbers of tickets resolved at or
	// before t that are still resolved and have no incoming message since
	// their resolution, oldest first.
	ResolvedBefore(ctx context.Context, t time.Time, limit int) ([]string, error)
	// AnsweredSince reports whether the ticket has an incoming message
	// (from the requester) created at or after since.
	AnsweredSince(ctx context.Context, ticketID int64, since time.Time) (bool, error)
}

// CatalogueInfo is what an organisation publishes about itself, and the
// criteria its services are assessed against.
type CatalogueInfo struct {
	OrgID int64
	Info  catalog.OrgInfo
	// Criteria are the organisation's own criteria; nil means the
	// default a–g (catalog.DefaultCriteria).
	Criteria  []catalog.Criterion
	Version   int
	Updated   time.Time
	UpdatedBy int64
}

// ServiceRecord is a service: the desk's row (identity, queue, active) and
// the full catalogue record.
type ServiceRecord struct {
	Service desk.Service
	// Version is the number of the current details; 0 means the service
	// has no details (it was created outside the catalogue).
	Version   int
	Position  int
	Data      catalog.Service
	Updated   time.Time
	UpdatedBy int64
}

// ServiceVersion is one entry of a service's history.
type ServiceVersion struct {
	ServiceID int64
	Version   int
	Data      catalog.Service
	// Changed lists the file-format keys that changed from the previous
	// version, such as "phases" or "office"; empty for the first.
	Changed []string
	At      time.Time
	ByID    int64
	ByName  string // "Sportello" for the system
}

// Opts configures an Engine.
type Opts struct {
	// Desk is the desk the engine works on: its store (which must hand
	// out transactions implementing Tx) and its clock.
	Desk *desk.Desk
	// Notify, when set, is called after a commit that changed a ticket
	// (pass the same function as desk.Opts.Notify).
	Notify func(ticketID int64)
}

// Engine runs the catalogue and the phases of tickets.
type Engine struct {
	desk   *desk.Desk
	store  desk.Store
	notify func(int64)
}

// New returns an Engine.
func New(o Opts) *Engine {
	return &Engine{desk: o.Desk, store: o.Desk.Store(), notify: o.Notify}
}

// now is the desk's clock.
func (e *Engine) now() time.Time { return e.desk.Now() }

// txStore is a desk.Store bound to one open transaction: Update and View
// run fn on it directly. A desk.Desk built on it applies the desk's rules
// inside the engine's transaction.
type txStore struct{ tx desk.Tx }

func (s txStore) Update(_ context.Context, fn func(desk.Tx) error) error { return fn(s.tx) }
func (s txStore) View(_ context.Context, fn func(desk.Tx) error) error   { return fn(s.tx) }

// deskIn returns a desk.Desk working inside tx, with the desk's rules,
// clock and hooks; its change notifications wait for the commit.
func (e *Engine) deskIn(tx Tx) *desk.Desk {
	return e.desk.Bound(txStore{tx}, func(id int64) { e.changed(tx, id) })
}

func (e *Engine) changed(tx Tx, ticketID int64) {
	if e.notify != nil {
		tx.AfterCommit(func() { e.notify(ticketID) })
	}
}

func asTx(t desk.Tx) (Tx, error) {
	tx, ok := t.(Tx)
	if !ok {
		return nil, desk.Errorf(desk.EInternal, "the store (%T) does not support the service catalogue", t)
	}
	return tx, nil
}

// update runs fn in one write transaction with a desk bound to it.
func (e *Engine) update(ctx context.Context, fn func(tx Tx, d *desk.Desk) error) error {
	return e.store.Update(ctx, func(t desk.Tx) error {
		tx, err := asTx(t)
		if err != nil {
			return err
		}
		return fn(tx, e.deskIn(tx))
	})
}

// view runs fn on a read-only transaction.
func (e *Engine) view(ctx context.Context, fn func(tx Tx) error) error {
	return e.store.View(ctx, func(t desk.Tx) error {
		tx, err := asTx(t)
		if err != nil {
			return err
		}
		return fn(tx)
	})
}

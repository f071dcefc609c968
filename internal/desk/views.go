package desk

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ViewFilter is what a count can be taken over: the filters of the
// workspace list except text search. Zero fields do not filter.
type ViewFilter struct {
	Statuses   []Status // empty: every status
	QueueID    int64
	ServiceID  int64
	AssigneeID int64
	Unassigned bool
}

// OpenStatuses are the statuses of tickets that still need the desk.
func OpenStatuses() []Status {
	var out []Status
	for _, s := range Statuses {
		if s.Open() {
			out = append(out, s)
		}
	}
	return out
}

// CountViews returns, for each filter, how many tickets of the actor's
// organisation (every organisation's, for an installation administrator)
// match it, from the maintained counters: one indexed sum of counter rows
// per filter, never a count of tickets. Staff only.
func (d *Desk) CountViews(ctx context.Context, a Actor, fs []ViewFilter) ([]int64, error) {
	if !a.IsStaff() {
		return nil, Errorf(EForbidden, "only staff can count tickets")
	}
	sc := TicketScope(a)
	out := make([]int64, len(fs))
	err := d.store.View(ctx, func(tx Tx) error {
		for i, f := range fs {
			n, err := tx.CountView(ctx, sc.OrgIDs, f)
			if err != nil {
				return err
			}
			out[i] = n
		}
		return nil
	})
	return out, err
}

// SavedView is a named filter of the agents' ticket list. OwnerID 0 makes
// it shared with the whole organisation. Query is the list's query string,
// opaque to the desk (the web UI checks its keys).
type SavedView struct {
	ID        int64
	OrgID     int64
	OwnerID   int64
	Name      string
	Query     string
	CreatedBy int64
	Created   time.Time
}

// Shared reports whether the view is the organisation's rather than one
// person's.
func (v SavedView) Shared() bool { return v.OwnerID == 0 }

// Limits of saved views.
const (
	MaxViewName  = 80
	MaxViewQuery = 1000
	MaxViews     = 50 // personal views per person, shared views per organisation
)

// CanShareViews reports whether the actor may create and delete shared
// views: approvers and administrators (the desk's team leads).
func CanShareViews(a Actor) bool { return a.Role == RoleApprover || a.Role == RoleAdmin }

// SavedViews returns the actor's personal views and their organisation's
// shared views, shared first, then by name. Staff only.
func (d *Desk) SavedViews(ctx context.Context, a Actor) ([]SavedView, error) {
	if !a.IsStaff() || a.UserID == 0 {
		return nil, Errorf(EForbidden, "only staff have saved views")
	}
	var out []SavedView
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		out, err = tx.SavedViews(ctx, a.OrgID, a.UserID)
		return err
	})
	return out, err
}

// SaveView stores a new view named name for query, personal or shared
// (approvers and administrators only).
func (d *Desk) SaveView(ctx context.Context, a Actor, name, query string, shared bool) (SavedView, error) {
	if !a.IsStaff() || a.UserID == 0 {
		return SavedView{}, Errorf(EForbidden, "only staff have saved views")
	}
	if shared && !CanShareViews(a) {
		return SavedView{}, &Error{Code: EForbidden, Field: "shared", Message: "only approvers and administrators share views"}
	}
	name = cleanLine(name)
	if name == "" {
		return SavedView{}, FieldError("name", "name is required")
	}
	if utf8.RuneCountInString(name) > MaxViewName {
		return SavedView{}, FieldError("name", "name is longer than %d characters", MaxViewName)
	}
	if len(query) > MaxViewQuery || strings.ContainsAny(query, "\r\n\t\x00 ") || !utf8.ValidString(query) {
		return SavedView{}, FieldError("query", "invalid filter")
	}
	v := SavedView{OrgID: a.OrgID, Name: name, Query: query, CreatedBy: a.UserID, Created: d.Now()}
	if !shared {
		v.OwnerID = a.UserID
	}
	err := d.store.Update(ctx, func(tx Tx) error {
		have, err := tx.SavedViews(ctx, a.OrgID, a.UserID)
		if err != nil {
			return err
		}
		n := 0
		for _, h := range have {
			if h.Shared() == shared {
				n++
			}
			if h.Shared() == shared && strings.EqualFold(h.Name, name) {
				return &Error{Code: EConflict, Field: "name", Message: "a view with this name exists"}
			}
		}
		if n >= MaxViews {
			return FieldError("name", "at most %d views", MaxViews)
		}
		return tx.InsertSavedView(ctx, &v)
	})
	return v, err
}

// DeleteView removes a view: a personal one by its owner, a shared one by
// an approver or administrator of its organisation. Others' views are not
// found.
func (d *Desk) DeleteView(ctx context.Context, a Actor, id int64) error {
	if !a.IsStaff() || a.UserID == 0 {
		return Errorf(EForbidden, "only staff have saved views")
	}
	return d.store.Update(ctx, func(tx Tx) error {
		v, err := tx.SavedViewByID(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case v.OrgID != a.OrgID && !a.InstallationAdmin,
			!v.Shared() && v.OwnerID != a.UserID:
			return Errorf(ENotFound, "view not found")
		case v.Shared() && !CanShareViews(a):
			return Errorf(EForbidden, "only approvers and administrators delete shared views")
		}
		return tx.DeleteSavedView(ctx, id)
	})
}

// Order is a sort order of ticket lists.
type Order string

// The orders. Newest is the default (and the API's contract).
const (
	OrderNewest   Order = "newest"
	OrderOldest   Order = "oldest"
	OrderUpdated  Order = "updated"  // last update first
	OrderPriority Order = "priority" // urgent first, then newest
)

// Orders lists the sort orders.
var Orders = []Order{OrderNewest, OrderOldest, OrderUpdated, OrderPriority}

// Valid reports whether o is a sort order ("" is the default).
func (o Order) Valid() bool { return o == "" || slices.Contains(Orders, o) }

// byRank lists priorities from the most urgent.
var byRank = []Priority{PriorityUrgent, PriorityHigh, PriorityNormal, PriorityLow}

// encodeOrderCursor returns the cursor after t in order o. Newest keeps
// the original "t<id>" form, so the API's cursors are unchanged.
func encodeOrderCursor(o Order, t Ticket) string {
	id := strconv.FormatInt(t.ID, 36)
	switch o {
	case OrderOldest:
		return "a" + id
	case OrderUpdated:
		return "u" + strconv.FormatInt(t.Updated.UnixMicro(), 36) + "." + id
	case OrderPriority:
		return "p" + strconv.Itoa(slices.Index(byRank, t.Priority)) + "." + id
	}
	return EncodeCursor(t.ID)
}

// applyOrderCursor sets the paging fields of q from a cursor of order o
// and returns, for OrderPriority, the index in byRank to start from.
func applyOrderCursor(o Order, s string, q *TicketQuery) (int, error) {
	bad := FieldError("cursor", "invalid cursor")
	parse36 := func(v string) (int64, bool) {
		n, err := strconv.ParseInt(v, 36, 64)
		return n, err == nil && n > 0
	}
	switch o {
	case OrderOldest:
		if len(s) < 2 || s[0] != 'a' {
			return 0, bad
		}
		id, ok := parse36(s[1:])
		if !ok {
			return 0, bad
		}
		q.After = id
	case OrderUpdated, OrderPriority:
		prefix := byte('u')
		if o == OrderPriority {
			prefix = 'p'
		}
		k, idText, found := strings.Cut(s[min(1, len(s)):], ".")
		if len(s) < 2 || s[0] != prefix || !found {
			return 0, bad
		}
		id, ok := parse36(idText)
		if !ok {
			return 0, bad
		}
		q.Before = id
		if o == OrderPriority {
			r, err := strconv.Atoi(k)
			if err != nil || r < 0 || r >= len(byRank) {
				return 0, bad
			}
			return r, nil
		}
		u, ok := parse36(k)
		if !ok {
			return 0, bad
		}
		q.BeforeUpdated = u
	default:
		id, err := DecodeCursor(s)
		if err != nil {
			return 0, bad
		}
		q.Before = id
	}
	return 0, nil
}

// ticketsInOrder reads a page in q.Order; OrderPriority reads one range
// per priority (each an index range) until the page is full.
func ticketsInOrder(ctx context.Context, tx Tx, q TicketQuery, startRank int) ([]Ticket, error) {
	if q.Order != OrderPriority {
		return tx.Tickets(ctx, q)
	}
	var out []Ticket
	want := q.Limit
	for r := startRank; r < len(byRank) && len(out) < want; r++ {
		pq := q
		pq.Order, pq.Priority, pq.Limit = OrderNewest, byRank[r], want-len(out)
		if r != startRank {
			pq.Before = 0
		}
		items, err := byStatus(ctx, tx, pq)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// byStatus reads q (newest first) as one range per status when it lists
// several, merged by id: each is then a range of the index on (priority,
// status, id), however few of a priority's tickets are in those statuses.
func byStatus(ctx context.Context, tx Tx, q TicketQuery) ([]Ticket, error) {
	if len(q.Statuses) < 2 {
		return tx.Tickets(ctx, q)
	}
	var all []Ticket
	for _, s := range q.Statuses {
		sq := q
		sq.Statuses = []Status{s}
		items, err := tx.Tickets(ctx, sq)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	slices.SortFunc(all, func(a, b Ticket) int { return cmp.Compare(b.ID, a.ID) })
	if len(all) > q.Limit {
		all = all[:q.Limit]
	}
	return all, nil
}

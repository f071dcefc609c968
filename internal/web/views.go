package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/httpstatus"
)

// Saved views of the workspace list and their counts. A view is a named
// filter (its query string); personal views belong to one agent, shared
// ones to the organisation (approvers and administrators make them). Every
// count comes from the maintained counters (desk.CountViews): one indexed
// sum per view, whatever the number of tickets. A view that searches text has
// no count (the counters know nothing of words).

// listOrders maps the list's "ordine" values to the desk's orders.
var listOrders = map[string]desk.Order{"": desk.OrderNewest, "meno-recenti": desk.OrderOldest,
	"aggiornati": desk.OrderUpdated, "priorita": desk.OrderPriority}

// listOrderKeys are the "ordine" values in the order the form offers them.
var listOrderKeys = []string{"", "meno-recenti", "aggiornati", "priorita"}

// OrderChoice is one option of the sort control.
type OrderChoice struct {
	Value, Label string
	Selected     bool
}

// OrderChoices lists the sort options with the current one selected.
func (v *workspaceView) OrderChoices() []OrderChoice {
	var out []OrderChoice
	for _, k := range listOrderKeys {
		out = append(out, OrderChoice{Value: k, Label: v.T("ws.order." + string(listOrders[k])), Selected: k == v.Filter.Order})
	}
	return out
}

// Caption describes the list's order for its table caption.
func (v *workspaceView) Caption() string {
	return v.T("ws.caption." + string(listOrders[v.Filter.Order]))
}

// savedViewItem is a saved view in the side list.
type savedViewItem struct {
	desk.SavedView
	URL     string
	Count   int64
	Counted bool // false for views that search text
	Current bool
}

// viewFilter converts a list filter to a count filter; ok is false when
// it cannot be counted (text search, unknown codes).
func viewFilter(f listFilter, actor desk.Actor, queues map[string]int64, services map[string]int64) (desk.ViewFilter, bool) {
	var vf desk.ViewFilter
	if f.Text != "" {
		return vf, false
	}
	switch f.Status {
	case "":
		vf.Statuses = desk.OpenStatuses()
	case "tutti":
	default:
		if !desk.Status(f.Status).Valid() {
			return vf, false
		}
		vf.Statuses = []desk.Status{desk.Status(f.Status)}
	}
	if f.Queue != "" {
		if vf.QueueID = queues[f.Queue]; vf.QueueID == 0 {
			return vf, false
		}
	}
	if f.Service != "" {
		if vf.ServiceID = services[f.Service]; vf.ServiceID == 0 {
			return vf, false
		}
	}
	switch f.Assignee {
	case "me":
		vf.AssigneeID = actor.UserID
	case "none":
		vf.Unassigned = true
	}
	return vf, true
}

// fillViews adds the saved views and every count to the workspace: the
// built-in views and the saved ones are counted together, one indexed sum
// of counter rows each; "all" is the sum of the queue counters already read.
func (w *Web) fillViews(ctx context.Context, r *http.Request, c *reqCtx, v *workspaceView) error {
	queues, services := map[string]int64{}, map[string]int64{}
	for _, q := range v.Queues {
		queues[q.Code] = q.ID
		for _, n := range q.ByStatus {
			v.AllCount += n
		}
	}
	for _, s := range v.Services {
		services[s.Code] = s.ID
	}
	saved, err := w.desk.SavedViews(ctx, c.Actor)
	if err != nil {
		return err
	}
	cur := v.Filter
	cur.Cursor = ""
	v.Query = cur.values().Encode()
	// What to count: mine, unassigned, then each countable saved view.
	filters := []desk.ViewFilter{}
	for _, f := range []listFilter{{Assignee: "me"}, {Assignee: "none"}} {
		vf, _ := viewFilter(f, c.Actor, queues, services)
		filters = append(filters, vf)
	}
	slot := map[int]int{} // saved view → index in filters
	for _, sv := range saved {
		q, err := url.ParseQuery(sv.Query)
		if err != nil {
			continue
		}
		f := filterFrom(q)
		it := savedViewItem{SavedView: sv, URL: "/operatore?" + f.values().Encode(), Current: f.values().Encode() == v.Query}
		if f.values().Encode() == "" {
			it.URL = "/operatore"
		}
		if vf, ok := viewFilter(f, c.Actor, queues, services); ok {
			slot[len(v.Saved)] = len(filters)
			filters = append(filters, vf)
		}
		v.Saved = append(v.Saved, it)
	}
	counts, err := w.desk.CountViews(ctx, c.Actor, filters)
	if err != nil {
		return err
	}
	v.MineCount, v.UnassignedCount = counts[0], counts[1]
	for i, j := range slot {
		v.Saved[i].Count, v.Saved[i].Counted = counts[j], true
	}
	v.CanShare = desk.CanShareViews(c.Actor)
	if v.ViewForm == nil {
		v.ViewForm = map[string]string{}
	}
	return nil
}

// saveView stores the current filter as a view and shows it.
func (w *Web) saveView(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	q, err := url.ParseQuery(r.PostForm.Get("query"))
	if err != nil {
		return desk.Errorf(desk.EInvalid, "bad filter")
	}
	f := filterFrom(q) // keeps only the list's own keys
	f.Cursor = ""
	query := f.values().Encode()
	name := r.PostForm.Get("name")
	sv, err := w.desk.SaveView(r.Context(), c.Actor, name, query, r.PostForm.Get("shared") == "1")
	if err != nil {
		_, msg, ok := formError(c.Lang, err)
		if !ok {
			return err
		}
		// Show the list of that filter again, with the error by the form.
		r2 := r.Clone(r.Context())
		r2.URL.RawQuery = query
		return w.renderWorkspace(rw, r2, c, httpstatus.Of(desk.ErrorCode(err)), map[string]string{"name": name, "shared": r.PostForm.Get("shared")}, msg)
	}
	w.flash(r, c, "views.saved", sv.Name)
	to := "/operatore"
	if query != "" {
		to += "?" + query
	}
	redirect(rw, r, to)
	return nil
}

// deleteView removes a saved view.
func (w *Web) deleteView(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return desk.Errorf(desk.ENotFound, "view not found")
	}
	if err := w.desk.DeleteView(r.Context(), c.Actor, id); err != nil {
		return err
	}
	w.flash(r, c, "views.deleted")
	redirect(rw, r, "/operatore")
	return nil
}

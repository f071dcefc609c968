package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// live streams server-sent events telling an open ticket page that the
// ticket changed. Each stream polls the database (not an in-process
// notifier), so a change made through any replica, the API or inbound mail
// is seen. The page sends the version it shows (v); the stream sends one
// "changed" event when the ticket's version differs, and ends after
// liveMax, when the browser reconnects on its own.
//
// Staff compare the ticket's updated_at. Requesters compare what they can
// see (status, public messages and events), so that internal work never
// shows up as a notice on their page.
func (w *Web) live(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	number := r.PathValue("number")
	seen := r.URL.Query().Get("v")
	version := func() (string, error) {
		if c.Actor.IsStaff() && strings.HasPrefix(r.URL.Path, "/operatore/") {
			t, err := w.desk.Ticket(r.Context(), c.Actor, number)
			return staffVersion(t), err
		}
		tl, err := w.desk.Timeline(r.Context(), c.Actor, number)
		return w.publicVersion(tl), err
	}
	// Check access (and existence) before answering with a stream.
	cur, err := version()
	if err != nil {
		return err
	}
	rc := http.NewResponseController(rw)
	h := rw.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rw.WriteHeader(http.StatusOK)
	send := func(s string) bool {
		if _, err := fmt.Fprint(rw, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 5000\n\n") {
		return nil
	}
	changed := func(v string) bool {
		if seen == "" || v == seen {
			return true
		}
		return send(fmt.Sprintf("event: changed\ndata: %s\n\n", v))
	}
	if cur != seen && seen != "" {
		if !changed(cur) {
			return nil
		}
		seen = cur
	}
	tick := time.NewTicker(w.livePoll)
	defer tick.Stop()
	end := time.NewTimer(w.liveMax)
	defer end.Stop()
	idle := 0
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-w.done:
			return nil
		case <-end.C:
			return nil
		case <-tick.C:
		}
		v, err := version()
		if err != nil {
			if desk.IsNotFound(err) || r.Context().Err() != nil {
				return nil
			}
			w.log.Warn("web: live update poll", "ticket", number, "err", err)
			continue
		}
		if v != seen {
			if !changed(v) {
				return nil
			}
			seen, idle = v, 0
			continue
		}
		// A comment now and then keeps proxies from closing the stream.
		if idle++; idle*int(w.livePoll/time.Millisecond) >= 20_000 {
			if !send(": keep-alive\n\n") {
				return nil
			}
			idle = 0
		}
	}
}

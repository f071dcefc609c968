package api

import (
	"bufio"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/csvsafe"
	"github.com/sportello/sportello/internal/desk"
)

// AuditEntry is one audit-log entry in JSON.
type AuditEntry struct {
	ID           int64     `json:"id"`
	At           time.Time `json:"at"`
	Organisation string    `json:"organisation"`
	ActorID      int64     `json:"actor_id"`
	Actor        string    `json:"actor"`
	Action       string    `json:"action"`
	Target       string    `json:"target"`
	Detail       string    `json:"detail"`
	Remote       string    `json:"remote"`
}

// auditFilter reads the query: action (prefix), target, actor (e-mail),
// organisation (code), since/until (RFC 3339 or YYYY-MM-DD), limit, cursor.
func (a *API) auditFilter(r *http.Request, actor desk.Actor) (desk.AuditFilter, error) {
	q := r.URL.Query()
	f := desk.AuditFilter{Action: strings.TrimSpace(q.Get("action")), Target: strings.TrimSpace(q.Get("target")), Limit: 100}
	for _, p := range []struct {
		name string
		dst  *time.Time
		end  bool
	}{{"since", &f.Since, false}, {"until", &f.Until, true}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d, derr := time.Parse("2006-01-02", v)
			if derr != nil {
				return f, desk.FieldError(p.name, "%s must be a date (YYYY-MM-DD) or an RFC 3339 time", p.name)
			}
			t = d
			if p.end {
				t = d.Add(24*time.Hour - time.Microsecond)
			}
		}
		*p.dst = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, desk.FieldError("limit", "limit must be between 1 and 1000")
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return f, desk.FieldError("cursor", "invalid cursor")
		}
		f.Before = n
	}
	err := a.desk.Store().View(r.Context(), func(tx desk.Tx) error {
		if v := q.Get("actor"); v != "" {
			u, err := tx.UserByEmail(r.Context(), desk.NormEmail(v))
			if err != nil {
				if desk.IsNotFound(err) {
					f.ActorID = -1 // nobody: an empty result
					return nil
				}
				return err
			}
			f.ActorID = u.ID
		}
		if v := q.Get("organisation"); v != "" {
			o, err := tx.OrgByCode(r.Context(), v)
			if err != nil {
				return desk.FieldError("organisation", "unknown organisation %q", v)
			}
			f.OrgID = o.ID
		}
		return nil
	})
	return f, err
}

// orgCodes maps organisation ids to codes for display.
func (a *API) orgCodes(r *http.Request) (map[int64]string, error) {
	codes := map[int64]string{}
	err := a.desk.Store().View(r.Context(), func(tx desk.Tx) error {
		orgs, err := tx.Orgs(r.Context())
		for _, o := range orgs {
			codes[o.ID] = o.Code
		}
		return err
	})
	return codes, err
}

func auditJSON(e desk.AuditEntry, codes map[int64]string) AuditEntry {
	return AuditEntry{ID: e.ID, At: e.At, Organisation: codes[e.OrgID], ActorID: e.ActorID, Actor: e.Actor, Action: e.Action,
		Target: e.Target, Detail: e.Detail, Remote: e.Remote}
}

// auditLog lists the audit log (administrators only), as JSON pages or,
// with format=csv, the whole selection as a spreadsheet-safe CSV.
func (a *API) auditLog(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	f, err := a.auditFilter(r, actor)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return desk.FieldError("format", "format must be json or csv")
	}
	if f.ActorID < 0 {
		// Nobody has that e-mail: nothing to list, but the same
		// authorisation answer as any other query.
		if _, err := a.desk.AuditLog(r.Context(), actor, desk.AuditFilter{Limit: 1}); err != nil {
			return err
		}
	}
	codes, err := a.orgCodes(r)
	if err != nil {
		return err
	}
	if format == "csv" {
		var entries []desk.AuditEntry
		if f.ActorID >= 0 { // -1: nobody has that e-mail, nothing to list
			if entries, err = a.desk.ExportAuditLog(r.Context(), actor, f, "csv"); err != nil {
				return err
			}
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="audit.csv"`)
		return WriteAuditCSV(w, entries, codes)
	}
	limit := f.Limit
	f.Limit = limit + 1
	var entries []desk.AuditEntry
	if f.ActorID >= 0 {
		if entries, err = a.desk.AuditLog(r.Context(), actor, f); err != nil {
			return err
		}
	}
	out := struct {
		Items []AuditEntry `json:"items"`
		Next  *string      `json:"next"`
	}{Items: []AuditEntry{}}
	if len(entries) > limit {
		entries = entries[:limit]
		next := strconv.FormatInt(entries[limit-1].ID, 10)
		out.Next = &next
	}
	for _, e := range entries {
		out.Items = append(out.Items, auditJSON(e, codes))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// WriteAuditCSV writes entries as CSV for spreadsheets in an Italian
// locale: byte-order mark, semicolons, CRLF; cells a spreadsheet would
// read as a formula (= + - @, tab, carriage return) get a leading apostrophe.
func WriteAuditCSV(w interface{ Write([]byte) (int, error) }, entries []desk.AuditEntry, codes map[int64]string) error {
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString("\uFEFF")
	cw := csv.NewWriter(bw)
	cw.Comma = ';'
	cw.UseCRLF = true
	_ = cw.Write([]string{"id", "at", "organisation", "actor_id", "actor", "action", "target", "detail", "remote"})
	for _, e := range entries {
		row := []string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), codes[e.OrgID], strconv.FormatInt(e.ActorID, 10),
			e.Actor, e.Action, e.Target, e.Detail, e.Remote}
		if err := cw.Write(csvsafe.Row(row)); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

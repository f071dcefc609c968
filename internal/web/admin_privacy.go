package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sportello/sportello/internal/api"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/httpstatus"
)

// Personal-data requests (GDPR arts. 15 and 17) in the administration: look
// a person up and see what is held, download it as JSON or open the
// printable page (the API's documents), and erase it by redaction. Who may
// do it, and the audit entries, are the desk's (desk.PersonalData,
// desk.ErasePerson): an administrator of another organisation is told that
// nobody is registered under that name.

// sessErasure carries an erasure's report from the form post to the page
// it redirects to (shown once).
const sessErasure = "erasure"

// privacyCount is one line of a summary table.
type privacyCount struct {
	Label string
	N     int
}

type privacyView struct {
	adminPage
	Found     bool // the person was found
	Erase     bool // show the erasure form
	Person    desk.User
	OrgName   string
	Counts    []privacyCount
	JSONURL   string
	HTMLURL   string
	Report    *desk.ErasureReport
	ReportRow []privacyCount
	AgainURL  string // the erased person's page after an erasure
}

// privacyCountKeys name the summary's lines, in order (for the catalogue test).
var privacyCountKeys = []string{"tickets", "messages", "attachments", "mail", "audit", "identities", "redactions", "exemptions"}

// privacyReportKeys name the lines of an erasure report, in order.
var privacyReportKeys = []string{"tickets", "messages", "other_messages", "attachments", "blobs", "mail_in", "mail_out", "supplier_calls", "identities", "tokens"}

// privacyExemptKinds are the kinds of records an erasure keeps.
var privacyExemptKinds = []string{"mail_in", "mail_out", "attachment"}

// ExemptKind names the kind of a record kept by an erasure.
func (v *privacyView) ExemptKind(kind string) string {
	for _, k := range privacyExemptKinds {
		if k == kind {
			return v.T("admin.privacy.kind." + k)
		}
	}
	return kind
}

// ExemptReason says, in the page's language, why a record was kept; an
// unknown reason is shown as the desk wrote it.
func (v *privacyView) ExemptReason(reason string) string {
	switch reason {
	case desk.ExemptPEC:
		return v.T("admin.privacy.exempt.pec")
	case desk.ExemptProtocol:
		return v.T("admin.privacy.exempt.protocol")
	}
	return reason
}

func privacyPageURL(who string) string {
	return "/admin/dati-personali?persona=" + url.QueryEscape(who)
}

// privacyFail shows a desk error about the person on the page, on field,
// with its status: nobody found (also outside the actor's organisations),
// not allowed, not valid. Other errors are returned.
func privacyFail(v *privacyView, err error, field, who string) (int, error) {
	var e *desk.Error
	if !asDeskError(err, &e) {
		return 0, err
	}
	switch e.Code {
	case desk.ENotFound:
		v.Errors["persona"] = v.T("admin.privacy.err.not_found", who)
	case desk.EForbidden:
		v.Errors[field] = v.T("admin.privacy.err.forbidden")
	case desk.EInvalid:
		v.Errors["persona"] = v.T("admin.privacy.err.invalid")
	default:
		return 0, err
	}
	v.Detail = e.Message
	return httpstatus.Of(e.Code), nil
}

// privacyLookUp fills the view with what is held about who (an access that the
// desk records in the audit log).
func (w *Web) privacyLookUp(ctx context.Context, c *reqCtx, v *privacyView, who string) (int, error) {
	pd, err := w.desk.PersonalData(ctx, c.Actor, who)
	if err != nil {
		return privacyFail(v, err, "persona", who)
	}
	u := pd.User
	v.Found, v.Erase, v.Person = true, true, u
	v.OrgName = v.OrgLabel(u.OrgID)
	if v.OrgName == "" {
		v.OrgName = pd.OrgCode
	}
	n := map[string]int{"tickets": len(pd.Tickets), "messages": len(pd.Messages), "attachments": len(pd.Attachments), "mail": len(pd.Mail),
		"audit": len(pd.Audit), "identities": len(pd.Identities), "redactions": len(pd.Redactions), "exemptions": len(pd.Exemptions)}
	for _, k := range privacyCountKeys {
		v.Counts = append(v.Counts, privacyCount{Label: v.T("admin.privacy.count." + k), N: n[k]})
	}
	q := "?persona=" + url.QueryEscape(who)
	v.JSONURL, v.HTMLURL = "/admin/dati-personali/export.json"+q, "/admin/dati-personali/export.html"+q
	return http.StatusOK, nil
}

func (w *Web) newPrivacyView(r *http.Request, c *reqCtx) (*privacyView, error) {
	p, err := w.newAdminPage(r, c, "privacy")
	if err != nil {
		return nil, err
	}
	return &privacyView{adminPage: p}, nil
}

func (w *Web) adminPrivacy(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	v, err := w.newPrivacyView(r, c)
	if err != nil {
		return err
	}
	if w.sessions.Exists(r.Context(), sessErasure) {
		var rep desk.ErasureReport
		if json.Unmarshal([]byte(w.sessions.PopString(r.Context(), sessErasure)), &rep) == nil {
			v.setReport(rep)
		}
	}
	status := http.StatusOK
	if who := strings.TrimSpace(r.URL.Query().Get("persona")); who != "" {
		v.Form["person"] = who
		if status, err = w.privacyLookUp(r.Context(), c, v, who); err != nil {
			return err
		}
	}
	w.render(rw, r, status, "admin_privacy", v)
	return nil
}

func (v *privacyView) setReport(rep desk.ErasureReport) {
	v.Report = &rep
	n := map[string]int{"tickets": rep.Tickets, "messages": rep.Messages, "other_messages": rep.OtherMessages, "attachments": rep.Attachments,
		"blobs": rep.BlobsDeleted, "mail_in": rep.MailIn, "mail_out": rep.MailOut, "supplier_calls": rep.SupplierCalls,
		"identities": rep.Identities, "tokens": rep.Tokens}
	for _, k := range privacyReportKeys {
		v.ReportRow = append(v.ReportRow, privacyCount{Label: v.T("admin.privacy.report." + k), N: n[k]})
	}
	v.AgainURL = privacyPageURL("user:" + strconv.FormatInt(rep.UserID, 10))
}

// adminPrivacyErase erases a person once the form repeats them (the API's
// rule: the same text, trimmed, in any case). It answers with a redirect
// to the page, which shows the report once, so that reloading it submits
// nothing.
func (w *Web) adminPrivacyErase(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	v, err := w.newPrivacyView(r, c) // refuses whoever administers nothing
	if err != nil {
		return err
	}
	who := strings.TrimSpace(r.PostForm.Get("persona"))
	confirm := strings.TrimSpace(r.PostForm.Get("conferma"))
	v.Form["person"] = who
	v.Path = privacyPageURL(who) // the language links reopen the page, not the post
	status := http.StatusUnprocessableEntity
	switch {
	case who == "":
		v.Errors["persona"] = v.T("admin.privacy.err.person")
		v.Path = "/admin/dati-personali"
	case !strings.EqualFold(confirm, who):
		v.Errors["conferma"] = v.T("admin.privacy.err.confirm", who)
	default:
		rep, err := w.desk.ErasePerson(r.Context(), c.Actor, who)
		if err == nil {
			b, _ := json.Marshal(rep)
			w.sessions.Put(r.Context(), sessErasure, string(b))
			// The flash names the account, not the address that was erased.
			w.flash(r, c, "admin.privacy.erased", "user:"+strconv.FormatInt(rep.UserID, 10))
			redirect(rw, r, "/admin/dati-personali#esito")
			return nil
		}
		if status, err = privacyFail(v, err, "conferma", who); err != nil {
			return err
		}
	}
	// The page again with the error and, unless the person was not found,
	// the erasure form; no second look-up, so a refused request writes
	// nothing to the audit log.
	v.Erase = who != "" && v.Errors["persona"] == ""
	w.render(rw, r, status, "admin_privacy", v)
	return nil
}

// personalDoc is the export of the person named by ?persona=.
func (w *Web) personalDoc(r *http.Request, c *reqCtx) (api.PersonalData, error) {
	who := strings.TrimSpace(r.URL.Query().Get("persona"))
	if who == "" {
		return api.PersonalData{}, desk.FieldError("persona", "persona is required")
	}
	pd, err := w.desk.PersonalData(r.Context(), c.Actor, who)
	if err != nil {
		return api.PersonalData{}, err
	}
	codes := map[int64]string{}
	err = w.desk.Store().View(r.Context(), func(tx desk.Tx) error {
		orgs, err := tx.Orgs(r.Context())
		for _, o := range orgs {
			codes[o.ID] = o.Code
		}
		return err
	})
	if err != nil {
		return api.PersonalData{}, err
	}
	return api.NewPersonalData(pd, codes), nil
}

// personalFileName is a download name made of the person's address, with
// anything but letters, digits, dots, dashes and underscores replaced.
func personalFileName(doc api.PersonalData, ext string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(doc.Person.Email) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 100 {
			break
		}
	}
	name := strings.Trim(b.String(), "._-")
	if name == "" {
		name = "utente-" + strconv.FormatInt(doc.Person.ID, 10)
	}
	return "dati-personali-" + name + "." + ext
}

func (w *Web) adminPrivacyJSON(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	doc, err := w.personalDoc(r, c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	h := rw.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+personalFileName(doc, "json")+`"`)
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(buf.Bytes())
	return nil
}

func (w *Web) adminPrivacyHTML(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	doc, err := w.personalDoc(r, c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := api.WritePersonalDataHTML(&buf, doc); err != nil {
		return err
	}
	h := rw.Header()
	h.Set("Content-Security-Policy", api.PersonalDataCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Disposition", `inline; filename="`+personalFileName(doc, "html")+`"`)
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(buf.Bytes())
	return nil
}

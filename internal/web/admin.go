package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/route"
	"github.com/sportello/sportello/internal/workflow"
)

// Administration pages under /admin: the dashboard, people, organisations,
// queues, services, mailboxes, routing rules, retired addresses, the office
// directory, canned answers, the mail log, the audit log and personal-data
// requests (admin_privacy.go). Handlers only translate: every authorisation
// and change happens in the domain (desk, workflow, mail), which records
// changes in the audit log.

// MailAdmin is the e-mail channel's administration; *mail.Admin implements
// it (wired in cmd/sportello). Without one the mail pages say so.
type MailAdmin interface {
	Mailboxes(ctx context.Context, a desk.Actor) ([]mailbox.Mailbox, error)
	Quarantined(ctx context.Context, a desk.Actor, mailboxID int64, limit int) (int, error)
	SaveMailbox(ctx context.Context, a desk.Actor, in mail.MailboxInput) (mailbox.Mailbox, bool, error)
	RemoveMailbox(ctx context.Context, a desk.Actor, address string) error
	Rules(ctx context.Context, a desk.Actor, orgCode string) (desk.Organisation, []route.Rule, error)
	SetRules(ctx context.Context, a desk.Actor, orgCode string, rules []route.Rule, why string) error
	TestRules(ctx context.Context, a desk.Actor, orgCode string, raw []byte, rules []route.Rule) (mail.RulePreview, error)
	Addresses(ctx context.Context, a desk.Actor, orgCode string) ([]mailbox.Address, error)
	RetireAddress(ctx context.Context, a desk.Actor, orgCode, address string, from time.Time) error
	RemoveAddress(ctx context.Context, a desk.Actor, address string) error
	Offices(ctx context.Context, a desk.Actor) ([]route.Office, error)
	PreviewOffices(ctx context.Context, a desk.Actor, r io.Reader, opts route.ImportOptions) (mail.OfficePreview, error)
	ApplyOffices(ctx context.Context, a desk.Actor, p mail.OfficePreview) error
	MailLog(ctx context.Context, a desk.Actor, q mailbox.LogQuery) ([]mailbox.Inbound, error)
}

// CatalogueAdmin is the service catalogue's administration;
// *workflow.Engine implements it.
type CatalogueAdmin interface {
	ExportCatalogue(ctx context.Context, a desk.Actor, orgCode string) (*catalog.Catalogue, error)
	ImportFile(ctx context.Context, a desk.Actor, orgCode string, r io.Reader, format catalog.Format) (workflow.Report, error)
	SetServiceActive(ctx context.Context, a desk.Actor, orgCode, code string, active bool) error
}

var (
	_ CatalogueAdmin = (*workflow.Engine)(nil)
	_ MailAdmin      = (*mail.Admin)(nil)
)

func (w *Web) adminRoutes(h func(string, access, handlerFunc)) {
	h("GET /admin", signedIn, w.adminDashboard)
	h("GET /admin/cruscotto.csv", signedIn, w.adminDashboardCSV)
	h("GET /admin/utenti", signedIn, w.adminUsers)
	h("POST /admin/utenti", signedIn, w.adminUserCreate)
	h("POST /admin/utenti/{id}", signedIn, w.adminUserUpdate)
	h("GET /admin/enti", signedIn, w.adminOrgs)
	h("POST /admin/enti", signedIn, w.adminOrgCreate)
	h("GET /admin/code", signedIn, w.adminQueues)
	h("POST /admin/code", signedIn, w.adminQueueCreate)
	h("POST /admin/code/{id}", signedIn, w.adminQueueRename)
	h("GET /admin/servizi", signedIn, w.adminServices)
	h("POST /admin/servizi/importa", signedIn, w.adminServicesImport)
	h("POST /admin/servizi/{code}/stato", signedIn, w.adminServiceActive)
	h("GET /admin/servizi/{code}", signedIn, w.adminServiceEdit)
	h("POST /admin/servizi/{code}", signedIn, w.adminServiceEdit)
	h("GET /admin/caselle", signedIn, w.adminMailboxes)
	h("POST /admin/caselle", signedIn, w.adminMailboxSave)
	h("POST /admin/caselle/scollega", signedIn, w.adminMailboxRemove)
	h("GET /admin/regole", signedIn, w.adminRules)
	h("POST /admin/regole", signedIn, w.adminRuleSave)
	h("POST /admin/regole/azione", signedIn, w.adminRuleAction)
	h("POST /admin/regole/json", signedIn, w.adminRulesJSON)
	h("POST /admin/regole/prova", signedIn, w.adminRuleTest)
	h("GET /admin/indirizzi", signedIn, w.adminAddresses)
	h("POST /admin/indirizzi", signedIn, w.adminAddressRetire)
	h("POST /admin/indirizzi/rimuovi", signedIn, w.adminAddressRemove)
	h("GET /admin/uffici", signedIn, w.adminOffices)
	h("POST /admin/uffici/anteprima", signedIn, w.adminOfficesPreview)
	h("POST /admin/uffici/applica", signedIn, w.adminOfficesApply)
	h("GET /admin/risposte", signedIn, w.adminCanned)
	h("POST /admin/risposte", signedIn, w.adminCannedSave)
	h("POST /admin/risposte/{id}/elimina", signedIn, w.adminCannedDelete)
	h("GET /admin/posta", signedIn, w.adminMailLog)
	h("GET /admin/registro", signedIn, w.adminAudit)
	h("GET /admin/registro.csv", signedIn, w.adminAuditCSV)
	h("GET /admin/dati-personali", signedIn, w.adminPrivacy)
	h("GET /admin/dati-personali/export.json", signedIn, w.adminPrivacyJSON)
	h("GET /admin/dati-personali/export.html", signedIn, w.adminPrivacyHTML)
	h("POST /admin/dati-personali/cancella", signedIn, w.adminPrivacyErase)
}

// CanAdmin reports whether the administration link is shown: to
// administrators, and to approvers for the dashboard.
func (p *Page) CanAdmin() bool {
	return p.User != nil && (p.User.Role == desk.RoleAdmin || p.User.Role == desk.RoleApprover)
}

// IsAdmin reports whether the user administers (an organisation or the installation).
func (p *Page) IsAdmin() bool { return p.User != nil && p.User.Role == desk.RoleAdmin }

// IsInstallationAdmin reports whether the user administers the installation.
func (p *Page) IsInstallationAdmin() bool {
	return p.User != nil && p.User.Role == desk.RoleAdmin && p.User.InstallationAdmin
}

// adminPage is embedded in every administration view.
type adminPage struct {
	Page
	Section string
	Orgs    []desk.Organisation // organisations the user administers (for the selector)
	Org     string              // the selected organisation's code
	Form    map[string]string
	Errors  map[string]string
	Detail  string // a domain message shown with a form error
}

// Roles lists the roles for selects.
func (p *adminPage) Roles() []desk.Role { return desk.Roles }

// RoleLabel names a role.
func (p *adminPage) RoleLabel(r desk.Role) string { return p.T("role." + string(r)) }

// OrgLabel names an organisation by id.
func (p *adminPage) OrgLabel(id int64) string {
	for _, o := range p.Orgs {
		if o.ID == id {
			return o.Name
		}
	}
	return ""
}

// Query returns the current query with key set to value (for pagers).
func (p *adminPage) Query(key, value string) string {
	u, err := url.Parse(p.Path)
	if err != nil {
		return "?"
	}
	q := u.Query()
	q.Set(key, value)
	return "?" + q.Encode()
}

func (w *Web) newAdminPage(r *http.Request, c *reqCtx, section string) (adminPage, error) {
	p := adminPage{Page: w.newPage(r, c, "admin"), Section: section, Form: map[string]string{}, Errors: map[string]string{}}
	p.Title = p.T("admin.section." + section)
	orgs, err := w.desk.AdminOrgs(r.Context(), c.Actor)
	if err != nil && !(section == "dashboard" && c.Actor.Role == desk.RoleApprover) {
		return p, err
	}
	p.Orgs = orgs
	p.Org = r.URL.Query().Get("ente")
	if r.Method == http.MethodPost && r.PostForm.Get("ente") != "" {
		p.Org = r.PostForm.Get("ente")
	}
	if p.Org == "" {
		for _, o := range orgs {
			if o.ID == c.Actor.OrgID {
				p.Org = o.Code
			}
		}
	}
	return p, nil
}

// adminFail turns a domain error about the input into form errors; other
// errors are returned to be shown as an error page.
func adminFail(p *adminPage, err error, fallback string) error {
	if desk.ErrorCode(err) == desk.EForbidden {
		return err
	}
	field, msg, ok := formError(p.Lang, err)
	if !ok {
		return err
	}
	if field == "" || strings.HasPrefix(field, "rules[") {
		field = fallback
	}
	p.Errors[field] = msg
	var e *desk.Error
	if asDeskError(err, &e) && e.Code == desk.EInvalid {
		p.Detail = e.Message
	}
	return nil
}

func formInt(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

// ---- Dashboard ----

type dashboardView struct {
	adminPage
	D       desk.Dashboard
	Charts  []chart
	Days    int
	CSVBase string
}

func (w *Web) dashboardData(r *http.Request, c *reqCtx) (desk.Dashboard, error) {
	days, _ := strconv.Atoi(r.URL.Query().Get("giorni"))
	if days != 30 {
		days = 7
	}
	return w.desk.Dashboard(r.Context(), c.Actor, desk.DashboardQuery{OrgCode: r.URL.Query().Get("ente"), Days: days})
}

func (w *Web) adminDashboard(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	d, err := w.dashboardData(r, c)
	if err != nil {
		return err
	}
	p, err := w.newAdminPage(r, c, "dashboard")
	if err != nil {
		return err
	}
	v := &dashboardView{adminPage: p, D: d, Days: d.Days}
	v.CSVBase = "/admin/cruscotto.csv?ente=" + url.QueryEscape(r.URL.Query().Get("ente")) + "&giorni=" + strconv.Itoa(d.Days)
	v.Charts = dashboardCharts(&v.Page, d)
	w.render(rw, r, http.StatusOK, "admin_dashboard", v)
	return nil
}

func (w *Web) adminDashboardCSV(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	d, err := w.dashboardData(r, c)
	if err != nil {
		return err
	}
	p := w.newPage(r, c, "admin")
	id := r.URL.Query().Get("grafico")
	for _, ch := range dashboardCharts(&p, d) {
		if ch.ID == id {
			writeCSV(rw, "cruscotto-"+id+".csv", ch.CSV())
			return nil
		}
	}
	return desk.Errorf(desk.ENotFound, "no chart %q", id)
}

// ---- Users ----

type usersView struct {
	adminPage
	Users []desk.User
	Next  int64
}

func (w *Web) adminUsers(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderUsers(rw, r, c, http.StatusOK, nil)
}

func (w *Web) renderUsers(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, p0 *adminPage) error {
	p, err := w.newAdminPage(r, c, "users")
	if err != nil {
		return err
	}
	if p0 != nil {
		p.Form, p.Errors, p.Detail = p0.Form, p0.Errors, p0.Detail
	}
	q := r.URL.Query()
	p.Form["q"], p.Form["role_filter"] = q.Get("q"), q.Get("ruolo")
	users, err := w.desk.ListUsers(r.Context(), c.Actor, desk.UserQuery{OrgCode: q.Get("ente"), Text: q.Get("q"),
		Role: desk.Role(q.Get("ruolo")), Before: formInt(q.Get("prima")), Limit: 50})
	if err != nil {
		return err
	}
	v := &usersView{adminPage: p, Users: users}
	if len(users) == 50 {
		v.Next = users[len(users)-1].ID
	}
	w.render(rw, r, status, "admin_users", v)
	return nil
}

func (w *Web) adminUserCreate(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"email", "name", "phone", "role", "ente"} {
		p.Form[k] = strings.TrimSpace(f.Get(k))
	}
	u, err := w.desk.CreateUser(r.Context(), c.Actor, desk.NewUser{OrgCode: p.Form["ente"], Email: p.Form["email"], Name: p.Form["name"],
		Phone: p.Form["phone"], Role: desk.Role(p.Form["role"]), Password: f.Get("password"), InstallationAdmin: f.Get("installation") == "1"})
	if err == nil {
		w.flash(r, c, "admin.users.created", u.Email)
		redirect(rw, r, "/admin/utenti?ente="+url.QueryEscape(p.Form["ente"]))
		return nil
	}
	if err := adminFail(&p, err, "email"); err != nil {
		return err
	}
	return w.renderUsers(rw, r, c, http.StatusUnprocessableEntity, &p)
}

func (w *Web) adminUserUpdate(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	id := formInt(r.PathValue("id"))
	role := desk.Role(r.PostForm.Get("role"))
	active := r.PostForm.Get("active") == "1"
	u, err := w.desk.AdminUpdateUser(r.Context(), c.Actor, id, desk.UserChanges{Role: &role, Active: &active})
	if err != nil {
		p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
		if err := adminFail(&p, err, "users"); err != nil {
			return err
		}
		return w.renderUsers(rw, r, c, http.StatusUnprocessableEntity, &p)
	}
	w.flash(r, c, "admin.users.updated", u.Email)
	redirect(rw, r, "/admin/utenti?ente="+url.QueryEscape(r.PostForm.Get("ente")))
	return nil
}

// ---- Organisations ----

type orgsView struct{ adminPage }

func (w *Web) adminOrgs(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := w.newAdminPage(r, c, "orgs")
	if err != nil {
		return err
	}
	w.render(rw, r, http.StatusOK, "admin_orgs", &orgsView{p})
	return nil
}

func (w *Web) adminOrgCreate(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	in := desk.NewOrg{Code: strings.TrimSpace(f.Get("code")), Name: f.Get("name"), Province: strings.TrimSpace(f.Get("province")), Parent: f.Get("parent")}
	o, err := w.desk.CreateOrg(r.Context(), c.Actor, in)
	if err == nil {
		w.flash(r, c, "admin.orgs.created", o.Name)
		redirect(rw, r, "/admin/enti")
		return nil
	}
	p, perr := w.newAdminPage(r, c, "orgs")
	if perr != nil {
		return perr
	}
	p.Form = map[string]string{"code": in.Code, "name": in.Name, "province": in.Province, "parent": in.Parent}
	if err := adminFail(&p, err, "code"); err != nil {
		return err
	}
	w.render(rw, r, http.StatusUnprocessableEntity, "admin_orgs", &orgsView{p})
	return nil
}

// ---- Queues ----

type queuesView struct {
	adminPage
	Queues []desk.QueueCount
}

func (w *Web) adminQueues(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderQueues(rw, r, c, http.StatusOK, nil)
}

func (w *Web) renderQueues(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, p0 *adminPage) error {
	p, err := w.newAdminPage(r, c, "queues")
	if err != nil {
		return err
	}
	if p0 != nil {
		p.Form, p.Errors, p.Detail = p0.Form, p0.Errors, p0.Detail
	}
	_, qs, err := w.desk.AdminQueues(r.Context(), c.Actor, p.Org)
	if err != nil {
		return err
	}
	w.render(rw, r, status, "admin_queues", &queuesView{adminPage: p, Queues: qs})
	return nil
}

func (w *Web) adminQueueCreate(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	q, err := w.desk.AdminCreateQueue(r.Context(), c.Actor, f.Get("ente"), strings.TrimSpace(f.Get("code")), f.Get("name"))
	if err == nil {
		w.flash(r, c, "admin.queues.created", q.Name)
		redirect(rw, r, "/admin/code?ente="+url.QueryEscape(f.Get("ente")))
		return nil
	}
	p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{"code": f.Get("code"), "name": f.Get("name")}, Errors: map[string]string{}}
	if err := adminFail(&p, err, "code"); err != nil {
		return err
	}
	return w.renderQueues(rw, r, c, http.StatusUnprocessableEntity, &p)
}

func (w *Web) adminQueueRename(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	q, err := w.desk.AdminRenameQueue(r.Context(), c.Actor, formInt(r.PathValue("id")), r.PostForm.Get("name"))
	if err != nil {
		p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
		if err := adminFail(&p, err, "queues"); err != nil {
			return err
		}
		return w.renderQueues(rw, r, c, http.StatusUnprocessableEntity, &p)
	}
	w.flash(r, c, "admin.queues.renamed", q.Name)
	redirect(rw, r, "/admin/code?ente="+url.QueryEscape(r.PostForm.Get("ente")))
	return nil
}

// ---- Services (the catalogue) ----

type servicesView struct {
	adminPage
	Catalogue *catalog.Catalogue
	Report    *workflow.Report
	Missing   bool
}

func (w *Web) adminServices(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderServices(rw, r, c, http.StatusOK, nil, nil)
}

func (w *Web) renderServices(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, p0 *adminPage, rep *workflow.Report) error {
	p, err := w.newAdminPage(r, c, "services")
	if err != nil {
		return err
	}
	if p0 != nil {
		p.Errors, p.Detail = p0.Errors, p0.Detail
	}
	v := &servicesView{adminPage: p, Report: rep, Missing: w.catalogue == nil}
	if w.catalogue != nil {
		cat, err := w.catalogue.ExportCatalogue(r.Context(), c.Actor, p.Org)
		if err != nil && !desk.IsNotFound(err) {
			return err
		}
		v.Catalogue = cat
	}
	w.render(rw, r, status, "admin_services", v)
	return nil
}

func (w *Web) adminServicesImport(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.catalogue == nil {
		return desk.Errorf(desk.ENotFound, "no catalogue")
	}
	// Refuse before reading an upload that only administrators may send.
	if ids := desk.AdminOrgIDs(c.Actor); ids != nil && len(ids) == 0 {
		return desk.Errorf(desk.EForbidden, "only administrators can import a catalogue")
	}
	r.Body = http.MaxBytesReader(rw, r.Body, catalog.MaxFileSize+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return fmt.Errorf("%w", desk.Errorf(desk.EInvalid, "bad form: %v", err))
	}
	p := adminPage{Page: w.newPage(r, c, "admin"), Errors: map[string]string{}}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		p.Errors["file"] = p.T("admin.services.file_required")
		return w.renderServices(rw, r, c, http.StatusUnprocessableEntity, &p, nil)
	}
	defer file.Close()
	rep, err := w.catalogue.ImportFile(r.Context(), c.Actor, r.PostForm.Get("ente"), file, catalog.FormatFor(hdr.Filename))
	if err != nil {
		if err := adminFail(&p, err, "file"); err != nil {
			return err
		}
		if p.Detail == "" {
			p.Detail = err.Error()
		}
		return w.renderServices(rw, r, c, http.StatusUnprocessableEntity, &p, nil)
	}
	_ = w.desk.Audit(r.Context(), c.Actor, desk.AuditEntry{Action: "catalogue.import", Target: "catalogue:" + rep.Org,
		Detail: fmt.Sprintf("%s: %d created, %d updated, %d unchanged, %d retired", hdr.Filename, len(rep.Created), len(rep.Updated), len(rep.Unchanged), len(rep.Retired))})
	return w.renderServices(rw, r, c, http.StatusOK, nil, &rep)
}

func (w *Web) adminServiceActive(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.catalogue == nil {
		return desk.Errorf(desk.ENotFound, "no catalogue")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	code, org := r.PathValue("code"), r.PostForm.Get("ente")
	active := r.PostForm.Get("active") == "1"
	if err := w.catalogue.SetServiceActive(r.Context(), c.Actor, org, code, active); err != nil {
		return err
	}
	_ = w.desk.Audit(r.Context(), c.Actor, desk.AuditEntry{Action: "service.active", Target: "service:" + code, Detail: fmt.Sprintf("active=%t", active)})
	w.flash(r, c, "admin.services.saved", code)
	redirect(rw, r, "/admin/servizi?ente="+url.QueryEscape(org))
	return nil
}

// ---- Mailboxes ----

type mailboxRow struct {
	mailbox.Mailbox
	Quarantined int
}

type mailboxesView struct {
	adminPage
	Mailboxes []mailboxRow
	Missing   bool
}

func (w *Web) adminMailboxes(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderMailboxes(rw, r, c, http.StatusOK, nil)
}

func (w *Web) renderMailboxes(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, p0 *adminPage) error {
	p, err := w.newAdminPage(r, c, "mailboxes")
	if err != nil {
		return err
	}
	if p0 != nil {
		p.Form, p.Errors, p.Detail = p0.Form, p0.Errors, p0.Detail
	}
	v := &mailboxesView{adminPage: p, Missing: w.mail == nil}
	if w.mail != nil {
		mbs, err := w.mail.Mailboxes(r.Context(), c.Actor)
		if err != nil {
			return err
		}
		for _, mb := range mbs {
			n, err := w.mail.Quarantined(r.Context(), c.Actor, mb.ID, 100)
			if err != nil {
				return err
			}
			v.Mailboxes = append(v.Mailboxes, mailboxRow{Mailbox: mb, Quarantined: n})
		}
	}
	w.render(rw, r, status, "admin_mailboxes", v)
	return nil
}

// withPassword puts a password typed in its own field into a server URL.
func withPassword(raw, pass string) string {
	if pass == "" || raw == "" {
		return raw
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return raw
	}
	user := ""
	if u.User != nil {
		user = u.User.Username()
	}
	u.User = url.UserPassword(user, pass)
	return u.String()
}

func (w *Web) adminMailboxSave(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
	for _, k := range []string{"address", "imap", "smtp", "folder", "serves", "ente", "pec", "move_to"} {
		p.Form[k] = strings.TrimSpace(f.Get(k))
	}
	in := mail.MailboxInput{Address: p.Form["address"], IMAP: withPassword(p.Form["imap"], f.Get("imap_password")),
		SMTP: withPassword(p.Form["smtp"], f.Get("smtp_password")), Folder: p.Form["folder"], Org: p.Form["ente"], PEC: p.Form["pec"] == "1",
		MoveTo: p.Form["move_to"]}
	for _, s := range strings.FieldsFunc(p.Form["serves"], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		in.Serves = append(in.Serves, s)
	}
	mb, created, err := w.mail.SaveMailbox(r.Context(), c.Actor, in)
	if err == nil {
		key := "admin.mailboxes.updated"
		if created {
			key = "admin.mailboxes.created"
		}
		w.flash(r, c, key, mb.Address)
		redirect(rw, r, "/admin/caselle")
		return nil
	}
	if err := adminFail(&p, err, "address"); err != nil {
		return err
	}
	return w.renderMailboxes(rw, r, c, http.StatusUnprocessableEntity, &p)
}

func (w *Web) adminMailboxRemove(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	addr := r.PostForm.Get("address")
	if err := w.mail.RemoveMailbox(r.Context(), c.Actor, addr); err != nil {
		return err
	}
	w.flash(r, c, "admin.mailboxes.removed", addr)
	redirect(rw, r, "/admin/caselle")
	return nil
}

// ---- Routing rules ----

// ruleForm is the editable form of one rule: up to three conditions.
type ruleForm struct {
	Pos      int // index of the rule edited; -1 for a new rule
	Name     string
	Disabled bool
	Continue bool
	Conds    [3]condForm
	Then     route.Action
}

type condForm struct {
	Field, Op, Values string
	Not               bool
}

func formOfRule(r route.Rule, pos int) ruleForm {
	f := ruleForm{Pos: pos, Name: r.Name, Disabled: r.Disabled, Continue: r.Continue, Then: r.Then}
	for i, c := range r.When {
		if i >= len(f.Conds) {
			break
		}
		f.Conds[i] = condForm{Field: string(c.Field), Op: string(c.Op), Values: strings.Join(c.Any, "\n"), Not: c.Not}
	}
	return f
}

func ruleOfForm(f ruleForm) route.Rule {
	r := route.Rule{Name: strings.TrimSpace(f.Name), Disabled: f.Disabled, Continue: f.Continue, Then: f.Then}
	for _, c := range f.Conds {
		var vals []string
		for _, v := range strings.FieldsFunc(c.Values, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		if c.Field == "" || len(vals) == 0 {
			continue
		}
		r.When = append(r.When, route.Condition{Field: route.Field(c.Field), Op: route.Op(c.Op), Any: vals, Not: c.Not})
	}
	return r
}

func parseRuleForm(r *http.Request) ruleForm {
	f := r.PostForm
	pos := -1
	if s := f.Get("pos"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			pos = n
		}
	}
	rf := ruleForm{Pos: pos, Name: f.Get("name"), Disabled: f.Get("disabled") == "1", Continue: f.Get("continue") == "1",
		Then: route.Action{Service: f.Get("then_service"), Queue: f.Get("then_queue"), Priority: f.Get("then_priority"),
			Reply: f.Get("then_reply"), Text: strings.TrimSpace(f.Get("then_text")), NoTicket: f.Get("then_no_ticket") == "1",
			Redirect: strings.TrimSpace(f.Get("then_redirect")),
			Tags:     strings.FieldsFunc(f.Get("then_tags"), func(r rune) bool { return r == ',' || unicode.IsSpace(r) })}}
	for i := range rf.Conds {
		n := strconv.Itoa(i + 1)
		rf.Conds[i] = condForm{Field: f.Get("c" + n + "_field"), Op: f.Get("c" + n + "_op"), Values: f.Get("c" + n + "_values"), Not: f.Get("c"+n+"_not") == "1"}
	}
	return rf
}

type rulesView struct {
	adminPage
	Rules    []route.Rule
	Edit     ruleForm
	JSON     string
	Services []desk.Service
	Queues   []desk.QueueCount
	Message  string
	Preview  *mail.RulePreview
	Draft    bool
	Missing  bool
}

// Fields, Ops, Templates and Priorities list the rule form's choices.
func (v *rulesView) Fields() []string {
	return []string{"recipient", "sender", "subject", "body", "text"}
}
func (v *rulesView) Ops() []string       { return []string{"", "words", "contains", "equals"} }
func (v *rulesView) Templates() []string { return append([]string{""}, route.Templates...) }
func (v *rulesView) RulePriorities() []string {
	return append([]string{""}, route.Priorities...)
}

// Seq returns 0..n-1 (template loops).
func (v *rulesView) Seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func (w *Web) adminRules(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	edit := -1
	if s := r.URL.Query().Get("modifica"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			edit = n
		}
	}
	return w.renderRules(rw, r, c, http.StatusOK, nil, func(v *rulesView) {
		if edit >= 0 && edit < len(v.Rules) {
			v.Edit = formOfRule(v.Rules[edit], edit)
		}
	})
}

func (w *Web) renderRules(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, p0 *adminPage, fill func(*rulesView)) error {
	p, err := w.newAdminPage(r, c, "rules")
	if err != nil {
		return err
	}
	if p0 != nil {
		p.Form, p.Errors, p.Detail = p0.Form, p0.Errors, p0.Detail
	}
	v := &rulesView{adminPage: p, Edit: ruleForm{Pos: -1}, Missing: w.mail == nil}
	if w.mail != nil {
		_, rules, err := w.mail.Rules(r.Context(), c.Actor, p.Org)
		if err != nil {
			return err
		}
		v.Rules = rules
		js, _ := json.MarshalIndent(rules, "", "  ")
		v.JSON = string(js)
		if _, v.Queues, err = w.desk.AdminQueues(r.Context(), c.Actor, p.Org); err != nil {
			return err
		}
		if w.catalogue != nil {
			if cat, err := w.catalogue.ExportCatalogue(r.Context(), c.Actor, p.Org); err == nil {
				for _, s := range cat.Services {
					v.Services = append(v.Services, desk.Service{Code: s.Code, Name: s.Name, Active: s.Active})
				}
			}
		}
	}
	if fill != nil {
		fill(v)
	}
	w.render(rw, r, status, "admin_rules", v)
	return nil
}

func (w *Web) adminRuleSave(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	org := r.PostForm.Get("ente")
	rf := parseRuleForm(r)
	_, rules, err := w.mail.Rules(r.Context(), c.Actor, org)
	if err != nil {
		return err
	}
	rule := ruleOfForm(rf)
	next, why := placeRule(rules, rule, rf.Pos, r.PostForm.Get("at"))
	if err := w.mail.SetRules(r.Context(), c.Actor, org, next, why); err != nil {
		p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
		if err := adminFail(&p, err, "name"); err != nil {
			return err
		}
		return w.renderRules(rw, r, c, http.StatusUnprocessableEntity, &p, func(v *rulesView) { v.Edit = rf })
	}
	w.flash(r, c, "admin.rules.saved", rule.Name)
	redirect(rw, r, "/admin/regole?ente="+url.QueryEscape(org))
	return nil
}

// placeRule puts rule at pos (replacing it) or, for a new rule, first or
// last (before a final catch-all without conditions).
func placeRule(rules []route.Rule, rule route.Rule, pos int, at string) ([]route.Rule, string) {
	next := append([]route.Rule(nil), rules...)
	if pos >= 0 && pos < len(next) {
		rule.ID = next[pos].ID
		next[pos] = rule
		return next, "rule " + strconv.Quote(rule.Name) + " changed"
	}
	i := len(next)
	switch {
	case at == "first":
		i = 0
	case i > 0 && len(next[i-1].When) == 0:
		i-- // keep a catch-all last
	}
	next = append(next[:i], append([]route.Rule{rule}, next[i:]...)...)
	return next, "rule " + strconv.Quote(rule.Name) + " added"
}

func (w *Web) adminRuleAction(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	org := r.PostForm.Get("ente")
	_, rules, err := w.mail.Rules(r.Context(), c.Actor, org)
	if err != nil {
		return err
	}
	i, err := strconv.Atoi(r.PostForm.Get("pos"))
	if err != nil || i < 0 || i >= len(rules) {
		return desk.Errorf(desk.ENotFound, "no such rule")
	}
	name := rules[i].Name
	var why string
	switch r.PostForm.Get("action") {
	case "up":
		if i == 0 {
			break
		}
		rules[i-1], rules[i] = rules[i], rules[i-1]
		why = "rule " + strconv.Quote(name) + " moved up"
	case "down":
		if i == len(rules)-1 {
			break
		}
		rules[i+1], rules[i] = rules[i], rules[i+1]
		why = "rule " + strconv.Quote(name) + " moved down"
	case "toggle":
		rules[i].Disabled = !rules[i].Disabled
		why = fmt.Sprintf("rule %q disabled=%t", name, rules[i].Disabled)
	case "delete":
		rules = append(rules[:i], rules[i+1:]...)
		why = "rule " + strconv.Quote(name) + " deleted"
	default:
		return desk.Errorf(desk.EInvalid, "unknown action")
	}
	if why != "" {
		if err := w.mail.SetRules(r.Context(), c.Actor, org, rules, why); err != nil {
			return err
		}
	}
	w.flash(r, c, "admin.rules.saved", name)
	redirect(rw, r, "/admin/regole?ente="+url.QueryEscape(org)+"#regola-"+strconv.Itoa(max(0, i)))
	return nil
}

func (w *Web) adminRulesJSON(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	org := r.PostForm.Get("ente")
	var rules []route.Rule
	dec := json.NewDecoder(strings.NewReader(r.PostForm.Get("json")))
	dec.DisallowUnknownFields()
	err := dec.Decode(&rules)
	if err != nil {
		err = desk.FieldError("json", "the rules are not valid JSON: %v", err)
	} else {
		err = w.mail.SetRules(r.Context(), c.Actor, org, rules, "rules replaced from JSON")
	}
	if err != nil {
		p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
		if err := adminFail(&p, err, "json"); err != nil {
			return err
		}
		return w.renderRules(rw, r, c, http.StatusUnprocessableEntity, &p, func(v *rulesView) { v.JSON = r.PostForm.Get("json") })
	}
	w.flash(r, c, "admin.rules.replaced")
	redirect(rw, r, "/admin/regole?ente="+url.QueryEscape(org))
	return nil
}

// adminRuleTest evaluates the rules on a pasted message, with the rule of
// the form in place when the form's "test" button was used.
func (w *Web) adminRuleTest(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	r.Body = http.MaxBytesReader(rw, r.Body, 3<<20)
	if err := r.ParseForm(); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	org := r.PostForm.Get("ente")
	msg := r.PostForm.Get("message")
	draft := r.PostForm.Get("draft") == "1"
	var rules []route.Rule
	rf := ruleForm{Pos: -1}
	if draft {
		rf = parseRuleForm(r)
		_, stored, err := w.mail.Rules(r.Context(), c.Actor, org)
		if err != nil {
			return err
		}
		rule := ruleOfForm(rf)
		if err := rule.Validate(); err != nil {
			p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{"name": translate(c.Lang, "err.field.rules")}, Detail: err.Error()}
			return w.renderRules(rw, r, c, http.StatusUnprocessableEntity, &p, func(v *rulesView) { v.Edit, v.Message = rf, msg })
		}
		rules, _ = placeRule(stored, rule, rf.Pos, r.PostForm.Get("at"))
	}
	pv, err := w.mail.TestRules(r.Context(), c.Actor, org, []byte(strings.ReplaceAll(msg, "\r\n", "\n")), rules)
	p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
	status := http.StatusOK
	if err != nil {
		if err := adminFail(&p, err, "message"); err != nil {
			return err
		}
		status = http.StatusUnprocessableEntity
	}
	return w.renderRules(rw, r, c, status, &p, func(v *rulesView) {
		v.Edit, v.Message, v.Draft = rf, msg, draft
		if err == nil {
			v.Preview = &pv
		}
	})
}

// ---- Retired addresses ----

type addressesView struct {
	adminPage
	Addresses []mailbox.Address
	Missing   bool
}

func (w *Web) adminAddresses(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderAddresses(rw, r, c, http.StatusOK, nil)
}

func (w *Web) renderAddresses(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, p0 *adminPage) error {
	p, err := w.newAdminPage(r, c, "addresses")
	if err != nil {
		return err
	}
	if p0 != nil {
		p.Form, p.Errors, p.Detail = p0.Form, p0.Errors, p0.Detail
	}
	v := &addressesView{adminPage: p, Missing: w.mail == nil}
	if w.mail != nil {
		if v.Addresses, err = w.mail.Addresses(r.Context(), c.Actor, p.Org); err != nil {
			return err
		}
	}
	w.render(rw, r, status, "admin_addresses", v)
	return nil
}

func (w *Web) adminAddressRetire(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{"address": f.Get("address"), "from": f.Get("from")}, Errors: map[string]string{}}
	var from time.Time
	var err error
	if s := strings.TrimSpace(f.Get("from")); s != "" {
		var d time.Time
		if d, err = time.ParseInLocation("2006-01-02", s, w.rome); err != nil {
			err = desk.FieldError("from", "the date must be YYYY-MM-DD")
		}
		from = d.UTC()
	}
	if err == nil {
		err = w.mail.RetireAddress(r.Context(), c.Actor, f.Get("ente"), f.Get("address"), from)
	}
	if err == nil {
		w.flash(r, c, "admin.addresses.retired", f.Get("address"))
		redirect(rw, r, "/admin/indirizzi?ente="+url.QueryEscape(f.Get("ente")))
		return nil
	}
	if err := adminFail(&p, err, "address"); err != nil {
		return err
	}
	return w.renderAddresses(rw, r, c, http.StatusUnprocessableEntity, &p)
}

func (w *Web) adminAddressRemove(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	if err := w.mail.RemoveAddress(r.Context(), c.Actor, r.PostForm.Get("address")); err != nil {
		return err
	}
	w.flash(r, c, "admin.addresses.removed", r.PostForm.Get("address"))
	redirect(rw, r, "/admin/indirizzi?ente="+url.QueryEscape(r.PostForm.Get("ente")))
	return nil
}

// ---- Office directory ----

type officesView struct {
	adminPage
	Offices []route.Office
	Preview *mail.OfficePreview
	CSV     string
	Kind    string
	Match   string
	Missing bool
}

// maxDirectoryUpload bounds the directory file (the IPA list is a few MB).
const maxDirectoryUpload = 20 << 20

func (w *Web) adminOffices(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderOffices(rw, r, c, http.StatusOK, nil, nil)
}

func (w *Web) renderOffices(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, p0 *adminPage, fill func(*officesView)) error {
	p, err := w.newAdminPage(r, c, "offices")
	if err != nil {
		return err
	}
	if p0 != nil {
		p.Form, p.Errors, p.Detail = p0.Form, p0.Errors, p0.Detail
	}
	v := &officesView{adminPage: p, Missing: w.mail == nil}
	if w.mail != nil {
		if v.Offices, err = w.mail.Offices(r.Context(), c.Actor); err != nil {
			return err
		}
	}
	if fill != nil {
		fill(v)
	}
	w.render(rw, r, status, "admin_offices", v)
	return nil
}

// directoryInput reads the CSV from the uploaded file or the text field.
func directoryInput(rw http.ResponseWriter, r *http.Request) (string, route.ImportOptions, error) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxDirectoryUpload+1<<20)
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return "", route.ImportOptions{}, err
	}
	opts := route.ImportOptions{Kind: strings.TrimSpace(r.FormValue("kind")), Match: strings.TrimSpace(r.FormValue("match"))}
	text := r.FormValue("csv")
	if file, _, err := r.FormFile("file"); err == nil {
		defer file.Close()
		data, err := io.ReadAll(io.LimitReader(file, maxDirectoryUpload+1))
		if err != nil {
			return "", opts, err
		}
		text = string(data)
	}
	return text, opts, nil
}

func (w *Web) adminOfficesPreview(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	text, opts, err := directoryInput(rw, r)
	if err != nil {
		return err
	}
	p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
	pv, err := w.mail.PreviewOffices(r.Context(), c.Actor, strings.NewReader(text), opts)
	if err != nil {
		if err := adminFail(&p, err, "file"); err != nil {
			return err
		}
		return w.renderOffices(rw, r, c, http.StatusUnprocessableEntity, &p, func(v *officesView) { v.Kind, v.Match = opts.Kind, opts.Match })
	}
	return w.renderOffices(rw, r, c, http.StatusOK, &p, func(v *officesView) {
		v.Preview, v.CSV, v.Kind, v.Match = &pv, text, opts.Kind, opts.Match
	})
}

func (w *Web) adminOfficesApply(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if w.mail == nil {
		return desk.Errorf(desk.ENotFound, "no mail channel")
	}
	text, opts, err := directoryInput(rw, r)
	if err != nil {
		return err
	}
	// The preview is computed again from the same file, so what is written
	// is exactly what the administrator saw (or newer, if the directory
	// changed in between: then the counts in the audit entry say so).
	pv, err := w.mail.PreviewOffices(r.Context(), c.Actor, strings.NewReader(text), opts)
	if err == nil {
		err = w.mail.ApplyOffices(r.Context(), c.Actor, pv)
	}
	if err != nil {
		p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{}, Errors: map[string]string{}}
		if err := adminFail(&p, err, "file"); err != nil {
			return err
		}
		return w.renderOffices(rw, r, c, http.StatusUnprocessableEntity, &p, nil)
	}
	w.flash(r, c, "admin.offices.applied", pv.New, pv.Changed)
	redirect(rw, r, "/admin/uffici")
	return nil
}

// ---- Canned answers ----

type cannedView struct {
	adminPage
	Answers []desk.CannedAnswer
}

func (w *Web) adminCanned(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return w.renderCanned(rw, r, c, http.StatusOK, nil)
}

func (w *Web) renderCanned(rw http.ResponseWriter, r *http.Request, c *reqCtx, status int, p0 *adminPage) error {
	p, err := w.newAdminPage(r, c, "canned")
	if err != nil {
		return err
	}
	if p0 != nil {
		p.Form, p.Errors, p.Detail = p0.Form, p0.Errors, p0.Detail
	}
	list, err := w.desk.CannedAnswers(r.Context(), c.Actor, p.Org)
	if err != nil {
		return err
	}
	if id := formInt(r.URL.Query().Get("modifica")); id != 0 && p0 == nil {
		for _, a := range list {
			if a.ID == id {
				p.Form = map[string]string{"code": a.Code, "title": a.Title, "body": a.Body}
			}
		}
	}
	w.render(rw, r, status, "admin_canned", &cannedView{adminPage: p, Answers: list})
	return nil
}

func (w *Web) adminCannedSave(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	f := r.PostForm
	in := desk.CannedAnswer{Code: strings.TrimSpace(f.Get("code")), Title: f.Get("title"), Body: f.Get("body")}
	a, err := w.desk.SaveCanned(r.Context(), c.Actor, f.Get("ente"), in)
	if err == nil {
		w.flash(r, c, "admin.canned.saved", a.Title)
		redirect(rw, r, "/admin/risposte?ente="+url.QueryEscape(f.Get("ente")))
		return nil
	}
	p := adminPage{Page: w.newPage(r, c, "admin"), Form: map[string]string{"code": in.Code, "title": in.Title, "body": in.Body}, Errors: map[string]string{}}
	if err := adminFail(&p, err, "code"); err != nil {
		return err
	}
	return w.renderCanned(rw, r, c, http.StatusUnprocessableEntity, &p)
}

func (w *Web) adminCannedDelete(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := parseForm(rw, r); err != nil {
		return desk.Errorf(desk.EInvalid, "bad form")
	}
	if err := w.desk.DeleteCanned(r.Context(), c.Actor, formInt(r.PathValue("id"))); err != nil {
		return err
	}
	w.flash(r, c, "admin.canned.deleted")
	redirect(rw, r, "/admin/risposte?ente="+url.QueryEscape(r.PostForm.Get("ente")))
	return nil
}

// ---- Mail log ----

type mailLogView struct {
	adminPage
	Entries   []mailbox.Inbound
	Mailboxes []mailbox.Mailbox
	Outcomes  []string
	Next      int64
	Missing   bool
}

// outcomes are the mail log's filter choices (mailbox.Outcome values).
func (v *mailLogView) outcomes() []string {
	return []string{string(mailbox.OutTicket), string(mailbox.OutMessage), string(mailbox.OutFollowUp), string(mailbox.OutReopened),
		string(mailbox.OutConfirmed), string(mailbox.OutRetired), string(mailbox.OutAnswered), string(mailbox.OutRedirected),
		string(mailbox.OutRobot), string(mailbox.OutBounce), string(mailbox.OutReceipt), string(mailbox.OutDuplicate), string(mailbox.OutQuarantined)}
}

func (w *Web) adminMailLog(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := w.newAdminPage(r, c, "maillog")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p.Form["outcome"], p.Form["mailbox"] = q.Get("esito"), q.Get("casella")
	v := &mailLogView{adminPage: p, Missing: w.mail == nil}
	v.Outcomes = v.outcomes()
	if w.mail != nil {
		lq := mailbox.LogQuery{MailboxID: formInt(q.Get("casella")), Before: formInt(q.Get("prima")), Limit: 50}
		if o := q.Get("esito"); o != "" {
			lq.Outcomes = []mailbox.Outcome{mailbox.Outcome(o)}
		}
		if v.Entries, err = w.mail.MailLog(r.Context(), c.Actor, lq); err != nil {
			return err
		}
		if v.Mailboxes, err = w.mail.Mailboxes(r.Context(), c.Actor); err != nil {
			return err
		}
		if len(v.Entries) == 50 {
			v.Next = v.Entries[len(v.Entries)-1].ID
		}
	}
	w.render(rw, r, http.StatusOK, "admin_maillog", v)
	return nil
}

// ---- Audit log ----

type auditView struct {
	adminPage
	Entries []desk.AuditEntry
	Next    int64
	CSV     string
}

func (w *Web) auditFilter(r *http.Request, c *reqCtx) (desk.AuditFilter, map[string]string, error) {
	q := r.URL.Query()
	form := map[string]string{"action": q.Get("azione"), "target": q.Get("oggetto"), "since": q.Get("dal"), "until": q.Get("al"), "org": q.Get("ente")}
	f := desk.AuditFilter{Action: strings.TrimSpace(form["action"]), Target: strings.TrimSpace(form["target"]), Before: formInt(q.Get("prima"))}
	if s := form["since"]; s != "" {
		d, err := time.ParseInLocation("2006-01-02", s, w.rome)
		if err != nil {
			return f, form, desk.FieldError("since", "the date must be YYYY-MM-DD")
		}
		f.Since = d
	}
	if s := form["until"]; s != "" {
		d, err := time.ParseInLocation("2006-01-02", s, w.rome)
		if err != nil {
			return f, form, desk.FieldError("until", "the date must be YYYY-MM-DD")
		}
		f.Until = d.AddDate(0, 0, 1)
	}
	if code := form["org"]; code != "" {
		orgs, err := w.desk.AdminOrgs(r.Context(), c.Actor)
		if err != nil {
			return f, form, err
		}
		for _, o := range orgs {
			if o.Code == code {
				f.OrgID = o.ID
			}
		}
	}
	return f, form, nil
}

func (w *Web) adminAudit(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p, err := w.newAdminPage(r, c, "audit")
	if err != nil {
		return err
	}
	f, form, err := w.auditFilter(r, c)
	p.Form = form
	status := http.StatusOK
	v := &auditView{adminPage: p}
	if err != nil {
		if err := adminFail(&v.adminPage, err, "since"); err != nil {
			return err
		}
		status = http.StatusUnprocessableEntity
	} else {
		f.Limit = 50
		if v.Entries, err = w.desk.AuditLog(r.Context(), c.Actor, f); err != nil {
			return err
		}
		if len(v.Entries) == 50 {
			v.Next = v.Entries[len(v.Entries)-1].ID
		}
	}
	csvq := r.URL.Query()
	csvq.Del("prima")
	v.CSV = "/admin/registro.csv?" + csvq.Encode()
	w.render(rw, r, status, "admin_audit", v)
	return nil
}

// maxAuditCSV bounds one export.
const maxAuditCSV = 100_000

func (w *Web) adminAuditCSV(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, _, err := w.auditFilter(r, c)
	if err != nil {
		return err
	}
	rows := [][]string{{"id", "at", "organisation", "actor_id", "actor", "action", "target", "detail", "remote"}}
	f.Limit = 1000
	for len(rows) <= maxAuditCSV {
		batch, err := w.desk.AuditLog(r.Context(), c.Actor, f)
		if err != nil {
			return err
		}
		for _, e := range batch {
			rows = append(rows, []string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), strconv.FormatInt(e.OrgID, 10),
				strconv.FormatInt(e.ActorID, 10), e.Actor, e.Action, e.Target, e.Detail, e.Remote})
		}
		if len(batch) < f.Limit {
			break
		}
		f.Before = batch[len(batch)-1].ID
	}
	_ = w.desk.Audit(r.Context(), c.Actor, desk.AuditEntry{Action: "export", Target: "audit", Detail: fmt.Sprintf("%d entries as CSV", len(rows)-1)})
	writeCSV(rw, "registro-audit.csv", rows)
	return nil
}

// adminSection is an entry of the administration navigation.
type adminSection struct{ ID, URL string }

// AdminSections lists the sections the user may open: approvers see the
// dashboard only; the office directory is for installation administrators.
func (p *adminPage) AdminSections() []adminSection {
	all := []adminSection{{"dashboard", "/admin"}}
	if !p.IsAdmin() {
		return all
	}
	all = append(all, adminSection{"users", "/admin/utenti"}, adminSection{"orgs", "/admin/enti"}, adminSection{"queues", "/admin/code"},
		adminSection{"services", "/admin/servizi"}, adminSection{"mailboxes", "/admin/caselle"}, adminSection{"rules", "/admin/regole"},
		adminSection{"addresses", "/admin/indirizzi"})
	if p.IsInstallationAdmin() {
		all = append(all, adminSection{"offices", "/admin/uffici"})
	}
	return append(all, adminSection{"canned", "/admin/risposte"}, adminSection{"maillog", "/admin/posta"}, adminSection{"audit", "/admin/registro"},
		adminSection{"privacy", "/admin/dati-personali"})
}

// Join joins values for display.
func (p *adminPage) Join(ss []string) string { return strings.Join(ss, ", ") }

// RuleActions are the buttons of each rule.
func (v *rulesView) RuleActions() []string { return []string{"up", "down", "toggle", "delete"} }

// DescribeAction says in words what a rule does.
func (p *adminPage) DescribeAction(a route.Action) string {
	var parts []string
	if a.Service != "" {
		parts = append(parts, p.T("admin.rules.do.service", a.Service))
	}
	if a.Queue != "" {
		parts = append(parts, p.T("admin.rules.do.queue", a.Queue))
	}
	if a.Priority != "" {
		parts = append(parts, p.T("admin.rules.do.priority", p.T("priority."+a.Priority)))
	}
	if len(a.Tags) > 0 {
		parts = append(parts, p.T("admin.rules.do.tags", strings.Join(a.Tags, " ")))
	}
	if a.NoTicket {
		parts = append(parts, p.T("admin.rules.do.no_ticket"))
	}
	if a.Redirect != "" {
		parts = append(parts, p.T("admin.rules.do.redirect", a.Redirect))
	}
	if a.Reply != "" {
		parts = append(parts, p.T("admin.rules.do.reply", p.T("rule.reply."+a.Reply)))
	}
	if len(parts) == 0 {
		return p.T("admin.rules.do.nothing")
	}
	return strings.Join(parts, "; ")
}

// ownCanned turns an organisation's canned answers into the ticket page's.
// Codes are prefixed so that they never clash with the built-in ones.
func ownCanned(list []desk.CannedAnswer) []canned {
	out := make([]canned, 0, len(list))
	for _, a := range list {
		out = append(out, canned{Code: "ente-" + a.Code, Title: a.Title, Text: a.Body})
	}
	return out
}

// ---- Editing one service (its art. 35 fields and phases) ----

type serviceEditView struct {
	adminPage
	Code string // "" for a new service
	YAML string
}

// CatalogueEditor saves one service; *workflow.Engine implements it.
type CatalogueEditor interface {
	SaveService(ctx context.Context, a desk.Actor, orgCode string, s catalog.Service) error
}

var _ CatalogueEditor = (*workflow.Engine)(nil)

// newServiceYAML is the starting point of a new service: the phases of the
// Province's catalogue (receipt, evaluation, approval, intervention,
// verification), to adapt.
const newServiceYAML = `  - code: nuovo-servizio
    name: Nuovo servizio
    description: Descrizione del servizio (art. 35, lettera a).
    active: true
    queue: sistemi-informativi
    phases:
      - {code: ricezione, name: Ricezione della richiesta, kind: receipt}
      - {code: valutazione, name: Valutazione, kind: evaluation}
      - {code: accettazione, name: Accettazione e conferma del responsabile, kind: approval}
      - {code: intervento, name: Intervento, kind: intervention}
      - {code: verifica, name: Verifica dell'esito, kind: verification}
`

// serviceDoc writes the catalogue file of one service (with the
// organisation's data and criteria, which the file format requires).
func serviceDoc(cat *catalog.Catalogue, code string) (string, bool) {
	one := &catalog.Catalogue{Organisation: cat.Organisation, Criteria: cat.Criteria}
	for _, s := range cat.Services {
		if s.Code == code {
			one.Services = []catalog.Service{s}
		}
	}
	if len(one.Services) == 0 {
		return "", false
	}
	var b strings.Builder
	if err := catalog.Export(&b, one, catalog.FormatYAML); err != nil {
		return "", false
	}
	return b.String(), true
}

func (w *Web) adminServiceEdit(rw http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ed, ok := w.catalogue.(CatalogueEditor)
	if w.catalogue == nil || !ok {
		return desk.Errorf(desk.ENotFound, "no catalogue")
	}
	if r.Method == http.MethodPost {
		if err := parseForm(rw, r); err != nil {
			return desk.Errorf(desk.EInvalid, "bad form")
		}
	}
	p, err := w.newAdminPage(r, c, "services")
	if err != nil {
		return err
	}
	if !c.Actor.System && c.Actor.Role != desk.RoleAdmin {
		return desk.Errorf(desk.EForbidden, "only administrators edit the catalogue")
	}
	cat, err := w.catalogue.ExportCatalogue(r.Context(), c.Actor, p.Org)
	if err != nil {
		return err
	}
	code := r.PathValue("code")
	v := &serviceEditView{adminPage: p, Code: code}
	if r.Method == http.MethodPost {
		v.YAML = r.PostForm.Get("yaml")
		parsed, perr := catalog.Parse([]byte(v.YAML), catalog.FormatYAML)
		switch {
		case perr != nil:
			v.Errors["yaml"], v.Detail = p.T("err.field.yaml"), perr.Error()
		case len(parsed.Services) != 1:
			v.Errors["yaml"] = p.T("admin.services.one")
		case code != "new" && parsed.Services[0].Code != code:
			v.Errors["yaml"] = p.T("admin.services.code_changed")
		default:
			s := parsed.Services[0]
			err := ed.SaveService(r.Context(), c.Actor, p.Org, s)
			if err == nil {
				_ = w.desk.Audit(r.Context(), c.Actor, desk.AuditEntry{Action: "service.update", Target: "service:" + s.Code,
					Detail: fmt.Sprintf("%s (%d phases)", s.Name, len(s.Phases))})
				w.flash(r, c, "admin.services.saved", s.Code)
				redirect(rw, r, "/admin/servizi?ente="+url.QueryEscape(p.Org)+"#svc-"+url.QueryEscape(s.Code))
				return nil
			}
			if err := adminFail(&v.adminPage, err, "yaml"); err != nil {
				return err
			}
			if v.Detail == "" {
				v.Detail = err.Error()
			}
		}
		w.render(rw, r, http.StatusUnprocessableEntity, "admin_service", v)
		return nil
	}
	if code == "new" {
		var b strings.Builder
		if err := catalog.Export(&b, &catalog.Catalogue{Organisation: cat.Organisation, Criteria: cat.Criteria}, catalog.FormatYAML); err != nil {
			return err
		}
		doc := b.String()
		// Export writes "services: []" for none; put the template there.
		v.YAML = strings.Replace(doc, "services: []\n", "services:\n"+newServiceYAML, 1)
	} else {
		doc, ok := serviceDoc(cat, code)
		if !ok {
			return desk.Errorf(desk.ENotFound, "no service %q", code)
		}
		v.YAML = doc
	}
	w.render(rw, r, http.StatusOK, "admin_service", v)
	return nil
}

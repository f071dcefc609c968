package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/desk"
)

// Personal-data requests (GDPR arts. 15 and 17): export everything held
// about a person as JSON or as a printable HTML page, and erase it by
// redaction. Administrators only; the rules are the desk's.

// PersonalData is the JSON export of desk.PersonalData.
type PersonalData struct {
	Generated   time.Time          `json:"generated_at"`
	Person      PersonJSON         `json:"person"`
	Identities  []IdentityJSON     `json:"identities"`
	Tickets     []PersonalTicket   `json:"tickets"`
	Messages    []PersonalMessage  `json:"messages"`
	Attachments []PersonalFile     `json:"attachments"`
	Mail        []PersonalMailJSON `json:"mail"`
	Audit       []AuditEntry       `json:"audit"`
	Redactions  []RedactionJSON    `json:"redactions"`
	Exemptions  []ExemptionJSON    `json:"exemptions"`
}

type PersonJSON struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Phone        string    `json:"phone"`
	Role         string    `json:"role"`
	Organisation string    `json:"organisation"`
	Active       bool      `json:"active"`
	Redacted     bool      `json:"redacted"`
	Created      time.Time `json:"created_at"`
}

type IdentityJSON struct {
	Source     string    `json:"source"`
	Subject    string    `json:"subject"`
	Department string    `json:"department"`
	Groups     []string  `json:"groups"`
	First      time.Time `json:"first_sign_in"`
	Last       time.Time `json:"last_sign_in"`
}

type PersonalTicket struct {
	Number      string    `json:"number"`
	Protocol    string    `json:"protocol"`
	Subject     string    `json:"subject"`
	Description string    `json:"description"`
	Status      string    `json:"status"`
	Channel     string    `json:"channel"`
	Service     string    `json:"service"`
	Queue       string    `json:"queue"`
	Requester   Contact   `json:"requester"`
	Created     time.Time `json:"created_at"`
	Updated     time.Time `json:"updated_at"`
}

type Contact struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

type PersonalMessage struct {
	Ticket   string    `json:"ticket"`
	ID       int64     `json:"id"`
	Kind     string    `json:"kind"`
	Channel  string    `json:"channel"`
	Internal bool      `json:"internal"`
	Author   string    `json:"author"`
	Body     string    `json:"body"`
	Created  time.Time `json:"created_at"`
}

type PersonalFile struct {
	Ticket      string    `json:"ticket"`
	ID          int64     `json:"id"`
	MessageID   int64     `json:"message_id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Created     time.Time `json:"created_at"`
	Exempt      string    `json:"exempt"`
}

type PersonalMailJSON struct {
	Direction string    `json:"direction"`
	ID        int64     `json:"id"`
	Mailbox   string    `json:"mailbox"`
	PEC       bool      `json:"pec"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Size      int64     `json:"size"`
	At        time.Time `json:"at"`
	State     string    `json:"state"`
	Exempt    string    `json:"exempt"`
}

type RedactionJSON struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	ActorID int64           `json:"actor_id"`
	Summary json.RawMessage `json:"summary"`
}

type ExemptionJSON struct {
	Kind   string `json:"kind"`
	RefID  int64  `json:"ref_id"`
	Reason string `json:"reason"`
}

// NewPersonalData turns the desk's export into its JSON shape (every list
// present, possibly empty).
func NewPersonalData(p desk.PersonalData, codes map[int64]string) PersonalData {
	u := p.User
	out := PersonalData{Generated: p.Generated, Identities: []IdentityJSON{}, Tickets: []PersonalTicket{}, Messages: []PersonalMessage{},
		Attachments: []PersonalFile{}, Mail: []PersonalMailJSON{}, Audit: []AuditEntry{}, Redactions: []RedactionJSON{}, Exemptions: []ExemptionJSON{},
		Person: PersonJSON{ID: u.ID, Email: u.Email, Name: u.Name, Phone: u.Phone, Role: string(u.Role), Organisation: p.OrgCode,
			Active: u.Active, Redacted: u.Redacted, Created: u.Created}}
	for _, e := range p.Identities {
		g := e.Groups
		if g == nil {
			g = []string{}
		}
		out.Identities = append(out.Identities, IdentityJSON{Source: e.Source, Subject: e.Subject, Department: e.Department, Groups: g, First: e.First, Last: e.Last})
	}
	for _, t := range p.Tickets {
		out.Tickets = append(out.Tickets, PersonalTicket{Number: t.Number, Protocol: t.Protocol, Subject: t.Subject, Description: t.Description, Status: string(t.Status),
			Channel: string(t.Channel), Service: t.ServiceCode, Queue: t.QueueCode, Requester: Contact(t.Requester), Created: t.Created, Updated: t.Updated})
	}
	for _, m := range p.Messages {
		out.Messages = append(out.Messages, PersonalMessage{Ticket: m.TicketNumber, ID: m.ID, Kind: string(m.Kind), Channel: string(m.Channel),
			Internal: m.Internal, Author: m.AuthorName, Body: m.Body, Created: m.Created})
	}
	for _, f := range p.Attachments {
		out.Attachments = append(out.Attachments, PersonalFile{Ticket: f.TicketNumber, ID: f.ID, MessageID: f.MessageID, Name: f.Name,
			ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256, Created: f.Created, Exempt: f.Exempt})
	}
	for _, m := range p.Mail {
		out.Mail = append(out.Mail, PersonalMailJSON{Direction: m.Direction, ID: m.ID, Mailbox: m.Mailbox, PEC: m.PEC, From: m.From, To: m.To,
			Subject: m.Subject, Size: m.Size, At: m.At, State: m.State, Exempt: m.Exempt})
	}
	for _, e := range p.Audit {
		out.Audit = append(out.Audit, auditJSON(e, codes))
	}
	for _, r := range p.Redactions {
		s := json.RawMessage(r.Summary)
		if !json.Valid(s) {
			s = json.RawMessage("{}")
		}
		out.Redactions = append(out.Redactions, RedactionJSON{ID: r.ID, At: r.At, ActorID: r.ActorID, Summary: s})
	}
	for _, e := range p.Exemptions {
		out.Exemptions = append(out.Exemptions, ExemptionJSON(e))
	}
	return out
}

func (a *API) personalData(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "html" {
		return desk.FieldError("format", "format must be json or html")
	}
	p, err := a.desk.PersonalData(r.Context(), actor, r.PathValue("person"))
	if err != nil {
		return err
	}
	codes, err := a.orgCodes(r)
	if err != nil {
		return err
	}
	out := NewPersonalData(p, codes)
	if format == "html" {
		w.Header().Set("Content-Security-Policy", PersonalDataCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		return WritePersonalDataHTML(w, out)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type eraseIn struct {
	// Confirm must repeat the person's e-mail (or user:ID), so that an
	// erasure is never one mistyped request away.
	Confirm string `json:"confirm"`
}

func (a *API) erasePerson(w http.ResponseWriter, r *http.Request, actor desk.Actor) error {
	var in eraseIn
	if err := decode(r, &in); err != nil {
		return err
	}
	who := r.PathValue("person")
	if !strings.EqualFold(strings.TrimSpace(in.Confirm), who) {
		return desk.FieldError("confirm", "confirm must repeat the person being erased (%s)", who)
	}
	rep, err := a.desk.ErasePerson(r.Context(), actor, who)
	if err != nil {
		return err
	}
	if rep.Exempt == nil {
		rep.Exempt = []desk.Exemption{}
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// personalStyle is the page's only style, allowed by its hash.
const personalStyle = `body{font-family:"Titillium Web",Arial,sans-serif;margin:2em;color:#17324d;line-height:1.45}` +
	`h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:2px solid #06c}` +
	`table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #b1b1b3;padding:.3em .5em;text-align:left;vertical-align:top}` +
	`th{background:#e8f0f8;width:1%;white-space:nowrap}td{overflow-wrap:anywhere}pre{white-space:pre-wrap;margin:0;font-family:inherit}.exempt{font-weight:600;color:#995c00}` +
	`@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}`

// PersonalDataCSP lets the printable page use its own style and nothing else.
var PersonalDataCSP = func() string {
	sum := sha256.Sum256([]byte(personalStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
}()

var personalHTML = template.Must(template.New("p").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("02/01/2006 15:04 UTC")
	},
	"style": func() template.CSS { return template.CSS(personalStyle) },
}).Parse(`<!doctype html>
<html lang="it"><head><meta charset="utf-8"><title>Dati personali — {{ .Person.Name }}</title><style>{{ style }}</style></head>
<body>
<h1>Dati personali / Personal data: {{ .Person.Name }}</h1>
<p>Estratto generato il / generated on {{ when .Generated }}. Stampabile in PDF dal browser (Stampa → Salva come PDF).</p>
<h2>Account</h2>
<table>
<tr><th>E-mail</th><td>{{ .Person.Email }}</td></tr>
<tr><th>Nome / Name</th><td>{{ .Person.Name }}</td></tr>
<tr><th>Telefono / Phone</th><td>{{ .Person.Phone }}</td></tr>
<tr><th>Ruolo / Role</th><td>{{ .Person.Role }}</td></tr>
<tr><th>Ente / Organisation</th><td>{{ .Person.Organisation }}</td></tr>
<tr><th>Creato / Created</th><td>{{ when .Person.Created }}</td></tr>
<tr><th>Attivo / Active</th><td>{{ if .Person.Active }}sì / yes{{ else }}no{{ end }}{{ if .Person.Redacted }} — dati oscurati / erased{{ end }}</td></tr>
</table>
<h2>Identità esterne / External identities ({{ len .Identities }})</h2>
{{ if .Identities }}<table><tr><th>Fonte / Source</th><th>Identificativo / Subject</th><th>Ufficio / Department</th><th>Gruppi / Groups</th><th>Ultimo accesso / Last sign-in</th></tr>
{{ range .Identities }}<tr><td>{{ .Source }}</td><td>{{ .Subject }}</td><td>{{ .Department }}</td><td>{{ range .Groups }}{{ . }}<br>{{ end }}</td><td>{{ when .Last }}</td></tr>{{ end }}</table>{{ else }}<p>Nessuna / none.</p>{{ end }}
<h2>Richieste / Requests ({{ len .Tickets }})</h2>
{{ range .Tickets }}<table>
<tr><th>Numero / Number</th><td>{{ .Number }}{{ if .Protocol }} — protocollo / protocol {{ .Protocol }}{{ end }}</td><th>Stato / Status</th><td>{{ .Status }}</td></tr>
<tr><th>Oggetto / Subject</th><td colspan="3">{{ .Subject }}</td></tr>
<tr><th>Descrizione / Description</th><td colspan="3"><pre>{{ .Description }}</pre></td></tr>
<tr><th>Canale / Channel</th><td>{{ .Channel }}</td><th>Aperta / Opened</th><td>{{ when .Created }}</td></tr>
<tr><th>Contatto / Contact</th><td colspan="3">{{ .Requester.Name }} {{ .Requester.Email }} {{ .Requester.Phone }}</td></tr>
</table>{{ else }}<p>Nessuna / none.</p>{{ end }}
<h2>Messaggi scritti / Messages written ({{ len .Messages }})</h2>
{{ if .Messages }}<table><tr><th>Richiesta / Request</th><th>Data / Date</th><th>Canale / Channel</th><th>Testo / Text</th></tr>
{{ range .Messages }}<tr><td>{{ .Ticket }}</td><td>{{ when .Created }}</td><td>{{ .Channel }}</td><td><pre>{{ .Body }}</pre></td></tr>{{ end }}</table>{{ else }}<p>Nessuno / none.</p>{{ end }}
<h2>Allegati / Attachments ({{ len .Attachments }})</h2>
{{ if .Attachments }}<table><tr><th>Richiesta / Request</th><th>Nome / Name</th><th>Tipo / Type</th><th>Byte</th><th>SHA-256</th><th>Note</th></tr>
{{ range .Attachments }}<tr><td>{{ .Ticket }}</td><td>{{ .Name }}</td><td>{{ .ContentType }}</td><td>{{ .Size }}</td><td>{{ .SHA256 }}</td><td>{{ if .Exempt }}<span class="exempt">Conservato / kept: {{ .Exempt }}</span>{{ end }}</td></tr>{{ end }}</table>{{ else }}<p>Nessuno / none.</p>{{ end }}
<h2>Posta / Mail ({{ len .Mail }})</h2>
{{ if .Mail }}<table><tr><th>Verso / Direction</th><th>Data / Date</th><th>Casella / Mailbox</th><th>Da / From</th><th>A / To</th><th>Oggetto / Subject</th><th>Note</th></tr>
{{ range .Mail }}<tr><td>{{ if eq .Direction "in" }}ricevuta / received{{ else }}inviata / sent{{ end }}</td><td>{{ when .At }}</td><td>{{ .Mailbox }}{{ if .PEC }} (PEC){{ end }}</td><td>{{ .From }}</td><td>{{ .To }}</td><td>{{ .Subject }}</td><td>{{ if .Exempt }}<span class="exempt">Conservata / kept: {{ .Exempt }}</span>{{ end }}</td></tr>{{ end }}</table>{{ else }}<p>Nessuna / none.</p>{{ end }}
<h2>Registro di audit / Audit log ({{ len .Audit }})</h2>
{{ if .Audit }}<table><tr><th>Data / Date</th><th>Chi / Who</th><th>Azione / Action</th><th>Oggetto / Target</th><th>Dettaglio / Detail</th><th>Indirizzo / Address</th></tr>
{{ range .Audit }}<tr><td>{{ when .At }}</td><td>{{ .Actor }}</td><td>{{ .Action }}</td><td>{{ .Target }}</td><td>{{ .Detail }}</td><td>{{ .Remote }}</td></tr>{{ end }}</table>{{ else }}<p>Nessuna voce / none.</p>{{ end }}
{{ if .Redactions }}<h2>Cancellazioni / Erasures ({{ len .Redactions }})</h2>
<table><tr><th>Data / Date</th><th>Riepilogo / Summary</th></tr>{{ range .Redactions }}<tr><td>{{ when .At }}</td><td><pre>{{ printf "%s" .Summary }}</pre></td></tr>{{ end }}</table>
{{ if .Exemptions }}<p>Conservato per obbligo di legge / kept as the law requires:</p><ul>{{ range .Exemptions }}<li>{{ .Kind }} {{ .RefID }}: {{ .Reason }}</li>{{ end }}</ul>{{ end }}{{ end }}
</body></html>
`))

// WritePersonalDataHTML renders the printable page.
func WritePersonalDataHTML(w io.Writer, p PersonalData) error { return personalHTML.Execute(w, p) }

package outbox

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/sportello/sportello/internal/mail/route"
)

//go:embed templates/*.txt
var templateFS embed.FS

// Kinds of outgoing mail, one template each.
const (
	KindAck       = "ack"        // request registered
	KindAckTriage = "ack_triage" // registered; which application is it about?
	KindInfo      = "info"       // a rule's fixed answer, no ticket
	KindRetired   = "retired"    // written to a retired address
	KindRedirect  = "redirect"   // the competent office is another
	KindFollowUp  = "followup"   // reply to a closed ticket opened a new one
	KindReply     = "reply"      // an agent's public reply
	KindResolved  = "resolved"   // resolved: please confirm or reopen
	KindReminder  = "reminder"   // waiting on the requester
)

// Kinds lists every template.
var Kinds = []string{KindAck, KindAckTriage, KindInfo, KindRetired, KindRedirect, KindFollowUp, KindReply, KindResolved, KindReminder}

// Data is what templates may use.
type Data struct {
	Requester      string // name, or address
	Number         string // ticket number
	Subject        string // ticket or message subject (the template may decorate it)
	DeskName       string // the organisation's name
	DeskAddress    string // where to write for assistance
	RetiredAddress string
	PortalURL      string
	Body           string // an agent's reply, or the resolution's cause
	Author         string // the agent's name
	Text           string // a rule's additional text
	Office         route.Office
	Previous       string // the closed ticket a follow-up comes from
	Since          string // date the ticket started waiting
}

// Templates renders the outgoing mail templates. They are embedded and
// parsed, and each is executed on sample data, when the package is loaded
// (see MustTemplates), so a broken template fails every test and start-up.
type Templates struct{ t *template.Template }

// LoadTemplates parses the embedded templates and checks that each one
// renders.
func LoadTemplates() (*Templates, error) {
	t, err := template.New("").Option("missingkey=error").ParseFS(templateFS, "templates/*.txt")
	if err != nil {
		return nil, err
	}
	ts := &Templates{t: t}
	sample := Data{Requester: "Mario Rossi", Number: "2026-000001", Subject: "Prova", DeskName: "Desk", DeskAddress: "desk@example.it",
		RetiredAddress: "old@example.it", Body: "testo", Author: "Agente", Text: "extra", Office: route.Office{Name: "Prefettura", PEC: "p@pec.example.it"},
		Previous: "2026-000000", Since: "01/01/2026", PortalURL: "https://desk.example.it"}
	for _, k := range Kinds {
		if _, _, err := ts.Render(k, sample); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// Render executes a template and returns the subject and the body.
func (ts *Templates) Render(kind string, d Data) (subject, body string, err error) {
	var b bytes.Buffer
	if err := ts.t.ExecuteTemplate(&b, kind+".txt", d); err != nil {
		return "", "", fmt.Errorf("template %s: %w", kind, err)
	}
	s := strings.ReplaceAll(b.String(), "\r\n", "\n")
	head, rest, ok := strings.Cut(s, "\n\n")
	subj, isSubj := strings.CutPrefix(head, "Subject: ")
	if !ok || !isSubj {
		return "", "", fmt.Errorf("template %s must start with a Subject: line and a blank line", kind)
	}
	return strings.Join(strings.Fields(subj), " "), strings.TrimRight(rest, "\n") + "\n", nil
}

// italianDate formats a date as Italians write it.
func italianDate(t time.Time) string {
	loc, err := time.LoadLocation("Europe/Rome")
	if err == nil {
		t = t.In(loc)
	}
	return t.Format("02/01/2006")
}

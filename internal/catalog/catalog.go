// Package catalog models the service catalogue of an administration: the
// "procedimenti" it delivers, with every field that D.Lgs. 33/2013 art. 35
// asks to publish, the phases each one goes through, and the smart-working
// assessment against the criteria a–g.
//
// The package is pure domain and formats: it has no storage. It offers
//
//   - the types (this file) and their validation;
//   - a documented file format, YAML or JSON (file.go, FORMAT.md), whose
//     errors name the line and the field;
//   - the transparency outputs: CSV and JSON open data, schema.org JSON-LD
//     (transparency.go);
//   - the seed catalogues of the Provincia di Brindisi and of the national
//     BDNA service desk (seed.go).
//
// Code and comments are in English; labels meant for users are in Italian.
package catalog

import (
	"fmt"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Catalogue is the whole catalogue of one organisation.
type Catalogue struct {
	Organisation OrgInfo `yaml:"organisation" json:"organisation"`
	// Criteria are the smart-working criteria services are assessed
	// against. Empty means DefaultCriteria (see EffectiveCriteria).
	Criteria []Criterion `yaml:"criteria,omitempty" json:"criteria,omitempty"`
	Services []Service   `yaml:"services" json:"services"`
}

// OrgInfo describes the organisation that publishes the catalogue.
type OrgInfo struct {
	// Code is the organisation's stable slug, e.g. "provincia-brindisi".
	Code string `yaml:"code" json:"code"`
	// Name is the official name, e.g. "Provincia di Brindisi".
	Name string `yaml:"name" json:"name"`
	// Area is the directorate the catalogue belongs to.
	Area string `yaml:"area,omitempty" json:"area,omitempty"`
	// Sector is the sector or office publishing the catalogue.
	Sector string `yaml:"sector,omitempty" json:"sector,omitempty"`
	// Website is the institutional web site (a URL; the scheme may be
	// omitted, https is then assumed).
	Website string `yaml:"website,omitempty" json:"website,omitempty"`
	Email   string `yaml:"email,omitempty" json:"email,omitempty"`
	PEC     string `yaml:"pec,omitempty" json:"pec,omitempty"`
	Phone   string `yaml:"phone,omitempty" json:"phone,omitempty"`
	Address string `yaml:"address,omitempty" json:"address,omitempty" catalog:"multiline"`
	// AreaServed is the territory served, e.g. "Provincia di Brindisi"
	// or "Italia".
	AreaServed string `yaml:"area_served,omitempty" json:"area_served,omitempty"`
	// TriageQueue is the code of the queue that receives requests no rule
	// could assign to a service ("smistamento").
	TriageQueue string `yaml:"triage_queue,omitempty" json:"triage_queue,omitempty"`
	// Notes is free text for administrators; it is not published.
	Notes string `yaml:"notes,omitempty" json:"notes,omitempty" catalog:"multiline"`
}

// Criterion is one smart-working criterion ("elemento essenziale"),
// identified by its letter.
type Criterion struct {
	Letter string `yaml:"letter" json:"letter"`
	Text   string `yaml:"text" json:"text" catalog:"multiline"`
}

// DefaultCriteria returns the seven criteria a–g of the Provincia di
// Brindisi's catalogue ("Elementi essenziali che devono sussistere"), the
// default for catalogues that do not list their own. The slice is new on
// every call.
func DefaultCriteria() []Criterion {
	return []Criterion{
		{"a", "Le attività le cui prestazioni non richiedono la presenza fisica del dipendente in un determinato luogo di lavoro"},
		{"b", "Le attività eseguibili in autonomia dal dipendente e valutabili in ordine al conseguimento del risultato e non necessariamente in base al tempo di lavoro"},
		{"c", "Le attività digitalizzate"},
		{"d", "Le attività per le quali è possibile utilizzare strumentazioni tecnologiche idonee allo svolgimento della prestazione lavorativa al di fuori della sede di lavoro"},
		{"e", "è nella disponibilità del dipendente, o in alternativa fornita dall'Amministrazione (nei limiti della disponibilità), la strumentazione informatica, tecnica e di comunicazione idonea e necessaria all'espletamento della prestazione in modalità agile"},
		{"f", "non è pregiudicata l'erogazione dei servizi rivolti a cittadini ed imprese che deve avvenire con regolarità, continuità ed efficienza, nonché nel rigoroso rispetto dei tempi previsti dalla normativa vigente"},
		{"g", "Le attività per le quali è possibile svolgere a distanza le relazioni con altri uffici e, in genere con gli utenti interni all'ente"},
	}
}

// EffectiveCriteria returns c.Criteria, or DefaultCriteria when the
// catalogue lists none.
func (c *Catalogue) EffectiveCriteria() []Criterion {
	if len(c.Criteria) == 0 {
		return DefaultCriteria()
	}
	return c.Criteria
}

// Service is one procedimento: a type of request the office handles, with
// the information art. 35 asks to publish (the letter of each field is in
// its comment) and what the desk needs to work it (team, queue, phases).
type Service struct {
	// Code is a stable slug that identifies the service in URLs, tickets
	// and routing rules; it never changes once published.
	Code string `yaml:"code" json:"code"`
	// Name is the "Denominazione del procedimento".
	Name string `yaml:"name" json:"name"`
	// Description is the "Descrizione" (art. 35 a).
	Description string `yaml:"description,omitempty" json:"description,omitempty" catalog:"multiline"`
	// LegalReferences are the "Riferimenti normativi" (art. 35 a).
	LegalReferences string `yaml:"legal_references,omitempty" json:"legal_references,omitempty" catalog:"multiline"`
	// ResponsibleUnit is the "Unità organizzativa responsabile
	// dell'istruttoria" (art. 35 b).
	ResponsibleUnit string `yaml:"responsible_unit,omitempty" json:"responsible_unit,omitempty" catalog:"multiline"`
	// Office is the "Ufficio del procedimento" (art. 35 c, d).
	Office Office `yaml:"office,omitempty" json:"office,omitzero"`
	// ResponsiblePerson is the "Responsabile del procedimento" (art. 35 c).
	ResponsiblePerson string `yaml:"responsible_person,omitempty" json:"responsible_person,omitempty"`
	// Collaborators are the people who work with the responsible person,
	// in the published order.
	Collaborators []string `yaml:"collaborators,omitempty" json:"collaborators,omitempty"`
	// Phones are the office's phone numbers ("Telefono", art. 35 c).
	Phones []string `yaml:"phones,omitempty" json:"phones,omitempty"`
	// Email is the institutional mailbox ("Indirizzo e-mail", art. 35 c).
	Email string `yaml:"email,omitempty" json:"email,omitempty"`
	// PEC is the certified mailbox, address only (art. 35 c).
	PEC string `yaml:"pec,omitempty" json:"pec,omitempty"`
	// PECNote qualifies the PEC address, e.g. "riceve anche da PEO".
	PECNote string `yaml:"pec_note,omitempty" json:"pec_note,omitempty"`
	// Documents is the "Indicazione dei documenti da allegare, della
	// modulistica necessaria e dei riferimenti dell'ufficio cui rivolgersi
	// nel caso di istanza di parte" (art. 35 d), e.g. "Non prevista".
	Documents string `yaml:"documents,omitempty" json:"documents,omitempty" catalog:"multiline"`
	// Forms are the downloadable forms and self-declaration templates
	// (art. 35 d). An administration may not require unpublished forms.
	Forms []Form `yaml:"forms,omitempty" json:"forms,omitempty"`
	// Access is how to reach the service: channels, subjects to use,
	// addresses no longer in use ("Modalità di accesso", art. 35 d).
	Access string `yaml:"access,omitempty" json:"access,omitempty" catalog:"multiline"`
	// InfoOnProgress is how applicants get information on their requests
	// in progress (art. 35 e).
	InfoOnProgress string `yaml:"info_on_progress,omitempty" json:"info_on_progress,omitempty" catalog:"multiline"`
	// Payments is the "Modalità per eventuale effettuazione di pagamenti"
	// (art. 35 l), e.g. "Non prevista".
	Payments string `yaml:"payments,omitempty" json:"payments,omitempty" catalog:"multiline"`
	// FinalActBody is the "Organo competente ad adottare l'atto finale"
	// (art. 35 c).
	FinalActBody string `yaml:"final_act_body,omitempty" json:"final_act_body,omitempty" catalog:"multiline"`
	// SilenceAssent is the "Silenzio - assenso" entry (art. 35 g), e.g.
	// "Non previsto".
	SilenceAssent string `yaml:"silence_assent,omitempty" json:"silence_assent,omitempty" catalog:"multiline"`
	// DeadlineText is the "Termine finale procedimentale" as published
	// (art. 35 f), e.g. "In base alla natura del problema".
	DeadlineText string `yaml:"deadline,omitempty" json:"deadline,omitempty" catalog:"multiline"`
	// TargetDuration is the optional machine-readable target behind the
	// deadline, e.g. 5 business days; zero means none.
	TargetDuration Duration `yaml:"target_duration,omitempty" json:"target_duration,omitzero"`
	// Remedies are the "Strumenti di tutela" (art. 35 h).
	Remedies string `yaml:"remedies,omitempty" json:"remedies,omitempty" catalog:"multiline"`
	// Link is the "Link Ente" / link to the online service (art. 35 i).
	// The scheme may be omitted; https is then assumed (see NormalizeURL).
	Link string `yaml:"link,omitempty" json:"link,omitempty"`
	// SubstitutePower is who holds the substitute power in case of
	// inaction, how to invoke it and their contacts (art. 35 m).
	SubstitutePower string `yaml:"substitute_power,omitempty" json:"substitute_power,omitempty" catalog:"multiline"`
	// Active services are published and can receive requests. When a
	// file omits it, a service is active.
	Active bool `yaml:"active" json:"active"`
	// Team is the code of the team that works the service.
	Team string `yaml:"team,omitempty" json:"team,omitempty"`
	// Queue is the code of the queue its requests land in.
	Queue string `yaml:"queue,omitempty" json:"queue,omitempty"`
	// SmartWorking maps a criterion letter to the assessment of the
	// service against it ("Attività svolgibile in modalità agile"). Either
	// empty (not assessed) or complete for every criterion.
	SmartWorking map[string]SmartWorkingValue `yaml:"smart_working,omitempty" json:"smart_working,omitempty"`
	// Phases are the steps a request goes through, in order.
	Phases []Phase `yaml:"phases,omitempty" json:"phases,omitempty"`
	// Fields are what a request for the service asks besides subject and
	// description (see FormField); not published in the transparency data.
	Fields []FormField `yaml:"fields,omitempty" json:"fields,omitempty"`
}

// Office is the "Ufficio del procedimento".
type Office struct {
	Name         string `yaml:"name,omitempty" json:"name,omitempty"`
	Address      string `yaml:"address,omitempty" json:"address,omitempty" catalog:"multiline"`
	OpeningHours string `yaml:"opening_hours,omitempty" json:"opening_hours,omitempty" catalog:"multiline"`
}

// Form is a downloadable form or self-declaration template.
type Form struct {
	Title string `yaml:"title" json:"title"`
	URL   string `yaml:"url" json:"url"`
}

// Phase is one step of a service.
type Phase struct {
	// Code identifies the phase within its service (a slug).
	Code        string    `yaml:"code" json:"code"`
	Name        string    `yaml:"name" json:"name"`
	Kind        PhaseKind `yaml:"kind" json:"kind"`
	Description string    `yaml:"description,omitempty" json:"description,omitempty" catalog:"multiline"`
	// Channels lists, for a receipt phase, the channels requests are
	// received through (see Channels); empty means not specified.
	Channels []string `yaml:"channels,omitempty" json:"channels,omitempty"`
	// RequiresApproval marks a gate: work waits until an approver accepts.
	// A phase of kind approval is always a gate (see NeedsApproval).
	RequiresApproval bool `yaml:"requires_approval,omitempty" json:"requires_approval,omitempty"`
	// Supplier marks a phase that involves the external supplier. A phase
	// of kind supplier_call always does (see InvolvesSupplier).
	Supplier bool `yaml:"supplier,omitempty" json:"supplier,omitempty"`
}

// NeedsApproval reports whether the phase is an approval gate.
func (p Phase) NeedsApproval() bool { return p.RequiresApproval || p.Kind == PhaseApproval }

// InvolvesSupplier reports whether the phase involves the external supplier.
func (p Phase) InvolvesSupplier() bool { return p.Supplier || p.Kind == PhaseSupplierCall }

// PhaseKind classifies a phase.
type PhaseKind string

// The phase kinds.
const (
	PhaseReceipt      PhaseKind = "receipt"
	PhaseEvaluation   PhaseKind = "evaluation"
	PhaseApproval     PhaseKind = "approval"
	PhaseIntervention PhaseKind = "intervention"
	PhaseSupplierCall PhaseKind = "supplier_call"
	PhaseVerification PhaseKind = "verification"
	PhaseOther        PhaseKind = "other"
)

// PhaseKinds returns every valid phase kind, in the usual order of work.
func PhaseKinds() []PhaseKind {
	return []PhaseKind{PhaseReceipt, PhaseEvaluation, PhaseApproval, PhaseIntervention,
		PhaseSupplierCall, PhaseVerification, PhaseOther}
}

// Valid reports whether k is one of the phase kinds.
func (k PhaseKind) Valid() bool { return slices.Contains(PhaseKinds(), k) }

// Label returns the Italian label of the kind ("" if invalid).
func (k PhaseKind) Label() string {
	switch k {
	case PhaseReceipt:
		return "Ricezione"
	case PhaseEvaluation:
		return "Valutazione"
	case PhaseApproval:
		return "Accettazione e conferma"
	case PhaseIntervention:
		return "Intervento"
	case PhaseSupplierCall:
		return "Chiamata del fornitore esterno"
	case PhaseVerification:
		return "Verifica dell'esito"
	case PhaseOther:
		return "Altro"
	}
	return ""
}

// The channels a receipt phase may list. They are the ticket channel
// identifiers of the REST API.
const (
	ChannelWeb      = "web"
	ChannelEmail    = "email"
	ChannelPEC      = "pec"
	ChannelPhone    = "phone"
	ChannelInPerson = "in_person"
	ChannelAPI      = "api"
)

// Channels returns every valid channel identifier.
func Channels() []string {
	return []string{ChannelWeb, ChannelEmail, ChannelPEC, ChannelPhone, ChannelInPerson, ChannelAPI}
}

// ChannelLabel returns the Italian label of a channel identifier, or the
// identifier itself when unknown.
func ChannelLabel(ch string) string {
	switch ch {
	case ChannelWeb:
		return "Portale web"
	case ChannelEmail:
		return "E-mail"
	case ChannelPEC:
		return "PEC"
	case ChannelPhone:
		return "Telefono"
	case ChannelInPerson:
		return "Di persona"
	case ChannelAPI:
		return "API"
	}
	return ch
}

// SmartWorkingValue is the assessment of a service against one criterion.
// Its values are the Italian labels of the published catalogue, exactly.
type SmartWorkingValue string

// The assessments. The last two are used for the criterion about harm to
// the services for citizens and businesses (f in DefaultCriteria).
const (
	Sussiste               SmartWorkingValue = "Sussiste"
	SussisteInParte        SmartWorkingValue = "Sussiste in parte"
	NonSussiste            SmartWorkingValue = "Non sussiste"
	SussistePregiudizio    SmartWorkingValue = "Sussiste pregiudizio"
	NonSussistePregiudizio SmartWorkingValue = "Non sussiste pregiudizio"
)

// SmartWorkingValues returns every valid assessment.
func SmartWorkingValues() []SmartWorkingValue {
	return []SmartWorkingValue{Sussiste, SussisteInParte, NonSussiste, SussistePregiudizio, NonSussistePregiudizio}
}

// Valid reports whether v is one of the assessments, spelt exactly.
func (v SmartWorkingValue) Valid() bool { return slices.Contains(SmartWorkingValues(), v) }

// Favourable reports whether the assessment speaks for remote work:
// "Sussiste", "Sussiste in parte" or "Non sussiste pregiudizio".
func (v SmartWorkingValue) Favourable() bool {
	return v == Sussiste || v == SussisteInParte || v == NonSussistePregiudizio
}

// Service returns the service with the given code.
func (c *Catalogue) Service(code string) (*Service, bool) {
	for i := range c.Services {
		if c.Services[i].Code == code {
			return &c.Services[i], true
		}
	}
	return nil, false
}

// ActiveServices returns the active services, in catalogue order.
func (c *Catalogue) ActiveServices() []*Service {
	var out []*Service
	for i := range c.Services {
		if c.Services[i].Active {
			out = append(out, &c.Services[i])
		}
	}
	return out
}

// NeedsApproval reports whether any phase of the service is an approval gate.
func (s *Service) NeedsApproval() bool {
	return slices.ContainsFunc(s.Phases, Phase.NeedsApproval)
}

// PECText returns the PEC address followed by its note in brackets, as the
// published catalogue shows it.
func (s *Service) PECText() string {
	if s.PECNote == "" || s.PEC == "" {
		return s.PEC + s.PECNote
	}
	return s.PEC + " (" + s.PECNote + ")"
}

// ---------------------------------------------------------------------------
// Validation

// Problem is one thing wrong with a catalogue, located by its field path,
// such as "services[2].smart_working.f" (indices count from 0; names are
// the file format's keys).
type Problem struct {
	Field string
	Msg   string
}

func (p Problem) Error() string {
	if p.Field == "" {
		return p.Msg
	}
	return p.Field + ": " + p.Msg
}

// Problems lists every problem Validate found.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

type problems struct{ list Problems }

func (ps *problems) add(field, format string, args ...any) {
	ps.list = append(ps.list, Problem{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return ps.list
}

// Limits on sizes, to keep hostile files harmless.
const (
	maxCodeLen  = 64
	maxLineLen  = 1000
	maxTextLen  = 64 << 10
	maxLetterSz = 8
)

var (
	slugRE   = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
	letterRE = regexp.MustCompile(`^[a-z0-9]+$`)
	phoneRE  = regexp.MustCompile(`^\+?[0-9][0-9 ./()-]*[0-9]$`)
)

// ValidCode reports whether s is a valid code: lower-case letters and
// digits in words separated by single hyphens, at most 64 characters.
func ValidCode(s string) bool { return len(s) <= maxCodeLen && slugRE.MatchString(s) }

// Validate checks the whole catalogue and returns nil or Problems listing
// every problem found.
func (c *Catalogue) Validate() error {
	var ps problems
	c.validate(&ps)
	return ps.err()
}

func (c *Catalogue) validate(ps *problems) {
	checkStrings(reflect.ValueOf(c).Elem(), "", ps)
	o := &c.Organisation
	requireCode(ps, "organisation.code", o.Code)
	if strings.TrimSpace(o.Name) == "" {
		ps.add("organisation.name", "is required")
	}
	checkEmail(ps, "organisation.email", o.Email)
	checkEmail(ps, "organisation.pec", o.PEC)
	checkURL(ps, "organisation.website", o.Website)
	if o.Phone != "" {
		checkPhone(ps, "organisation.phone", o.Phone)
	}
	if o.TriageQueue != "" && !ValidCode(o.TriageQueue) {
		ps.add("organisation.triage_queue", "invalid code %q (lower-case letters, digits and hyphens)", o.TriageQueue)
	}

	seen := map[string]int{}
	for i, cr := range c.Criteria {
		p := fmt.Sprintf("criteria[%d]", i)
		switch {
		case cr.Letter == "":
			ps.add(p+".letter", "is required")
		case len(cr.Letter) > maxLetterSz || !letterRE.MatchString(cr.Letter):
			ps.add(p+".letter", "invalid letter %q (lower-case letters or digits, such as \"a\")", cr.Letter)
		default:
			if j, dup := seen[cr.Letter]; dup {
				ps.add(p+".letter", "duplicate criterion %q (also criteria[%d])", cr.Letter, j)
			} else {
				seen[cr.Letter] = i
			}
		}
		if strings.TrimSpace(cr.Text) == "" {
			ps.add(p+".text", "is required")
		}
	}

	crit := c.EffectiveCriteria()
	codes := map[string]int{}
	for i := range c.Services {
		p := fmt.Sprintf("services[%d]", i)
		s := &c.Services[i]
		s.validate(p, crit, ps)
		if s.Code != "" {
			if j, dup := codes[s.Code]; dup {
				ps.add(p+".code", "duplicate service code %q (also services[%d])", s.Code, j)
			} else {
				codes[s.Code] = i
			}
		}
	}
}

// Validate checks one service against the given criteria (nil means
// DefaultCriteria) and returns nil or Problems with paths relative to the
// service.
func (s *Service) Validate(criteria []Criterion) error {
	if len(criteria) == 0 {
		criteria = DefaultCriteria()
	}
	var ps problems
	checkStrings(reflect.ValueOf(s).Elem(), "", &ps)
	s.validate("", criteria, &ps)
	return ps.err()
}

func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

func (s *Service) validate(p string, criteria []Criterion, ps *problems) {
	requireCode(ps, join(p, "code"), s.Code)
	if strings.TrimSpace(s.Name) == "" {
		ps.add(join(p, "name"), "is required")
	}
	if strings.TrimSpace(s.Description) == "" {
		ps.add(join(p, "description"), "is required (art. 35 a)")
	}
	for i, ph := range s.Phones {
		checkPhone(ps, fmt.Sprintf("%s[%d]", join(p, "phones"), i), ph)
	}
	for i, name := range s.Collaborators {
		if strings.TrimSpace(name) == "" {
			ps.add(fmt.Sprintf("%s[%d]", join(p, "collaborators"), i), "is empty")
		}
	}
	checkEmail(ps, join(p, "email"), s.Email)
	checkEmail(ps, join(p, "pec"), s.PEC)
	if s.PECNote != "" && s.PEC == "" {
		ps.add(join(p, "pec_note"), "is set but pec is empty")
	}
	checkURL(ps, join(p, "link"), s.Link)
	for i, f := range s.Forms {
		fp := fmt.Sprintf("%s[%d]", join(p, "forms"), i)
		if strings.TrimSpace(f.Title) == "" {
			ps.add(fp+".title", "is required")
		}
		if f.URL == "" {
			ps.add(fp+".url", "is required")
		} else {
			checkURL(ps, fp+".url", f.URL)
		}
	}
	if err := s.TargetDuration.validate(); err != nil {
		ps.add(join(p, "target_duration"), "%v", err)
	}
	if s.Team != "" && !ValidCode(s.Team) {
		ps.add(join(p, "team"), "invalid code %q (lower-case letters, digits and hyphens)", s.Team)
	}
	if s.Queue != "" && !ValidCode(s.Queue) {
		ps.add(join(p, "queue"), "invalid code %q (lower-case letters, digits and hyphens)", s.Queue)
	}

	// Smart working: known letters, valid values, complete when present.
	if len(s.SmartWorking) > 0 {
		known := map[string]bool{}
		for _, cr := range criteria {
			known[cr.Letter] = true
		}
		letters := make([]string, 0, len(s.SmartWorking))
		for l := range s.SmartWorking {
			letters = append(letters, l)
		}
		slices.Sort(letters)
		for _, l := range letters {
			v := s.SmartWorking[l]
			fp := join(p, "smart_working") + "." + l
			if !known[l] {
				ps.add(fp, "unknown criterion %q (criteria: %s)", l, criteriaLetters(criteria))
				continue
			}
			if !v.Valid() {
				ps.add(fp, "invalid smart-working value %q%s (allowed: %s)", string(v), didYouMean(string(v)), quotedValues())
			}
		}
		for _, cr := range criteria {
			if _, ok := s.SmartWorking[cr.Letter]; !ok {
				ps.add(join(p, "smart_working"), "missing assessment for criterion %q (assess every criterion or none)", cr.Letter)
			}
		}
	}

	validateFields(p, s.Fields, ps)

	codes := map[string]int{}
	for i, ph := range s.Phases {
		fp := fmt.Sprintf("%s[%d]", join(p, "phases"), i)
		requireCode(ps, fp+".code", ph.Code)
		if ph.Code != "" {
			if j, dup := codes[ph.Code]; dup {
				ps.add(fp+".code", "duplicate phase code %q (also phases[%d])", ph.Code, j)
			} else {
				codes[ph.Code] = i
			}
		}
		if strings.TrimSpace(ph.Name) == "" {
			ps.add(fp+".name", "is required")
		}
		switch {
		case ph.Kind == "":
			ps.add(fp+".kind", "is required (one of %s)", kindList())
		case !ph.Kind.Valid():
			ps.add(fp+".kind", "invalid phase kind %q (one of %s)", string(ph.Kind), kindList())
		}
		if len(ph.Channels) > 0 && ph.Kind != PhaseReceipt {
			ps.add(fp+".channels", "only a receipt phase lists channels")
		}
		chSeen := map[string]bool{}
		for j, ch := range ph.Channels {
			cp := fmt.Sprintf("%s.channels[%d]", fp, j)
			if !slices.Contains(Channels(), ch) {
				ps.add(cp, "invalid channel %q (one of %s)", ch, strings.Join(Channels(), ", "))
			} else if chSeen[ch] {
				ps.add(cp, "duplicate channel %q", ch)
			}
			chSeen[ch] = true
		}
	}
}

func criteriaLetters(cs []Criterion) string {
	ls := make([]string, len(cs))
	for i, c := range cs {
		ls[i] = c.Letter
	}
	return strings.Join(ls, ", ")
}

func kindList() string {
	ks := PhaseKinds()
	ss := make([]string, len(ks))
	for i, k := range ks {
		ss[i] = string(k)
	}
	return strings.Join(ss, ", ")
}

func quotedValues() string {
	vs := SmartWorkingValues()
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = strconv.Quote(string(v))
	}
	return strings.Join(ss, ", ")
}

// didYouMean suggests the correctly spelt assessment for a value that
// differs only in case or spacing.
func didYouMean(v string) string {
	norm := strings.Join(strings.Fields(strings.ToLower(v)), " ")
	for _, ok := range SmartWorkingValues() {
		if strings.ToLower(string(ok)) == norm {
			return fmt.Sprintf("; did you mean %q?", string(ok))
		}
	}
	return ""
}

func requireCode(ps *problems, field, code string) {
	switch {
	case code == "":
		ps.add(field, "is required")
	case !ValidCode(code):
		ps.add(field, "invalid code %q (lower-case letters, digits and single hyphens, at most %d characters)", code, maxCodeLen)
	}
}

func checkEmail(ps *problems, field, addr string) {
	if addr == "" {
		return
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr || !strings.Contains(addr[strings.LastIndexByte(addr, '@')+1:], ".") {
		ps.add(field, "invalid e-mail address %q (write the bare address, e.g. ufficio@ente.it)", addr)
	}
}

func checkPhone(ps *problems, field, phone string) {
	if phone == "" {
		ps.add(field, "is empty")
		return
	}
	if len(phone) > 40 || !phoneRE.MatchString(phone) {
		ps.add(field, "invalid phone number %q (digits, spaces, +, -, /, . and brackets)", phone)
	}
}

func checkURL(ps *problems, field, raw string) {
	if raw == "" {
		return
	}
	if NormalizeURL(raw) == "" {
		ps.add(field, "invalid link %q (an http or https URL, or a host name such as www.ente.it)", raw)
	}
}

// NormalizeURL returns raw as an absolute http(s) URL: "https://" is
// prepended when raw has no scheme, as in "www.provincia.brindisi.it". It
// returns "" when raw is not a usable link.
func NormalizeURL(raw string) string {
	if raw == "" || strings.ContainsAny(raw, " \t\r\n\"<>\\") {
		return ""
	}
	s := raw
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	host := u.Hostname()
	if host == "" || (!strings.Contains(host, ".") && host != "localhost") {
		return ""
	}
	return u.String()
}

// checkStrings walks every string reachable from v and reports invalid
// UTF-8, control characters, line breaks where a single line is expected
// and over-long values. Field paths use the yaml keys.
func checkStrings(v reflect.Value, path string, ps *problems) {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := yamlKey(f)
			if key == "" {
				continue
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.String {
				checkString(ps, join(path, key), fv.String(), f.Tag.Get("catalog") == "multiline")
				continue
			}
			checkStrings(fv, join(path, key), ps)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			ep := fmt.Sprintf("%s[%d]", path, i)
			if v.Index(i).Kind() == reflect.String {
				checkString(ps, ep, v.Index(i).String(), false)
			} else {
				checkStrings(v.Index(i), ep, ps)
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			checkString(ps, path, k, false)
			if iter.Value().Kind() == reflect.String {
				checkString(ps, path+"."+k, iter.Value().String(), false)
			}
		}
	}
}

func checkString(ps *problems, field, s string, multiline bool) {
	if !utf8.ValidString(s) {
		ps.add(field, "is not valid UTF-8")
		return
	}
	limit := maxLineLen
	if multiline {
		limit = maxTextLen
	}
	if len(s) > limit {
		ps.add(field, "is too long (%d bytes, at most %d)", len(s), limit)
		return
	}
	for _, r := range s {
		switch {
		case r == '\n' && multiline, r == '\t':
		case r == '\n':
			ps.add(field, "must be a single line")
			return
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\uFEFF':
			ps.add(field, "contains the control character %U", r)
			return
		}
	}
}

// yamlKey returns the file-format key of a struct field ("" if skipped).
func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

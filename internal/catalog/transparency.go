package catalog

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sportello/sportello/internal/csvsafe"
)

// Field describes one published field of a service: its file-format key,
// its Italian label, and the letter of D.Lgs. 33/2013 art. 35 c. 1 it
// answers ("" for fields the law does not name).
type Field struct {
	Key   string
	Label string
	Art35 string
	value func(*Service) string
}

// Value returns the field of s as published text.
func (f Field) Value(s *Service) string { return f.value(s) }

// PublishedFields returns the fields of a service that the transparency
// outputs publish, in the order of the published catalogue. Team, queue
// and the active flag are internal and are not published; phases and the
// smart-working table are published separately (see CSV and JSON).
func PublishedFields() []Field {
	return []Field{
		{"code", "Codice", "", func(s *Service) string { return s.Code }},
		{"name", "Denominazione del procedimento", "a", func(s *Service) string { return s.Name }},
		{"description", "Descrizione", "a", func(s *Service) string { return s.Description }},
		{"legal_references", "Riferimenti normativi", "a", func(s *Service) string { return s.LegalReferences }},
		{"responsible_unit", "Unità organizzativa responsabile", "b", func(s *Service) string { return s.ResponsibleUnit }},
		{"office.name", "Ufficio del procedimento", "c", func(s *Service) string { return s.Office.Name }},
		{"office.address", "Indirizzo dell'ufficio", "d", func(s *Service) string { return s.Office.Address }},
		{"office.opening_hours", "Orari di apertura al pubblico", "d", func(s *Service) string { return s.Office.OpeningHours }},
		{"responsible_person", "Responsabile del procedimento", "c", func(s *Service) string { return s.ResponsiblePerson }},
		{"collaborators", "Collaboratori", "c", func(s *Service) string { return strings.Join(s.Collaborators, ", ") }},
		{"phones", "Telefono", "c", func(s *Service) string { return strings.Join(s.Phones, ", ") }},
		{"email", "Indirizzo e-mail", "c", func(s *Service) string { return s.Email }},
		{"documents", "Indicazione dei documenti da allegare, della modulistica necessaria e dei riferimenti dell'ufficio cui rivolgersi nel caso di istanza di parte", "d", func(s *Service) string { return s.Documents }},
		{"forms", "Modulistica", "d", formsText},
		{"access", "Modalità di accesso", "d", func(s *Service) string { return s.Access }},
		{"info_on_progress", "Modalità per ottenere informazioni sui procedimenti in corso", "e", func(s *Service) string { return s.InfoOnProgress }},
		{"payments", "Modalità per eventuale effettuazione di pagamenti", "l", func(s *Service) string { return s.Payments }},
		{"final_act_body", "Organo competente ad adottare l'atto finale", "c", func(s *Service) string { return s.FinalActBody }},
		{"silence_assent", "Silenzio - assenso", "g", func(s *Service) string { return s.SilenceAssent }},
		{"deadline", "Termine finale procedimentale", "f", func(s *Service) string { return s.DeadlineText }},
		{"target_duration", "Tempo obiettivo", "f", func(s *Service) string { return s.TargetDuration.String() }},
		{"remedies", "Strumenti di tutela", "h", func(s *Service) string { return s.Remedies }},
		{"link", "Link Ente", "i", func(s *Service) string { return s.Link }},
		{"pec", "PEC", "c", func(s *Service) string { return s.PECText() }},
		{"substitute_power", "Titolare del potere sostitutivo", "m", func(s *Service) string { return s.SubstitutePower }},
	}
}

func formsText(s *Service) string {
	parts := make([]string, len(s.Forms))
	for i, f := range s.Forms {
		parts[i] = f.Title + ": " + f.URL
	}
	return strings.Join(parts, "\n")
}

// PhasesText returns the phases as a numbered list, one per line, with the
// channels of receipt phases in brackets.
func (s *Service) PhasesText() string {
	var b strings.Builder
	for i, p := range s.Phases {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%d. %s", i+1, p.Name)
		if len(p.Channels) > 0 {
			labels := make([]string, len(p.Channels))
			for j, ch := range p.Channels {
				labels[j] = ChannelLabel(ch)
			}
			fmt.Fprintf(&b, " (%s)", strings.Join(labels, ", "))
		}
	}
	return b.String()
}

// SmartWorkingLabel returns the column label for a criterion, such as
// "Modalità agile – a)".
func SmartWorkingLabel(letter string) string { return "Modalità agile – " + letter + ")" }

// PhasesLabel is the label of the phases column.
const PhasesLabel = "Fasi"

// OrganisationLabel is the label of the organisation column of the CSV.
const OrganisationLabel = "Ente"

// CSVHeader returns the header row CSV writes for a catalogue.
func CSVHeader(cat *Catalogue) []string {
	h := []string{OrganisationLabel}
	for _, f := range PublishedFields() {
		h = append(h, f.Label)
	}
	h = append(h, PhasesLabel)
	for _, c := range cat.EffectiveCriteria() {
		h = append(h, SmartWorkingLabel(c.Letter))
	}
	return h
}

// CSV writes the active services as open data for spreadsheets: UTF-8 with
// a byte-order mark, fields separated by semicolons and records by CRLF
// (what Excel in an Italian locale opens directly with a double click),
// quoted as RFC 4180 says. The first row holds the Italian labels (see
// CSVHeader): the organisation, every field of PublishedFields, the phases
// and one column per smart-working criterion with the Italian value.
// Cells that a spreadsheet would read as a formula (starting with = + - @,
// tab or carriage return) get a leading apostrophe.
func CSV(w io.Writer, cat *Catalogue) error {
	if cat == nil {
		return errors.New("catalog: CSV of a nil catalogue")
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString("\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.Comma = ';'
	cw.UseCRLF = true
	header := CSVHeader(cat)
	if err := cw.Write(header); err != nil {
		return err
	}
	fields := PublishedFields()
	crit := cat.EffectiveCriteria()
	for _, s := range cat.ActiveServices() {
		row := make([]string, 0, len(header))
		row = append(row, cat.Organisation.Name)
		for _, f := range fields {
			row = append(row, f.Value(s))
		}
		row = append(row, s.PhasesText())
		for _, c := range crit {
			row = append(row, string(s.SmartWorking[c.Letter]))
		}
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

// ---------------------------------------------------------------------------
// JSON open data

// OpenData is the document JSON writes. Its shape is stable: every key is
// always present (empty strings, empty lists, false), keys are in English,
// values are as published (Italian). Internal fields (team, queue, active,
// organisation notes and triage queue) are left out.
type OpenData struct {
	Version      int               `json:"version"`
	Organisation OpenOrganisation  `json:"organisation"`
	Criteria     []OpenCriterion   `json:"criteria"`
	Fields       []OpenField       `json:"fields"`
	Services     []OpenDataService `json:"services"`
}

// OpenOrganisation is the publishing organisation.
type OpenOrganisation struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Area       string `json:"area"`
	Sector     string `json:"sector"`
	Website    string `json:"website"`
	Email      string `json:"email"`
	PEC        string `json:"pec"`
	Phone      string `json:"phone"`
	Address    string `json:"address"`
	AreaServed string `json:"area_served"`
}

// OpenCriterion is a smart-working criterion with its column label.
type OpenCriterion struct {
	Letter string `json:"letter"`
	Text   string `json:"text"`
	Label  string `json:"label"`
}

// OpenField documents a service key: its Italian label and art. 35 letter.
type OpenField struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Art35 string `json:"art35"`
}

// OpenDataService is one active service.
type OpenDataService struct {
	Code              string               `json:"code"`
	Name              string               `json:"name"`
	Description       string               `json:"description"`
	LegalReferences   string               `json:"legal_references"`
	ResponsibleUnit   string               `json:"responsible_unit"`
	Office            Office               `json:"office"`
	ResponsiblePerson string               `json:"responsible_person"`
	Collaborators     []string             `json:"collaborators"`
	Phones            []string             `json:"phones"`
	Email             string               `json:"email"`
	PEC               string               `json:"pec"`
	PECNote           string               `json:"pec_note"`
	Documents         string               `json:"documents"`
	Forms             []Form               `json:"forms"`
	Access            string               `json:"access"`
	InfoOnProgress    string               `json:"info_on_progress"`
	Payments          string               `json:"payments"`
	FinalActBody      string               `json:"final_act_body"`
	SilenceAssent     string               `json:"silence_assent"`
	Deadline          string               `json:"deadline"`
	TargetDuration    string               `json:"target_duration"`
	Remedies          string               `json:"remedies"`
	Link              string               `json:"link"`
	URL               string               `json:"url"`
	SubstitutePower   string               `json:"substitute_power"`
	Phases            []OpenPhase          `json:"phases"`
	SmartWorking      []OpenSmartWorkingAt `json:"smart_working"`
}

// OpenPhase is a phase with the Italian label of its kind.
type OpenPhase struct {
	Code             string   `json:"code"`
	Name             string   `json:"name"`
	Kind             string   `json:"kind"`
	KindLabel        string   `json:"kind_label"`
	Description      string   `json:"description"`
	Channels         []string `json:"channels"`
	RequiresApproval bool     `json:"requires_approval"`
	Supplier         bool     `json:"supplier"`
}

// OpenSmartWorkingAt is the assessment against one criterion; Value is the
// Italian label ("Sussiste", "Sussiste in parte", "Non sussiste",
// "Sussiste pregiudizio", "Non sussiste pregiudizio") or "" if the service
// was not assessed.
type OpenSmartWorkingAt struct {
	Letter string `json:"letter"`
	Value  string `json:"value"`
}

// NewOpenData builds the open-data document of a catalogue.
func NewOpenData(cat *Catalogue) *OpenData {
	o := cat.Organisation
	d := &OpenData{
		Version: FormatVersion,
		Organisation: OpenOrganisation{Code: o.Code, Name: o.Name, Area: o.Area, Sector: o.Sector,
			Website: o.Website, Email: o.Email, PEC: o.PEC, Phone: o.Phone, Address: o.Address,
			AreaServed: o.AreaServed},
		Criteria: []OpenCriterion{},
		Fields:   []OpenField{},
		Services: []OpenDataService{},
	}
	crit := cat.EffectiveCriteria()
	for _, c := range crit {
		d.Criteria = append(d.Criteria, OpenCriterion{Letter: c.Letter, Text: c.Text, Label: SmartWorkingLabel(c.Letter)})
	}
	for _, f := range PublishedFields() {
		d.Fields = append(d.Fields, OpenField{Key: f.Key, Label: f.Label, Art35: f.Art35})
	}
	d.Fields = append(d.Fields, OpenField{Key: "phases", Label: PhasesLabel})
	for _, s := range cat.ActiveServices() {
		os := OpenDataService{
			Code: s.Code, Name: s.Name, Description: s.Description, LegalReferences: s.LegalReferences,
			ResponsibleUnit: s.ResponsibleUnit, Office: s.Office, ResponsiblePerson: s.ResponsiblePerson,
			Collaborators: nonNil(s.Collaborators), Phones: nonNil(s.Phones), Email: s.Email,
			PEC: s.PEC, PECNote: s.PECNote, Documents: s.Documents, Forms: nonNil(s.Forms),
			Access: s.Access, InfoOnProgress: s.InfoOnProgress, Payments: s.Payments,
			FinalActBody: s.FinalActBody, SilenceAssent: s.SilenceAssent, Deadline: s.DeadlineText,
			TargetDuration: s.TargetDuration.String(), Remedies: s.Remedies, Link: s.Link,
			URL: NormalizeURL(s.Link), SubstitutePower: s.SubstitutePower,
			Phases: []OpenPhase{}, SmartWorking: []OpenSmartWorkingAt{},
		}
		for _, p := range s.Phases {
			os.Phases = append(os.Phases, OpenPhase{Code: p.Code, Name: p.Name, Kind: string(p.Kind),
				KindLabel: p.Kind.Label(), Description: p.Description, Channels: nonNil(p.Channels),
				RequiresApproval: p.NeedsApproval(), Supplier: p.InvolvesSupplier()})
		}
		for _, c := range crit {
			os.SmartWorking = append(os.SmartWorking, OpenSmartWorkingAt{Letter: c.Letter, Value: string(s.SmartWorking[c.Letter])})
		}
		d.Services = append(d.Services, os)
	}
	return d
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// JSON writes the open-data document of the catalogue's active services
// (see OpenData), indented, UTF-8, without HTML escaping.
func JSON(w io.Writer, cat *Catalogue) error {
	if cat == nil {
		return errors.New("catalog: JSON of a nil catalogue")
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(NewOpenData(cat))
}

// ---------------------------------------------------------------------------
// schema.org JSON-LD

type ldThing = map[string]any

// JSONLD returns the schema.org GovernmentService description of a service
// provided by org, for a <script type="application/ld+json"> element. The
// output escapes <, > and & (and U+2028, U+2029), so it cannot close the
// script element or open a comment whatever the data holds.
//
// Mapping: identifier ← code; name, description; serviceType ← the
// organisation's sector (or the responsible unit); url ← link; provider ←
// the organisation (GovernmentOrganization with url, email, telephone,
// address and a PEC contact point); serviceOperator ← the office;
// areaServed ← the organisation's area served (AdministrativeArea);
// availableChannel ← the office's phones and e-mail, the PEC and the link
// (ServiceChannel); termsOfService ← the legal references.
func JSONLD(svc *Service, org *OrgInfo) ([]byte, error) {
	if svc == nil || org == nil {
		return nil, errors.New("catalog: JSONLD needs a service and an organisation")
	}
	link := NormalizeURL(svc.Link)
	provider := ldThing{"@type": "GovernmentOrganization", "name": org.Name}
	setIf(provider, "url", NormalizeURL(org.Website))
	setIf(provider, "email", org.Email)
	setIf(provider, "telephone", org.Phone)
	setIf(provider, "address", org.Address)
	if org.PEC != "" {
		provider["contactPoint"] = ldThing{"@type": "ContactPoint", "contactType": "PEC", "email": org.PEC}
	}

	ld := ldThing{
		"@context":   "https://schema.org",
		"@type":      "GovernmentService",
		"identifier": svc.Code,
		"name":       svc.Name,
		"provider":   provider,
	}
	setIf(ld, "description", svc.Description)
	serviceType := org.Sector
	if serviceType == "" {
		serviceType = svc.ResponsibleUnit
	}
	setIf(ld, "serviceType", serviceType)
	setIf(ld, "url", link)
	setIf(ld, "termsOfService", svc.LegalReferences)
	if org.AreaServed != "" {
		ld["areaServed"] = ldThing{"@type": "AdministrativeArea", "name": org.AreaServed}
	}
	if svc.Office.Name != "" || svc.ResponsibleUnit != "" {
		op := ldThing{"@type": "GovernmentOrganization", "name": svc.Office.Name}
		if svc.Office.Name == "" {
			op["name"] = svc.ResponsibleUnit
		}
		setIf(op, "address", svc.Office.Address)
		ld["serviceOperator"] = op
	}

	var channels []ldThing
	if len(svc.Phones) > 0 || svc.Email != "" || link != "" || svc.Office.Address != "" {
		ch := ldThing{"@type": "ServiceChannel", "name": "Ufficio del procedimento", "availableLanguage": "it"}
		if svc.Office.Name != "" {
			ch["name"] = svc.Office.Name
		}
		if len(svc.Phones) > 0 || svc.Email != "" {
			cp := ldThing{"@type": "ContactPoint", "contactType": "Ufficio del procedimento"}
			switch len(svc.Phones) {
			case 0:
			case 1:
				cp["telephone"] = svc.Phones[0]
			default:
				cp["telephone"] = svc.Phones
			}
			setIf(cp, "email", svc.Email)
			ch["servicePhone"] = cp
		}
		setIf(ch, "serviceUrl", link)
		if svc.Office.Address != "" {
			ch["serviceLocation"] = ldThing{"@type": "Place", "name": svc.Office.Name, "address": svc.Office.Address}
		}
		channels = append(channels, ch)
	}
	if svc.PEC != "" {
		cp := ldThing{"@type": "ContactPoint", "contactType": "PEC", "email": svc.PEC}
		setIf(cp, "description", svc.PECNote)
		channels = append(channels, ldThing{"@type": "ServiceChannel", "name": "PEC", "servicePhone": cp})
	}
	if len(channels) > 0 {
		ld["availableChannel"] = channels
	}
	// json.Marshal escapes <, >, &, U+2028 and U+2029 as \u00XX.
	return json.Marshal(ld)
}

func setIf(m ldThing, key, value string) {
	if value != "" {
		m[key] = value
	}
}

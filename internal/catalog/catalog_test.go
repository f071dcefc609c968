package catalog

import (
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func mustBrindisi(t testing.TB) *Catalogue {
	t.Helper()
	cat, err := ProvinciaBrindisi()
	if err != nil {
		t.Fatalf("ProvinciaBrindisi: %v", err)
	}
	return cat
}

func mustDesk(t testing.TB) *Catalogue {
	t.Helper()
	cat, err := DeskNazionale()
	if err != nil {
		t.Fatalf("DeskNazionale: %v", err)
	}
	return cat
}

func TestProvinciaBrindisiSeed(t *testing.T) {
	cat := mustBrindisi(t)
	if err := cat.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o := cat.Organisation
	if o.Code != "provincia-brindisi" || o.Name != "Provincia di Brindisi" ||
		o.Area != "Direzione Area 1 — Amministrazione Generale" ||
		o.Sector != "Settore Sistemi Informativi e Statistici — Raccolta ed elaborazione dati" {
		t.Errorf("organisation = %+v", o)
	}
	if !reflect.DeepEqual(cat.Criteria, DefaultCriteria()) {
		t.Errorf("criteria differ from DefaultCriteria:\n%v\n%v", cat.Criteria, DefaultCriteria())
	}
	if len(cat.Services) != 10 {
		t.Fatalf("got %d services, want 10", len(cat.Services))
	}

	const (
		no  = NonSussiste
		yes = Sussiste
		prt = SussisteInParte
	)
	allPart := []SmartWorkingValue{prt, prt, prt, prt, prt, prt, prt}
	want := []struct {
		name          string
		collaborators []string
		sw            []SmartWorkingValue // a..g
	}{
		{"Assistenza agli utenti per l'utilizzo delle stazioni di lavoro",
			[]string{"Antonio Pugliese", "Piero Nolasco", "Valentino Semeraro"},
			[]SmartWorkingValue{no, no, no, no, no, SussistePregiudizio, no}},
		{"Installazione, aggiornamento, configurazione software e risoluzione problematiche a differenti livelli di complessità sulle stazioni di lavoro dei dipendenti dell'Ente",
			[]string{"Piero Nolasco", "Antonio Pugliese", "Valentino Semeraro"},
			[]SmartWorkingValue{no, no, no, no, no, SussistePregiudizio, no}},
		{"Assistenza tecnica per la gestione della sicurezza informatica dell'Ente", nil, allPart},
		{"Gestione e configurazione di posta elettronica",
			[]string{"Antonio Pugliese", "Valentino Semeraro"},
			[]SmartWorkingValue{yes, yes, yes, yes, yes, NonSussistePregiudizio, yes}},
		{"Gestione, configurazione ed assistenza software per la firma digitale",
			[]string{"Antonio Pugliese", "Valentino Semeraro"}, allPart},
		{"Gestione tecnica telefonia fissa", nil, allPart},
		{"Gestione tecnica App per smartphone per numero aziendale su SmartPhone Dipendente", nil, allPart},
		{"Installazione e configurazione dispositivi hardware (stampanti di rete, stampanti locali, fotocopiatori) ed aggiornamento sito web",
			[]string{"Piero Nolasco", "Valentino Semeraro", "Antonio Pugliese"}, allPart},
		{"Gestione e manutenzione dei Sistemi Operativi workstation", nil, allPart},
		{"Gestione e manutenzione dei software gestionali",
			[]string{"Antonio Pugliese", "Valentino Semeraro"}, allPart},
	}
	letters := []string{"a", "b", "c", "d", "e", "f", "g"}
	for i, w := range want {
		s := cat.Services[i]
		if s.Name != w.name {
			t.Errorf("service %d name = %q, want %q", i+1, s.Name, w.name)
		}
		if !slices.Equal(s.Collaborators, w.collaborators) {
			t.Errorf("service %d collaborators = %q, want %q", i+1, s.Collaborators, w.collaborators)
		}
		if len(s.SmartWorking) != 7 {
			t.Errorf("service %d has %d smart-working values, want 7", i+1, len(s.SmartWorking))
		}
		for j, l := range letters {
			if got := s.SmartWorking[l]; got != w.sw[j] {
				t.Errorf("service %d criterion %s = %q, want %q", i+1, l, got, w.sw[j])
			}
		}
		// Fields every service shares.
		checks := map[string][2]string{
			"responsible person": {s.ResponsiblePerson, "Dr. Luigi Settembrini"},
			"email":              {s.Email, "sistemi.informativi@provincia.brindisi.it"},
			"pec":                {s.PEC, "provincia@pec.provincia.brindisi.it"},
			"pec text":           {s.PECText(), "provincia@pec.provincia.brindisi.it (riceve anche da PEO)"},
			"documents":          {s.Documents, "Non prevista"},
			"payments":           {s.Payments, "Non prevista"},
			"silence assent":     {s.SilenceAssent, "Non previsto"},
			"deadline":           {s.DeadlineText, "In base alla natura del problema"},
			"link":               {s.Link, "www.provincia.brindisi.it"},
			"office":             {s.Office.Name, "Ufficio assistenza tecnico-amministrativa agli EE.LL. ed innovazione tecnologica"},
			"team":               {s.Team, "sistemi-informativi"},
			"queue":              {s.Queue, "sistemi-informativi"},
			"final act body":     {s.FinalActBody, ""},
			"remedies":           {s.Remedies, ""},
		}
		for what, c := range checks {
			if c[0] != c[1] {
				t.Errorf("service %d %s = %q, want %q", i+1, what, c[0], c[1])
			}
		}
		if !slices.Equal(s.Phones, []string{"0831-565353"}) {
			t.Errorf("service %d phones = %q", i+1, s.Phones)
		}
		if !s.Active {
			t.Errorf("service %d is not active", i+1)
		}
		if !strings.Contains(s.ResponsibleUnit, "Settore Sistemi Informativi e Statistici") {
			t.Errorf("service %d responsible unit = %q", i+1, s.ResponsibleUnit)
		}
		if len(s.Phases) == 0 || s.Description == "" {
			t.Errorf("service %d has no phases or no description", i+1)
		}
		wantLegal := ""
		if i == 2 {
			wantLegal = "Art. 51 Codice dell'amministrazione digitale"
		}
		if s.LegalReferences != wantLegal {
			t.Errorf("service %d legal references = %q, want %q", i+1, s.LegalReferences, wantLegal)
		}
	}

	// Phases.
	sec, ok := cat.Service("sicurezza-informatica")
	if !ok {
		t.Fatal("no sicurezza-informatica service")
	}
	if !sec.NeedsApproval() {
		t.Error("the security service has no approval gate")
	}
	if !slices.ContainsFunc(sec.Phases, func(p Phase) bool {
		return p.Kind == PhaseApproval && p.RequiresApproval &&
			p.Name == "Accettazione e conferma da parte del Responsabile Sistemi Informativi"
	}) {
		t.Errorf("security phases lack the approval phase: %+v", sec.Phases)
	}
	first := cat.Services[0].Phases
	if first[0].Kind != PhaseReceipt || !slices.Equal(first[0].Channels, []string{"phone", "in_person", "email"}) {
		t.Errorf("service 1 receipt phase = %+v", first[0])
	}
	if k := []PhaseKind{first[1].Kind, first[2].Kind, first[3].Kind}; !slices.Equal(k, []PhaseKind{PhaseEvaluation, PhaseIntervention, PhaseVerification}) {
		t.Errorf("service 1 phase kinds = %v", k)
	}
	for _, code := range []string{"telefonia-fissa", "app-smartphone", "dispositivi-hardware-sito-web"} {
		s, _ := cat.Service(code)
		if !slices.ContainsFunc(s.Phases, func(p Phase) bool { return p.Kind == PhaseSupplierCall && p.InvolvesSupplier() }) {
			t.Errorf("%s has no supplier-call phase", code)
		}
		if !s.NeedsApproval() {
			t.Errorf("%s has no approval phase", code)
		}
	}
	hw, _ := cat.Service("dispositivi-hardware-sito-web")
	if !strings.HasPrefix(hw.Name, "Installazione e configurazione dispositivi hardware") {
		t.Errorf("hardware service name = %q", hw.Name)
	}
	sw, _ := cat.Service("software-gestionali")
	if !strings.Contains(sw.Description, "Microsoft Office") {
		t.Errorf("OCR slip in %q", sw.Description)
	}
}

// The seed file must carry none of the OCR slips of the source.
func TestSeedHasNoOCRSlips(t *testing.T) {
	// Check the values, not the file: its comment lists the slips mended.
	var buf strings.Builder
	if err := Export(&buf, mustBrindisi(t), FormatYAML); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, slip := range []string{"I'utilizzo", "I’", "Modalitd", "dellintervento", "del'Ente", "IAttivit",
		"Ofiice", " & ", "dell Amministrazione", "del’", "’", "'aggiornamento del software antivirus"} {
		if strings.Contains(text, slip) && !(slip == "'aggiornamento del software antivirus" && strings.Contains(text, "l'aggiornamento del software antivirus")) {
			t.Errorf("seed contains OCR slip %q", slip)
		}
	}
	// Words the OCR stripped of their final accent.
	unaccented := regexp.MustCompile(`(?i)\b(attivita|modalita|complessita|funzionalita|difficolta|compatibilita|disponibilita|unita|piu|continuita|regolarita)\b`)
	if m := unaccented.FindAllString(text, -1); len(m) > 0 {
		t.Errorf("seed contains words without their accent: %q", m)
	}
}

func TestDeskNazionaleSeed(t *testing.T) {
	cat := mustDesk(t)
	if err := cat.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o := cat.Organisation
	if o.Code != "ministero-interno-dippp" || !strings.HasPrefix(o.Name, "Ministero dell'Interno") ||
		!strings.Contains(o.Sector, "Ufficio IV") || o.TriageQueue != "smistamento" ||
		o.Email != "assistenza@desk.example.it" || !strings.Contains(o.Notes, "Smistamento") {
		t.Errorf("organisation = %+v", o)
	}
	want := []struct{ code, name, queue string }{
		{"bdna", "BDNA — Banca Dati Nazionale Antimafia: assistenza di primo livello", "bdna"},
		{"informazioni", "Informazioni nuovo service desk", "informazioni"},
		{"rinnovo-certificato-bdna", "Rinnovo certificato digitale BDNA", "certificati"},
	}
	if len(cat.Services) != len(want) {
		t.Fatalf("got %d services, want %d", len(cat.Services), len(want))
	}
	for i, w := range want {
		s := cat.Services[i]
		if s.Code != w.code || s.Name != w.name || s.Queue != w.queue || s.Team != "service-desk" || !s.Active {
			t.Errorf("service %d = %s %q queue %s team %s", i, s.Code, s.Name, s.Queue, s.Team)
		}
	}
	bdna := cat.Services[0]
	for _, s := range []string{"Manuale Utente", "assistenza@desk.example.it", "l'acronimo dell'applicativo, ossia BDNA",
		"recapiti telefonici", "assistenza.antimafia@desk.example.it", "progettoantimafia@desk.example.it"} {
		if !strings.Contains(bdna.Access, s) {
			t.Errorf("BDNA access lacks %q", s)
		}
	}
	if !slices.Equal(bdna.Phases[0].Channels, []string{"web", "email", "phone"}) {
		t.Errorf("BDNA receipt channels = %q", bdna.Phases[0].Channels)
	}
	if !strings.Contains(cat.Services[1].Access, `"Informazioni nuovo service desk"`) {
		t.Errorf("information access = %q", cat.Services[1].Access)
	}
	cert := cat.Services[2]
	if !strings.Contains(cert.Description, "protocollo.preffe@pec.interno.it") || !strings.Contains(cert.Description, "Prefettura competente") {
		t.Errorf("certificate description = %q", cert.Description)
	}
}

func TestSeedsReturnCopies(t *testing.T) {
	a, b := mustBrindisi(t), mustBrindisi(t)
	a.Services[0].Name = "changed"
	a.Services[0].SmartWorking["a"] = Sussiste
	if b.Services[0].Name == "changed" || b.Services[0].SmartWorking["a"] == Sussiste {
		t.Error("seed catalogues share state")
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cat := mustBrindisi(t)
	cat.Organisation.Code = "Provincia Brindisi"
	cat.Services[1].Code = cat.Services[0].Code
	cat.Services[2].Name = " "
	cat.Services[3].SmartWorking["f"] = "sussiste in parte"
	cat.Services[3].SmartWorking["z"] = Sussiste
	delete(cat.Services[4].SmartWorking, "g")
	cat.Services[5].Phases[1].Kind = "approve"
	cat.Services[5].Phases[2].Channels = []string{"fax"}
	cat.Services[6].Email = "Ufficio <x@y.it>"
	cat.Services[7].Link = "javascript:alert(1)"
	cat.Services[8].Name = "two\nlines"
	cat.Services[9].TargetDuration = Duration{Amount: -1, Unit: BusinessDays}

	err := cat.Validate()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Validate = %v, want Problems", err)
	}
	want := map[string]string{
		"organisation.code":                 "invalid code",
		"services[1].code":                  "duplicate service code",
		"services[2].name":                  "is required",
		"services[3].smart_working.f":       `did you mean "Sussiste in parte"`,
		"services[3].smart_working.z":       "unknown criterion",
		"services[4].smart_working":         `missing assessment for criterion "g"`,
		"services[5].phases[1].kind":        "invalid phase kind",
		"services[5].phases[2].channels":    "only a receipt phase",
		"services[5].phases[2].channels[0]": "invalid channel",
		"services[6].email":                 "invalid e-mail",
		"services[7].link":                  "invalid link",
		"services[8].name":                  "single line",
		"services[9].target_duration":       "out of range",
	}
	for field, msg := range want {
		if !slices.ContainsFunc(ps, func(p Problem) bool { return p.Field == field && strings.Contains(p.Msg, msg) }) {
			t.Errorf("no problem %q on %s in:\n%v", msg, field, err)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
}

func TestServiceValidate(t *testing.T) {
	s := mustBrindisi(t).Services[0]
	if err := s.Validate(nil); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s.Phases = append(s.Phases, Phase{Code: "verifica", Name: "Di nuovo", Kind: PhaseVerification})
	if err := s.Validate(nil); err == nil || !strings.Contains(err.Error(), `phases[4].code: duplicate phase code "verifica"`) {
		t.Errorf("Validate = %v", err)
	}
}

func TestKindsAndValues(t *testing.T) {
	for _, k := range PhaseKinds() {
		if !k.Valid() || k.Label() == "" {
			t.Errorf("kind %q", k)
		}
	}
	if PhaseKind("Receipt").Valid() || PhaseKind("").Valid() {
		t.Error("invalid kinds accepted")
	}
	got := []string{}
	for _, v := range SmartWorkingValues() {
		got = append(got, string(v))
	}
	if !slices.Equal(got, []string{"Sussiste", "Sussiste in parte", "Non sussiste", "Sussiste pregiudizio", "Non sussiste pregiudizio"}) {
		t.Errorf("values = %q", got)
	}
	if SmartWorkingValue("sussiste").Valid() {
		t.Error("lower-case value accepted")
	}
}

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"www.provincia.brindisi.it":         "https://www.provincia.brindisi.it",
		"http://example.it/a?b=c":           "http://example.it/a?b=c",
		"https://desk.example.it/benvenuto": "https://desk.example.it/benvenuto",
		"javascript:alert(1)":               "",
		"ftp://example.it":                  "",
		"not a url":                         "",
		"https://user:pw@example.it":        "",
		"intranet":                          "",
	} {
		if got := NormalizeURL(in); got != want {
			t.Errorf("NormalizeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]Duration{
		"5 giorni lavorativi":     {5, BusinessDays},
		"1 giorno lavorativo":     {1, BusinessDays},
		"8 ore lavorative":        {8, BusinessHours},
		"30 giorni":               {30, CalendarDays},
		"30 giorni di calendario": {30, CalendarDays},
		"5 business days":         {5, BusinessDays},
		"4  Business  Hours":      {4, BusinessHours},
		"":                        {},
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
		back, err := ParseDuration(got.String())
		if err != nil || back != got {
			t.Errorf("round trip of %q via %q = %v, %v", in, got.String(), back, err)
		}
	}
	if s := (Duration{5, BusinessDays}).String(); s != "5 giorni lavorativi" {
		t.Errorf("String = %q", s)
	}
	for _, bad := range []string{"5", "cinque giorni", "5 settimane", "0 giorni", "-3 ore lavorative", "99999 giorni"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

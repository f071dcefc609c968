package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func roundTrip(t *testing.T, cat *Catalogue, f Format) *Catalogue {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(&buf, cat, f); err != nil {
		t.Fatalf("Export %v: %v", f, err)
	}
	back, err := Import(bytes.NewReader(buf.Bytes()), FormatAuto)
	if err != nil {
		t.Fatalf("Import %v: %v\n%s", f, err, buf.String())
	}
	if !reflect.DeepEqual(cat, back) {
		t.Fatalf("%v round trip differs:\nbefore %+v\nafter  %+v\nfile:\n%s", f, cat, back, buf.String())
	}
	return back
}

func TestRoundTripSeeds(t *testing.T) {
	for _, cat := range []*Catalogue{mustBrindisi(t), mustDesk(t)} {
		for _, f := range []Format{FormatYAML, FormatJSON} {
			roundTrip(t, cat, f)
		}
	}
}

// fullCatalogue sets every field of every type, so that a field the
// encoders forget would break the round trip.
func fullCatalogue() *Catalogue {
	return &Catalogue{
		Organisation: OrgInfo{Code: "ente-prova", Name: "Ente di prova", Area: "Area 1", Sector: "Settore: \"IT\"",
			Website: "https://ente.example.it", Email: "info@ente.example.it", PEC: "ente@pec.example.it",
			Phone: "+39 06 1234567", Address: "Via Roma 1\n00100 Roma", AreaServed: "Comune di Prova",
			TriageQueue: "smistamento", Notes: "  indented first line\nand\ttabs \nand trailing blanks  "},
		Criteria: []Criterion{{"a", "Primo"}, {"b", "# not a comment: really"}},
		Services: []Service{{
			Code: "prova", Name: "- looks like a list", Description: "Riga 1\n\nRiga 3\n",
			LegalReferences: "L. 241/1990", ResponsibleUnit: "Unità", Office: Office{"Ufficio", "Via Po 2", "lun–ven 9–13"},
			ResponsiblePerson: "Dott.ssa Maria Rossi", Collaborators: []string{"yes", "null", "0831"},
			Phones: []string{"0831-565353", "+39 333 1234567"}, Email: "a@b.it", PEC: "a@pec.b.it", PECNote: "riceve anche da PEO",
			Documents: "Modulo A", Forms: []Form{{"Modulo A", "https://ente.example.it/a.pdf"}}, Access: "Sportello",
			InfoOnProgress: "Per telefono", Payments: "PagoPA", FinalActBody: "Dirigente", SilenceAssent: "Sì",
			DeadlineText: "30 giorni", TargetDuration: Duration{5, BusinessDays}, Remedies: "Ricorso al TAR",
			Link: "www.ente.example.it", SubstitutePower: "Segretario generale", Active: false, Team: "it", Queue: "it-2",
			SmartWorking: map[string]SmartWorkingValue{"a": Sussiste, "b": NonSussistePregiudizio},
			Phases: []Phase{{Code: "r", Name: "Ricezione: \"subito\"", Kind: PhaseReceipt, Description: "d",
				Channels: []string{"web", "pec"}, RequiresApproval: true, Supplier: true}},
			Fields: []FormField{{Code: "porta", Label: "Porta: TCP", LabelEN: "Port", Type: FieldSelect, Required: true,
				Options: []FieldOption{{Value: "443", Label: "HTTPS", LabelEN: "HTTPS (en)"}}, Help: "aiuto\nsu due righe", HelpEN: "help"}},
		}},
	}
}

func TestRoundTripFull(t *testing.T) {
	cat := fullCatalogue()
	if err := cat.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	assertNoZeroField(t, reflect.ValueOf(cat.Services[0]), "service")
	assertNoZeroField(t, reflect.ValueOf(cat.Organisation), "organisation")
	for _, f := range []Format{FormatYAML, FormatJSON} {
		roundTrip(t, cat, f)
	}
}

func assertNoZeroField(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		name := path + "." + v.Type().Field(i).Name
		if f.Kind() == reflect.Bool {
			continue // false is a value too
		}
		if f.IsZero() {
			t.Errorf("%s is zero: the test does not cover it", name)
		}
		if f.Kind() == reflect.Struct {
			assertNoZeroField(t, f, name)
		}
	}
}

func TestActiveDefaultsToTrue(t *testing.T) {
	cat, err := Parse([]byte(minimal), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	if !cat.Services[0].Active {
		t.Error("a service without active: is inactive")
	}
	cat, err = Parse([]byte(strings.Replace(minimal, "description: D", "description: D\n    active: false", 1)), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	if cat.Services[0].Active {
		t.Error("active: false ignored")
	}
}

const minimal = `organisation:
  code: ente
  name: Ente
services:
  - code: uno
    name: Uno
    description: D
`

type wantErr struct {
	line  int
	field string
	msg   string
}

func checkErrors(t *testing.T, name, src string, format Format, want ...wantErr) {
	t.Helper()
	cat, err := Parse([]byte(src), format)
	if err == nil {
		t.Fatalf("%s: no error; got %+v", name, cat)
	}
	if cat != nil {
		t.Errorf("%s: catalogue returned with an error", name)
	}
	var fes FileErrors
	if !errors.As(err, &fes) {
		t.Fatalf("%s: error %T %v is not FileErrors", name, err, err)
	}
	for _, w := range want {
		found := false
		for _, fe := range fes {
			if fe.Line == w.line && fe.Field == w.field && strings.Contains(fe.Msg, w.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no error at line %d on %q containing %q; got:\n%v", name, w.line, w.field, w.msg, err)
		}
	}
	if len(fes) != len(want) {
		t.Errorf("%s: got %d errors, want %d:\n%v", name, len(fes), len(want), err)
	}
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Errorf("%s: errors.As(*FileError) failed", name)
	}
}

const badYAML = `version: 1
organisation:
  code: ente
  name: Ente
services:
  - code: uno
    name: Uno
    description: D
    colour: blue
    smart_working:
      a: Sussiste
      b: Forse
      c: Sussiste
      d: Sussiste
      e: Sussiste
      f: Sussiste
      g: Sussiste
  - code: due
    description: Manca il nome
    phases:
      - code: p1
        name: Fase
        kind: approve
  - code: uno
    name: Tre
    description: D
`

func TestImportErrorsNameLineAndField(t *testing.T) {
	// Unknown field: stops before validation, reports the key's line.
	checkErrors(t, "unknown field", badYAML, FormatYAML,
		wantErr{9, "services[0].colour", `unknown field "colour"`})

	// Without it, every validation problem is reported at once.
	noColour := strings.Replace(badYAML, "    colour: blue\n", "", 1)
	checkErrors(t, "validation", noColour, FormatYAML,
		wantErr{11, "services[0].smart_working.b", `invalid smart-working value "Forse"`},
		wantErr{17, "services[1].name", "is required"},
		wantErr{22, "services[1].phases[0].kind", `invalid phase kind "approve"`},
		wantErr{23, "services[2].code", `duplicate service code "uno"`},
	)

	// The same problems in JSON, with lines computed from offsets.
	js := `{
  "organisation": {"code": "ente", "name": "Ente"},
  "services": [
    {
      "code": "uno",
      "name": "Uno",
      "description": "D",
      "smart_working": {"a": "Sussiste", "b": "Forse", "c": "Sussiste",
        "d": "Sussiste", "e": "Sussiste", "f": "Sussiste", "g": "Sussiste"}
    },
    {
      "code": "due",
      "description": "Manca il nome",
      "phases": [
        {"code": "p1", "name": "Fase", "kind": "approve"}
      ]
    },
    {"code": "uno", "name": "Tre", "description": "D"}
  ]
}`
	checkErrors(t, "json validation", js, FormatAuto,
		wantErr{8, "services[0].smart_working.b", `invalid smart-working value "Forse"`},
		wantErr{11, "services[1].name", "is required"},
		wantErr{15, "services[1].phases[0].kind", `invalid phase kind "approve"`},
		wantErr{18, "services[2].code", `duplicate service code "uno"`},
	)
	checkErrors(t, "json unknown field",
		"{\n\"organisation\": {\"code\": \"ente\", \"name\": \"Ente\"},\n\"services\": [],\n\"servics\": []\n}", FormatJSON,
		wantErr{4, "servics", `unknown field "servics"; did you mean "services"?`})
}

func TestImportShapeErrors(t *testing.T) {
	checkErrors(t, "type errors", `organisation:
  code: ente
  name: [Ente]
services:
  - code: uno
    name: Uno
    description: D
    active: yes
    phones: 0831-565353
    smart_working: [a]
version: 2
`, FormatYAML,
		wantErr{3, "organisation.name", "expected text, found a list"},
		wantErr{8, "services[0].active", `expected true or false, found "yes"`},
		wantErr{9, "services[0].phones", "expected a list"},
		wantErr{10, "services[0].smart_working", "expected a mapping"},
		wantErr{11, "version", "unsupported format version 2"},
	)
	checkErrors(t, "duplicate key", minimal+"    name: Again\n", FormatYAML,
		wantErr{8, "services[0].name", `duplicate key "name"`})
	checkErrors(t, "json duplicate key", `{"organisation": {"code": "ente", "name": "Ente",
"code": "x"}, "services": []}`, FormatJSON,
		wantErr{2, "organisation.code", `duplicate key "code"`})
	checkErrors(t, "version", "version: 2\n"+minimal, FormatYAML,
		wantErr{1, "version", "unsupported format version 2"})
	checkErrors(t, "no organisation", "services: []\n", FormatYAML,
		wantErr{1, "organisation", "is required"})
	checkErrors(t, "empty", "# nothing\n", FormatYAML, wantErr{1, "", "the file is empty"})
	checkErrors(t, "empty json", "  ", FormatJSON, wantErr{1, "", "the file is empty"})
	checkErrors(t, "not a mapping", "[1, 2]", FormatAuto, wantErr{1, "", "expected a mapping, found a list"})
	checkErrors(t, "bad duration", minimal+"    target_duration: 5 settimane\n", FormatYAML,
		wantErr{8, "services[0].target_duration", "unknown unit"})
	checkErrors(t, "two documents", minimal+"---\nfoo: bar\n", FormatYAML,
		wantErr{8, "", "more than one YAML document"})
}

func TestImportSyntaxErrors(t *testing.T) {
	checkErrors(t, "yaml syntax", "organisation:\n  code: ente\n  name: \"Ente\n", FormatYAML,
		wantErr{3, "", "YAML syntax"})
	checkErrors(t, "yaml tab", "organisation:\n\tcode: ente\n", FormatYAML,
		wantErr{2, "", "YAML syntax"})
	checkErrors(t, "json syntax", "{\n  \"organisation\": {\n    \"code\": \"ente\",\n    \"name\" \"Ente\"\n  }\n}", FormatJSON,
		wantErr{4, "", "JSON syntax"})
	checkErrors(t, "json eof", "{\n  \"organisation\": {\n", FormatJSON,
		wantErr{3, "", "unexpected end of file"})
	checkErrors(t, "json trailing", "{\"organisation\": {}}\n{}", FormatJSON,
		wantErr{2, "", "unexpected data after the end"})
}

func TestYAMLAnchorsAndMerge(t *testing.T) {
	src := `organisation:
  code: ente
  name: Ente
services:
  - &base
    code: uno
    name: Uno
    description: Comune
    phones: &tel [0831-565353]
  - <<: *base
    code: due
    name: Due
    phones: *tel
`
	cat, err := Parse([]byte(src), FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	s := cat.Services[1]
	if s.Code != "due" || s.Name != "Due" || s.Description != "Comune" || len(s.Phones) != 1 || !s.Active {
		t.Errorf("merged service = %+v", s)
	}
	// Changing one must not change the other.
	cat.Services[0].Phones[0] = "x"
	if cat.Services[1].Phones[0] != "0831-565353" {
		t.Error("aliases share slices")
	}

	checkErrors(t, "alias cycle", "organisation: &o\n  code: ente\n  name: *o\n", FormatYAML,
		wantErr{1, "", "contains it"})

	// A billion laughs within the schema's depth.
	var b strings.Builder
	b.WriteString("organisation: {code: ente, name: Ente}\nx: &c [phone")
	b.WriteString("]\nservices:\n")
	b.WriteString("  - &s {code: s, name: S, description: D, phones: [1, 2], collaborators: [")
	for i := 0; i < 2000; i++ {
		b.WriteString("a,")
	}
	b.WriteString("a]}\n")
	for i := 0; i < 2000; i++ {
		b.WriteString("  - *s\n")
	}
	_, err = Parse([]byte(b.String()), FormatYAML)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("alias bomb: %v", err)
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("organisation: {code: ente, name: Ente}\nservices:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "  - {code: s%d, name: S, description: D, bad: 1}\n", i)
	}
	_, err := Parse([]byte(b.String()), FormatYAML)
	var fes FileErrors
	if !errors.As(err, &fes) || len(fes) != maxErrors+1 || !strings.Contains(fes[len(fes)-1].Msg, "too many errors") {
		t.Errorf("got %d errors", len(fes))
	}
}

func TestImportFileAndFormats(t *testing.T) {
	dir := t.TempDir()
	cat := mustDesk(t)
	for _, name := range []string{"c.yaml", "c.yml", "c.json", "c.txt"} {
		var buf bytes.Buffer
		f := FormatFor(name)
		if err := Export(&buf, cat, f); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		// A BOM, as Windows editors write, is ignored.
		if err := os.WriteFile(p, append([]byte("\xEF\xBB\xBF"), buf.Bytes()...), 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := ImportFile(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(back, cat) {
			t.Errorf("%s differs", name)
		}
	}
	if FormatFor("X.JSON") != FormatJSON || FormatFor("a.yml") != FormatYAML || FormatFor("a") != FormatAuto {
		t.Error("FormatFor")
	}
	big := bytes.Repeat([]byte("#"), MaxFileSize+1)
	if _, err := Import(bytes.NewReader(big), FormatYAML); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("large file: %v", err)
	}
}

func TestExportIsReadable(t *testing.T) {
	var buf bytes.Buffer
	if err := Export(&buf, mustBrindisi(t), FormatYAML); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, s := range []string{"version: 1\n", "    description: |-\n      Attività complessa", "      f: Sussiste pregiudizio\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("YAML export lacks %q", s)
		}
	}
	buf.Reset()
	if err := Export(&buf, mustBrindisi(t), FormatJSON); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"f": "Sussiste pregiudizio"`) {
		t.Error("JSON export lacks the Italian smart-working value")
	}
}

// The example in FORMAT.md must stay a valid catalogue.
func TestFormatDocExample(t *testing.T) {
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no YAML example in FORMAT.md")
	}
	cat, err := Parse([]byte(example), FormatYAML)
	if err != nil {
		t.Fatalf("FORMAT.md example: %v", err)
	}
	if len(cat.Services) != 1 || !cat.Services[0].NeedsApproval() {
		t.Errorf("example = %+v", cat)
	}
}

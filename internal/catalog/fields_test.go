package catalog

import (
	"strings"
	"testing"
)

const fieldsYAML = `organisation: {code: ente, name: Ente}
services:
  - code: firewall
    name: Regole firewall
    description: D
    fields:
      - code: porta
        label: Porta
        type: numero
      - code: porta
        label: Porta di nuovo
        type: number
      - code: tipo
        label: Tipo
        type: select
      - code: nota
        type: text
        options:
          - {value: a}
      - code: scelta
        label: Scelta
        type: select
        options:
          - {value: a}
          - {value: a}
`

func TestFieldDefinitionErrorsNameLineAndField(t *testing.T) {
	checkErrors(t, "fields", fieldsYAML, FormatYAML,
		wantErr{9, "services[0].fields[0].type", `invalid field type "numero"`},
		wantErr{10, "services[0].fields[1].code", `duplicate field code "porta"`},
		wantErr{13, "services[0].fields[2].options", "a select field needs options"},
		wantErr{16, "services[0].fields[3].label", "is required"},
		wantErr{18, "services[0].fields[3].options", "only a select field has options"},
		wantErr{25, "services[0].fields[4].options[1].value", `duplicate option "a"`},
	)
	checkErrors(t, "unknown key", strings.Replace(fieldsYAML, "        type: numero", "        kind: number", 1), FormatYAML,
		wantErr{9, "services[0].fields[0].kind", `unknown field "kind"`})
}

func TestSeedFieldsAreValid(t *testing.T) {
	cat, err := ProvinciaBrindisi()
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := cat.Service("sicurezza-informatica")
	var codes []string
	for _, f := range sec.Fields {
		codes = append(codes, f.Code)
	}
	if got := strings.Join(codes, ","); got != "tipo,sorgente,destinazione,porta,protocollo,scadenza,motivazione" {
		t.Fatalf("firewall fields = %s", got)
	}
}

func TestCheckValues(t *testing.T) {
	fields := []FormField{
		{Code: "tipo", Label: "Tipo", Type: FieldSelect, Required: true, Options: []FieldOption{{Value: "fw", Label: "Regola firewall", LabelEN: "Firewall rule"}, {Value: "av"}}},
		{Code: "porta", Label: "Porta", Type: FieldNumber},
		{Code: "dal", Label: "Dal", Type: FieldDate},
		{Code: "chi", Label: "Chi", Type: FieldEmail},
		{Code: "nome", Label: "Nome", Type: FieldText},
		{Code: "perche", Label: "Perché", Type: FieldTextarea, Required: true},
	}
	got, p := CheckValues(fields, map[string]string{"tipo": "fw", "porta": " 443 ", "dal": "31/12/2026", "chi": "A.Rossi@Ente.it",
		"nome": "  due   parole ", "perche": "riga 1\r\nriga 2"}, true)
	if p != nil {
		t.Fatalf("problem: %v", p)
	}
	want := []FieldValue{
		{Code: "tipo", Label: "Tipo", Type: FieldSelect, Value: "fw", Text: "Regola firewall", TextEN: "Firewall rule"},
		{Code: "porta", Label: "Porta", Type: FieldNumber, Value: "443", Text: "443"},
		{Code: "dal", Label: "Dal", Type: FieldDate, Value: "2026-12-31", Text: "31/12/2026"},
		{Code: "chi", Label: "Chi", Type: FieldEmail, Value: "a.rossi@ente.it", Text: "a.rossi@ente.it"},
		{Code: "nome", Label: "Nome", Type: FieldText, Value: "due parole", Text: "due parole"},
		{Code: "perche", Label: "Perché", Type: FieldTextarea, Value: "riga 1\nriga 2", Text: "riga 1\nriga 2"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d values: %+v", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	bad := []struct {
		name   string
		values map[string]string
		field  string
	}{
		{"missing required", map[string]string{"tipo": "fw"}, "perche"},
		{"blank required", map[string]string{"tipo": "fw", "perche": "  \n "}, "perche"},
		{"unknown option", map[string]string{"tipo": "xx", "perche": "p"}, "tipo"},
		{"unknown field", map[string]string{"tipo": "fw", "perche": "p", "colore": "blu"}, "colore"},
		{"not a number", map[string]string{"tipo": "fw", "perche": "p", "porta": "443a"}, "porta"},
		{"not a date", map[string]string{"tipo": "fw", "perche": "p", "dal": "2026-02-30"}, "dal"},
		{"not an e-mail", map[string]string{"tipo": "fw", "perche": "p", "chi": "Mario <m@ente.it>"}, "chi"},
		{"too long", map[string]string{"tipo": "fw", "perche": "p", "nome": strings.Repeat("x", MaxValueLine+1)}, "nome"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, p := CheckValues(fields, tc.values, true)
			if p == nil || p.Field != tc.field {
				t.Fatalf("problem = %v, want one on %s", p, tc.field)
			}
		})
	}
	// Free-text requests (e-mail) need not carry required fields, but what
	// they carry is still checked.
	if got, p := CheckValues(fields, nil, false); p != nil || len(got) != 0 {
		t.Fatalf("no values, not enforced: %v %v", got, p)
	}
	if _, p := CheckValues(fields, map[string]string{"porta": "x"}, false); p == nil || p.Field != "porta" {
		t.Fatalf("bad value, not enforced: %v", p)
	}
}

// FuzzCheckValues: any input for any field type is refused cleanly or
// accepted in a canonical form that is accepted again unchanged.
func FuzzCheckValues(f *testing.F) {
	for _, s := range []string{"443", "1,5", "31/12/2026", "2026-02-30", "a@b.it", "Mario <m@ente.it>", "regola-firewall", " \n ", "\x00", "\xff\xfe"} {
		f.Add(s)
	}
	fields := []FormField{
		{Code: "t", Label: "T", Type: FieldText},
		{Code: "a", Label: "A", Type: FieldTextarea},
		{Code: "s", Label: "S", Type: FieldSelect, Options: []FieldOption{{Value: "regola-firewall"}, {Value: "altro"}}},
		{Code: "d", Label: "D", Type: FieldDate},
		{Code: "e", Label: "E", Type: FieldEmail},
		{Code: "n", Label: "N", Type: FieldNumber},
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, fd := range fields {
			got, p := CheckValues([]FormField{fd}, map[string]string{fd.Code: in}, false)
			if p != nil {
				if p.Field != fd.Code {
					t.Fatalf("%s: problem on %q", fd.Type, p.Field)
				}
				continue
			}
			if len(got) > 1 {
				t.Fatalf("%s: %d values", fd.Type, len(got))
			}
			if len(got) == 0 {
				continue
			}
			again, p := CheckValues([]FormField{fd}, map[string]string{fd.Code: got[0].Value}, true)
			if p != nil || len(again) != 1 || again[0].Value != got[0].Value {
				t.Fatalf("%s: canonical %q not stable: %v %v", fd.Type, got[0].Value, again, p)
			}
		}
	})
}

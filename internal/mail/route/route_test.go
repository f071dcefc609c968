package route

import (
	"reflect"
	"strings"
	"testing"
)

func TestEvaluate(t *testing.T) {
	rules := []Rule{
		{Name: "vip", When: []Condition{{Field: FieldSender, Any: []string{"@prefettura.example.it"}}}, Then: Action{Priority: "high", Tags: []string{"vip"}}, Continue: true},
		{Name: "renewal", When: []Condition{{Field: FieldText, Any: []string{"rinnov*"}}, {Field: FieldText, Any: []string{"certificat*"}}},
			Then: Action{Service: "cert", Redirect: "prefettura"}},
		{Name: "bdna", When: []Condition{{Field: FieldSubject, Any: []string{"BDNA"}}}, Then: Action{Service: "bdna", Tags: []string{"bdna", "vip"}}},
		{Name: "info", When: []Condition{{Field: FieldSubject, Any: []string{"Informazioni nuovo service desk"}}}, Then: Action{Service: "info"}},
		{Name: "pec", When: []Condition{{Field: FieldRecipient, Any: []string{"assistenza@pec.desk.example.it"}}}, Then: Action{Queue: "pec"}},
		{Name: "off", Disabled: true, Then: Action{Queue: "never"}},
		{Name: "noticket", When: []Condition{{Field: FieldSubject, Op: OpContains, Any: []string{"[test]"}}}, Then: Action{NoTicket: true}},
	}
	tests := []struct {
		name string
		in   Input
		want Action
		def  bool
	}{
		{"acronym", Input{Subject: "BDNA - errore di accesso"}, Action{Service: "bdna", Reply: "ack", Tags: []string{"bdna", "vip"}}, false},
		{"acronym any case", Input{Subject: "problema bdna login"}, Action{Service: "bdna", Reply: "ack", Tags: []string{"bdna", "vip"}}, false},
		{"acronym inside a word does not match", Input{Subject: "BDNA2 errore; xBDNA"}, Action{Reply: "ack_triage"}, true},
		{"acronym with punctuation", Input{Subject: "[BDNA]: errore"}, Action{Service: "bdna", Reply: "ack", Tags: []string{"bdna", "vip"}}, false},
		{"phrase", Input{Subject: "R: informazioni  nuovo Service-Desk?"}, Action{Service: "info", Reply: "ack"}, false},
		{"phrase broken", Input{Subject: "informazioni sul nuovo service desk"}, Action{Reply: "ack_triage"}, true},
		{"renewal by prefix, accents folded", Input{Subject: "Richiesta", Body: "Vorrei rinnovare il CERTIFICATO digitale"}, Action{Service: "cert", Redirect: "prefettura", Reply: "ack"}, false},
		// Tags of continuing rules add up, without repeats.
		{"continue merges", Input{Sender: "capo@prefettura.example.it", Subject: "BDNA"}, Action{Service: "bdna", Priority: "high", Reply: "ack", Tags: []string{"vip", "bdna"}}, false},
		{"subdomain sender", Input{Sender: "x@uff.prefettura.example.it", Subject: "altro"}, Action{Priority: "high", Reply: "ack_triage", Tags: []string{"vip"}}, true},
		{"recipient", Input{Recipients: []string{"a@b.it", "assistenza@pec.desk.example.it"}, Subject: "x"}, Action{Queue: "pec", Reply: "ack"}, false},
		{"no ticket", Input{Subject: "[TEST] prova"}, Action{NoTicket: true, Reply: "info"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(rules, tt.in)
			if !reflect.DeepEqual(d.Action, tt.want) || d.Default != tt.def {
				t.Errorf("got %+v default=%v (matched %v), want %+v default=%v", d.Action, d.Default, d.Matched, tt.want, tt.def)
			}
		})
	}
}

func TestNotCondition(t *testing.T) {
	r := []Rule{{Name: "not-internal", When: []Condition{{Field: FieldSender, Any: []string{"ente.it"}, Not: true}}, Then: Action{Queue: "external"}}}
	if d := Evaluate(r, Input{Sender: "a@ente.it"}); d.Queue != "" {
		t.Errorf("internal sender matched")
	}
	if d := Evaluate(r, Input{Sender: "a@altro.it"}); d.Queue != "external" {
		t.Errorf("external sender not matched")
	}
}

func TestValidate(t *testing.T) {
	bad := []Rule{
		{},
		{Name: "x", When: []Condition{{Field: "cc", Any: []string{"a"}}}},
		{Name: "x", When: []Condition{{Field: FieldSubject}}},
		{Name: "x", When: []Condition{{Field: FieldSubject, Op: "regex", Any: []string{"a"}}}},
		{Name: "x", Then: Action{Priority: "asap"}},
		{Name: "x", Then: Action{Reply: "custom"}},
		{Name: "x", Then: Action{NoTicket: true, Service: "a"}},
		{Name: "x", Then: Action{NoTicket: true, Tags: []string{"a"}}},
		{Name: "x", Then: Action{Tags: []string{"two words"}}},
		{Name: "x", Then: Action{Tags: []string{"<script>"}}},
	}
	for i, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("rule %d: no error", i)
		}
	}
	good := Rule{Name: "ok", When: []Condition{{Field: FieldSubject, Any: []string{"BDNA"}}}, Then: Action{Service: "bdna", Priority: "high", Tags: []string{"BDNA", "Accesso", "bdna"}}}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
	if !reflect.DeepEqual(good.Then.Tags, []string{"accesso", "bdna"}) {
		t.Errorf("tags normalised to %q", good.Then.Tags)
	}
}

func TestWords(t *testing.T) {
	got := strings.Join(Words("Perché l'Università — BDNA/2026, rinnov* ok"), "|")
	if got != "perche|l|universita|bdna|2026|rinnov*|ok" {
		t.Errorf("got %s", got)
	}
}

func TestFindProvince(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Comune di Cento (FE) - rinnovo certificato", "FE"},
		{"Sono della Prefettura di Ferrara", "FE"},
		{"scrivo da Ferrara per il rinnovo", "FE"},
		{"provincia di ferrara", "FE"},
		{"prov. FE", "FE"},
		{"Comune di Bondeno ( FE )", "FE"},
		{"Ufficio territoriale del Governo di Reggio Emilia", "RE"},
		{"Città metropolitana di Reggio Calabria", "RC"},
		{"UTG di Forlì-Cesena", "FC"},
		{"Stazione appaltante di L'Aquila", "AQ"},
		{"Prefettura dell'Aquila", "AQ"},
		{"Fermo restando quanto detto, il certificato è scaduto", ""},
		{"Prefettura di Fermo", "FM"},
		{"resto in attesa (OK) grazie", ""},
		{"nessuna provincia qui", ""},
		{"Prima Roma poi Milano", "RM"},
		{"Monza e della Brianza", "MB"},
		{"Bolzano / Bozen", "BZ"},
	}
	for _, tt := range tests {
		got, ok := FindProvince(tt.text)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("FindProvince(%q) = %q, %v; want %q", tt.text, got, ok, tt.want)
		}
	}
	if len(Provinces) != 107 {
		t.Errorf("%d provinces, want 107", len(Provinces))
	}
	codes := map[string]bool{}
	for _, p := range Provinces {
		if codes[p.Code] {
			t.Errorf("code %s twice", p.Code)
		}
		codes[p.Code] = true
	}
}

func TestImportCSV(t *testing.T) {
	// The IPA open-data layout (Mail1..Mail5 with Tipo_Mail1..), semicolons,
	// a BOM, a row to filter out and a row without any address.
	csv := "\ufeffCodice_IPA;Denominazione_ente;Provincia;Mail1;Tipo_Mail1;Mail2;Tipo_Mail2\n" +
		"pref_fe;Prefettura - Ufficio Territoriale del Governo di Ferrara;FE;info@prefettura.example.it;Altro;protocollo.preffe@pec.interno.it;Pec\n" +
		"pref_bo;Prefettura - UTG - Bologna;;protocollo.prefbo@pec.interno.it;Pec;;\n" +
		"c_d548;Comune di Ferrara;FE;protocollo@cert.comune.fe.it;Pec;;\n" +
		"pref_xx;Prefettura senza indirizzi;RM;;;;\n"
	offices, errs := ImportCSV(strings.NewReader(csv), ImportOptions{Match: "prefettura"})
	if len(offices) != 2 || len(errs) != 1 {
		t.Fatalf("offices %+v errors %v", offices, errs)
	}
	fe := offices[0]
	if fe.Code != "pref_fe" || fe.Province != "FE" || fe.PEC != "protocollo.preffe@pec.interno.it" || fe.Email != "info@prefettura.example.it" || fe.Kind != "prefettura" {
		t.Errorf("Ferrara: %+v", fe)
	}
	if offices[1].Province != "BO" {
		t.Errorf("province from the name: %+v", offices[1])
	}
	if o, ok := Competent(offices, "prefettura", "FE"); !ok || o.Address() != "protocollo.preffe@pec.interno.it" {
		t.Errorf("competent: %+v %v", o, ok)
	}
	// Sportello's own simple layout, with commas.
	offices, errs = ImportCSV(strings.NewReader("code,name,province,pec\nx,Prefettura di Bari,BA,p@pec.example.it\n"), ImportOptions{})
	if len(offices) != 1 || len(errs) != 0 || offices[0].Province != "BA" {
		t.Errorf("simple layout: %+v %v", offices, errs)
	}
	if _, errs := ImportCSV(strings.NewReader("a,b\n1,2\n"), ImportOptions{}); len(errs) == 0 {
		t.Error("a file without name and code columns is accepted")
	}
}

package catalog

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestCSV(t *testing.T) {
	cat := mustBrindisi(t)
	var buf bytes.Buffer
	if err := CSV(&buf, cat); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		t.Fatal("no byte-order mark")
	}
	r := csv.NewReader(bytes.NewReader(data[3:]))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 11 {
		t.Fatalf("got %d rows, want header + 10", len(rows))
	}
	header := rows[0]
	for _, label := range []string{"Ente", "Denominazione del procedimento", "Descrizione", "Riferimenti normativi",
		"Unità organizzativa responsabile", "Ufficio del procedimento", "Responsabile del procedimento", "Collaboratori",
		"Telefono", "Indirizzo e-mail", "Modalità per eventuale effettuazione di pagamenti",
		"Organo competente ad adottare l'atto finale", "Silenzio - assenso", "Termine finale procedimentale",
		"Strumenti di tutela", "Link Ente", "PEC", "Titolare del potere sostitutivo",
		"Modalità per ottenere informazioni sui procedimenti in corso", "Fasi",
		"Modalità agile – a)", "Modalità agile – g)"} {
		if !slices.Contains(header, label) {
			t.Errorf("header lacks %q", label)
		}
	}
	if !slices.Equal(header, CSVHeader(cat)) {
		t.Error("header differs from CSVHeader")
	}
	col := func(label string) int { return slices.Index(header, label) }
	first := rows[1]
	if first[col("Denominazione del procedimento")] != "Assistenza agli utenti per l'utilizzo delle stazioni di lavoro" ||
		first[col("Collaboratori")] != "Antonio Pugliese, Piero Nolasco, Valentino Semeraro" ||
		first[col("PEC")] != "provincia@pec.provincia.brindisi.it (riceve anche da PEO)" ||
		first[col("Modalità agile – f)")] != "Sussiste pregiudizio" ||
		first[col("Modalità agile – a)")] != "Non sussiste" ||
		!strings.HasPrefix(first[col("Fasi")], "1. Ricezione della richiesta a mezzo telefono o di persona o per email (Telefono, Di persona, E-mail)\n2. Valutazione") {
		t.Errorf("first row = %q", first)
	}
	if rows[4][col("Modalità agile – f)")] != "Non sussiste pregiudizio" || rows[4][col("Modalità agile – g)")] != "Sussiste" {
		t.Errorf("row 4 = %q", rows[4])
	}
	if !bytes.Contains(data, []byte("\r\n")) {
		t.Error("records are not CRLF-terminated")
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	cat := mustBrindisi(t)
	cat.Services[0].Name = `=HYPERLINK("http://evil.example","x")`
	cat.Services[0].Description = "+1+1"
	cat.Services[0].ResponsiblePerson = "-2"
	cat.Services[0].Email = ""
	cat.Services[0].Office.Name = "@SUM(A1)"
	cat.Services[0].Remedies = "\tTAB"
	cat.Services[1].Active = false
	var buf bytes.Buffer
	if err := CSV(&buf, cat); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte("\xEF\xBB\xBF"))))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10 {
		t.Errorf("got %d rows, want header + 9 active services", len(rows))
	}
	for _, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Errorf("cell %q not neutralised", cell)
		}
	}
	for _, want := range []string{`'=HYPERLINK("http://evil.example","x")`, "'+1+1", "'-2", "'@SUM(A1)", "'\tTAB"} {
		if !slices.Contains(rows[1], want) {
			t.Errorf("row lacks %q", want)
		}
	}
	for _, row := range rows[1:] {
		if row[2] == "installazione-software" {
			t.Error("inactive service published")
		}
	}
}

func TestJSONOpenData(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, mustBrindisi(t)); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version      int
		Organisation map[string]string
		Criteria     []OpenCriterion
		Fields       []OpenField
		Services     []map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != 1 || doc.Organisation["code"] != "provincia-brindisi" || len(doc.Criteria) != 7 || len(doc.Services) != 10 {
		t.Fatalf("doc = %+v", doc)
	}
	s := doc.Services[3]
	// Every key is present, even when empty; internal ones are not.
	for _, k := range []string{"code", "name", "description", "legal_references", "responsible_unit", "office",
		"responsible_person", "collaborators", "phones", "email", "pec", "pec_note", "documents", "forms", "access",
		"info_on_progress", "payments", "final_act_body", "silence_assent", "deadline", "target_duration",
		"remedies", "link", "url", "substitute_power", "phases", "smart_working"} {
		if _, ok := s[k]; !ok {
			t.Errorf("service lacks key %q", k)
		}
	}
	for _, k := range []string{"team", "queue", "active"} {
		if _, ok := s[k]; ok {
			t.Errorf("service publishes internal key %q", k)
		}
	}
	if s["url"] != "https://www.provincia.brindisi.it" {
		t.Errorf("url = %v", s["url"])
	}
	sw := s["smart_working"].([]any)
	if len(sw) != 7 || sw[5].(map[string]any)["letter"] != "f" || sw[5].(map[string]any)["value"] != "Non sussiste pregiudizio" {
		t.Errorf("smart_working = %v", sw)
	}
	if ph := s["phases"].([]any)[1].(map[string]any); ph["kind"] != "approval" || ph["requires_approval"] != true {
		t.Errorf("phase = %v", ph)
	}
	if strings.Contains(buf.String(), `"collaborators": null`) {
		t.Error("null list in open data")
	}
}

func TestJSONLD(t *testing.T) {
	cat := mustBrindisi(t)
	svc, _ := cat.Service("sicurezza-informatica")
	out, err := JSONLD(svc, &cat.Organisation)
	if err != nil {
		t.Fatal(err)
	}
	var ld map[string]any
	if err := json.Unmarshal(out, &ld); err != nil {
		t.Fatal(err)
	}
	if ld["@context"] != "https://schema.org" || ld["@type"] != "GovernmentService" || ld["name"] != svc.Name ||
		ld["url"] != "https://www.provincia.brindisi.it" || ld["termsOfService"] != "Art. 51 Codice dell'amministrazione digitale" {
		t.Errorf("ld = %v", ld)
	}
	prov := ld["provider"].(map[string]any)
	if prov["@type"] != "GovernmentOrganization" || prov["name"] != "Provincia di Brindisi" ||
		prov["email"] != "sistemi.informativi@provincia.brindisi.it" || prov["telephone"] != "0831-565353" ||
		prov["url"] != "https://www.provincia.brindisi.it" {
		t.Errorf("provider = %v", prov)
	}
	if ld["areaServed"].(map[string]any)["name"] != "Provincia di Brindisi" {
		t.Errorf("areaServed = %v", ld["areaServed"])
	}
	chans := ld["availableChannel"].([]any)
	phone := chans[0].(map[string]any)["servicePhone"].(map[string]any)
	if phone["telephone"] != "0831-565353" || phone["email"] != "sistemi.informativi@provincia.brindisi.it" {
		t.Errorf("channel = %v", chans[0])
	}
	if pec := chans[1].(map[string]any)["servicePhone"].(map[string]any); pec["email"] != "provincia@pec.provincia.brindisi.it" {
		t.Errorf("PEC channel = %v", chans[1])
	}
}

func TestJSONLDIsSafeInScript(t *testing.T) {
	cat := mustBrindisi(t)
	svc := cat.Services[0]
	evil := `</script><script>alert("x")</script><!-- & ` + "\u2028"
	svc.Name = evil
	svc.Description = "</SCRIPT>"
	cat.Organisation.Name = "<b>&amp;</b>"
	out, err := JSONLD(&svc, &cat.Organisation)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<", ">", "&", "\u2028"} {
		if bytes.Contains(out, []byte(bad)) {
			t.Errorf("JSON-LD contains %q: %s", bad, out)
		}
	}
	var ld map[string]any
	if err := json.Unmarshal(out, &ld); err != nil || ld["name"] != evil {
		t.Errorf("name did not survive escaping: %v %v", ld["name"], err)
	}
	if _, err := JSONLD(nil, &cat.Organisation); err == nil {
		t.Error("nil service accepted")
	}
}

func TestPublishedFieldsCoverArt35(t *testing.T) {
	letters := map[string]bool{}
	for _, f := range PublishedFields() {
		letters[f.Art35] = true
		if f.Label == "" || f.Key == "" {
			t.Errorf("field %+v", f)
		}
	}
	for _, l := range strings.Split("a b c d e f g h i l m", " ") {
		if !letters[l] {
			t.Errorf("no published field for art. 35 letter %s", l)
		}
	}
}

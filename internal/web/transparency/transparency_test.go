package transparency_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/browsertest"
	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/web/static"
	"github.com/sportello/sportello/internal/web/transparency"
	"github.com/sportello/sportello/internal/workflow"
)

// newServer serves the transparency pages and the static files of a fresh
// SQLite installation holding the demo catalogues, with the Provincia di
// Brindisi as the default organisation (as the demo makes it).
func newServer(tb testing.TB) *httptest.Server {
	tb.Helper()
	ctx := context.Background()
	db := storetest.OpenSQLite(tb)
	d := storetest.NewDesk(tb, db, nil)
	wf := workflow.New(workflow.Opts{Desk: d})
	if err := wf.LoadSeeds(ctx); err != nil {
		tb.Fatal(err)
	}
	err := db.Update(ctx, func(tx desk.Tx) error {
		o, err := tx.OrgByCode(ctx, workflow.OrgProvinciaBrindisi)
		if err != nil {
			return err
		}
		return tx.SetSetting(ctx, desk.SettingDefaultOrg, strconv.FormatInt(o.ID, 10))
	})
	if err != nil {
		tb.Fatal(err)
	}
	assets, err := static.New()
	if err != nil {
		tb.Fatal(err)
	}
	h, err := transparency.New(transparency.Opts{Catalogue: wf, Assets: assets})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(static.Prefix, assets.Handler())
	mux.Handle(transparency.Base, h)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

func get(tb testing.TB, srv *httptest.Server, path string, header ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, body
}

func seedServices(tb testing.TB) []catalog.Service {
	tb.Helper()
	cat, err := catalog.ProvinciaBrindisi()
	if err != nil {
		tb.Fatal(err)
	}
	return cat.Services
}

var (
	scriptRE = regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`)
	styleRE  = regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=`)
)

// checkPage checks what every page must be: Italian, strict-CSP
// compatible, with JSON-LD data blocks only.
func checkPage(tb testing.TB, res *http.Response, body []byte) []map[string]any {
	tb.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		tb.Fatalf("content type %q", ct)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		tb.Fatalf("CSP %q", csp)
	}
	page := string(body)
	for _, want := range []string{`<html lang="it">`, `href="#main"`, `<main id="main"`, "<h1>", "Tipologie di procedimento", `class="breadcrumb"`} {
		if !strings.Contains(page, want) {
			tb.Errorf("page lacks %q", want)
		}
	}
	if m := styleRE.FindString(page); m != "" {
		tb.Errorf("inline style or handler: %q", m)
	}
	var lds []map[string]any
	for _, m := range scriptRE.FindAllStringSubmatch(page, -1) {
		if strings.TrimSpace(m[1]) != `type="application/ld+json"` {
			tb.Fatalf("a script that is not JSON-LD: %q", m[0])
		}
		var ld map[string]any
		if err := json.Unmarshal([]byte(m[2]), &ld); err != nil {
			tb.Fatalf("JSON-LD %q: %v", m[2], err)
		}
		lds = append(lds, ld)
	}
	return lds
}

func TestCataloguePage(t *testing.T) {
	srv := newServer(t)
	res, body := get(t, srv, "/trasparenza/procedimenti")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	lds := checkPage(t, res, body)
	page := string(body)
	services := seedServices(t)
	for _, s := range services {
		if !strings.Contains(page, s.Name) {
			t.Errorf("page lacks the service %q", s.Name)
		}
		if !strings.Contains(page, `href="/trasparenza/procedimenti/`+s.Code+`"`) {
			t.Errorf("page lacks the link to %s", s.Code)
		}
	}
	for _, want := range []string{"Dr. Luigi Settembrini", "Sussiste pregiudizio", "Non sussiste pregiudizio", "Sussiste in parte",
		"Art. 51 Codice dell'amministrazione digitale", "Provincia di Brindisi", "Ufficio assistenza tecnico-amministrativa agli EE.LL. ed innovazione tecnologica",
		"Responsabile del procedimento", "Termine finale procedimentale", "In base alla natura del problema", "Silenzio - assenso",
		"Strumenti di tutela", "Titolare del potere sostitutivo", "Modalità per ottenere informazioni sui procedimenti in corso",
		`<a href="tel:0831565353">0831-565353</a>`, `<a href="mailto:provincia@pec.provincia.brindisi.it">provincia@pec.provincia.brindisi.it</a> (riceve anche da PEO)`,
		`<a href="https://www.provincia.brindisi.it">www.provincia.brindisi.it</a>`,
		"Le attività digitalizzate", "Accettazione e conferma da parte del Responsabile Sistemi Informativi",
		"Richiede l'accettazione del responsabile", "Canali: Telefono, Di persona, E-mail",
		"<caption>", `scope="row"`, `scope="col"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "sistemi-informativi") {
		t.Error("the page shows internal team or queue codes")
	}
	if len(lds) != len(services) || lds[0]["@type"] != "GovernmentService" || lds[0]["name"] != services[0].Name {
		t.Fatalf("JSON-LD: %d blocks, first %v", len(lds), lds[0])
	}
	// Revalidation.
	res2, _ := get(t, srv, "/trasparenza/procedimenti", "If-None-Match", res.Header.Get("ETag"))
	if res2.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d", res2.StatusCode)
	}
}

func TestServicePage(t *testing.T) {
	srv := newServer(t)
	res, body := get(t, srv, "/trasparenza/procedimenti/sicurezza-informatica")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	lds := checkPage(t, res, body)
	page := string(body)
	for _, want := range []string{"<h1>Assistenza tecnica per la gestione della sicurezza informatica dell'Ente</h1>",
		"Art. 51 Codice dell'amministrazione digitale", "regole di firewalling", "Elemento essenziale",
		"Le attività eseguibili in autonomia dal dipendente", `aria-current="page"`, `href="/trasparenza/procedimenti"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if len(lds) != 1 || lds[0]["identifier"] != "sicurezza-informatica" || lds[0]["@context"] != "https://schema.org" {
		t.Fatalf("JSON-LD %v", lds)
	}
	// Printable: the page's own stylesheet has print rules.
	css := regexp.MustCompile(`href="(/trasparenza/trasparenza\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatal("no print stylesheet")
	}
	res, body = get(t, srv, css[1])
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "@media print") || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("stylesheet %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}

	// Another organisation's service.
	res, body = get(t, srv, "/trasparenza/procedimenti/bdna?ente=ministero-interno-dippp")
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "BDNA") {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestOpenData(t *testing.T) {
	srv := newServer(t)
	res, body := get(t, srv, "/trasparenza/procedimenti.json")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("JSON %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc catalog.OpenData
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Services) != 10 || doc.Organisation.Code != workflow.OrgProvinciaBrindisi || len(doc.Criteria) != 7 {
		t.Fatalf("JSON: %d services, org %q", len(doc.Services), doc.Organisation.Code)
	}
	first := doc.Services[0].SmartWorking
	if len(first) != 7 || first[0].Letter != "a" || first[0].Value != "Non sussiste" || first[5].Value != "Sussiste pregiudizio" {
		t.Fatalf("smart working %+v", first)
	}
	if doc.Services[3].SmartWorking[5].Value != "Non sussiste pregiudizio" {
		t.Fatalf("service 4 smart working %+v", doc.Services[3].SmartWorking)
	}

	res, body = get(t, srv, "/trasparenza/procedimenti.csv")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, ".csv") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if !bytes.HasPrefix(body, []byte("\uFEFF")) {
		t.Fatal("CSV without BOM")
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\uFEFF"))))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 11 || rows[0][0] != "Ente" || rows[1][0] != "Provincia di Brindisi" || rows[0][len(rows[0])-1] != "Modalità agile – g)" {
		t.Fatalf("CSV: %d rows, header %q", len(rows), rows[0])
	}

	res, body = get(t, srv, "/trasparenza/procedimenti.json?ente=ministero-interno-dippp")
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"code": "bdna"`)) || bytes.Contains(body, []byte("smistamento")) {
		t.Fatalf("national desk JSON %d", res.StatusCode)
	}
}

func TestNotFound(t *testing.T) {
	srv := newServer(t)
	for _, path := range []string{"/trasparenza/procedimenti?ente=non-esiste", "/trasparenza/procedimenti?ente=..%2Fx",
		"/trasparenza/procedimenti/non-esiste", "/trasparenza/altro"} {
		res, body := get(t, srv, path)
		if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "Pagina non trovata") || !strings.Contains(string(body), `lang="it"`) {
			t.Errorf("%s: %d %s", path, res.StatusCode, body)
		}
	}
	for _, path := range []string{"/trasparenza/procedimenti.json?ente=non-esiste", "/trasparenza/procedimenti.csv?ente=non-esiste"} {
		res, body := get(t, srv, path)
		var e struct{ Code, Message string }
		if res.StatusCode != http.StatusNotFound || json.Unmarshal(body, &e) != nil || e.Code != "not_found" || e.Message == "" {
			t.Errorf("%s: %d %s", path, res.StatusCode, body)
		}
	}
	res, _ := get(t, srv, "/trasparenza/procedimenti")
	if res.StatusCode != http.StatusOK {
		t.Fatal(res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/trasparenza/procedimenti", nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", res.StatusCode)
	}
}

// TestAccessibility runs axe-core on the pages in Chromium (skipped
// without it, except in CI).
func TestAccessibility(t *testing.T) {
	srv := newServer(t)
	b := browsertest.New(t)
	for _, path := range []string{"/trasparenza/procedimenti", "/trasparenza/procedimenti/dispositivi-hardware-sito-web",
		"/trasparenza/procedimenti?ente=ministero-interno-dippp", "/trasparenza/procedimenti/non-esiste"} {
		b.Navigate(srv.URL + path)
		b.AssertNoSeriousViolations("")
		if !strings.Contains(path, "non-esiste") { // a 404 logs its status
			b.AssertNoConsoleErrors()
		}
	}
}

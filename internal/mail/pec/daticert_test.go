package pec_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
)

// A delivery receipt written by hand the way providers do, with repeated
// destinatari and ricezione, entities and an escaped msgid.
const handDaticert = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE postacert SYSTEM "daticert.dtd">
<postacert tipo="avvenuta-consegna" errore="nessuno">
  <intestazione>
    <mittente>assistenza@pec.desk.example.it</mittente>
    <destinatari tipo="certificato">mario.rossi@pec.comune.example.it</destinatari>
    <destinatari tipo="esterno">ufficio.tributi@comune.example.it</destinatari>
    <destinatari tipo="certificato">
        protocollo@pec.provincia.example.it
    </destinatari>
    <risposte>assistenza@pec.desk.example.it</risposte>
    <oggetto>Re: [2026-000123] Citt&agrave; di Forl&#236; &amp; Provincia &#x2013; &quot;BDNA&quot;</oggetto>
  </intestazione>
  <dati>
    <gestore-emittente>Gestore PEC del Destinatario S.p.A.</gestore-emittente>
    <data zona="+0200">
      <giorno>15/06/2026</giorno>
      <ora>10:15:05</ora>
    </data>
    <identificativo>opec21.20260615101500.23456.02.1.1@pec.gestore.example.it</identificativo>
    <msgid>&lt;sportello.2026-000123.1@pec.desk.example.it&gt;</msgid>
    <ricevuta tipo="breve" />
    <consegna>mario.rossi@pec.comune.example.it</consegna>
    <ricezione>mario.rossi@pec.comune.example.it</ricezione>
    <ricezione>protocollo@pec.provincia.example.it</ricezione>
  </dati>
</postacert>
`

func TestParseDaticertEveryField(t *testing.T) {
	d, err := pec.ParseDaticert([]byte(handDaticert))
	if err != nil {
		t.Fatal(err)
	}
	want := pec.Daticert{
		Tipo:     "avvenuta-consegna",
		Errore:   "nessuno",
		Mittente: "assistenza@pec.desk.example.it",
		Destinatari: []pec.Recipient{
			{Address: "mario.rossi@pec.comune.example.it", Kind: "certificato"},
			{Address: "ufficio.tributi@comune.example.it", Kind: "esterno"},
			{Address: "protocollo@pec.provincia.example.it", Kind: "certificato"},
		},
		Risposte:         "assistenza@pec.desk.example.it",
		Oggetto:          "Re: [2026-000123] Città di Forlì & Provincia – \"BDNA\"",
		GestoreEmittente: "Gestore PEC del Destinatario S.p.A.",
		Identificativo:   "opec21.20260615101500.23456.02.1.1@pec.gestore.example.it",
		MsgID:            "sportello.2026-000123.1@pec.desk.example.it",
		RicevutaTipo:     "breve",
		Consegna:         "mario.rossi@pec.comune.example.it",
		Ricezione:        []string{"mario.rossi@pec.comune.example.it", "protocollo@pec.provincia.example.it"},
	}
	assertData(t, d.Data, "2026-06-15T10:15:05+02:00", 7200)
	got := *d
	got.Data = time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseDaticert:\n got %#v\nwant %#v", got, want)
	}
	if d.Recipient() != "mario.rossi@pec.comune.example.it" {
		t.Errorf("Recipient() = %q", d.Recipient())
	}
}

// assertData checks an instant and the zone offset it was written in.
func assertData(t *testing.T, got time.Time, rfc3339 string, offset int) {
	t.Helper()
	want, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Errorf("Data = %v, want %v", got, want)
	}
	if _, off := got.Zone(); off != offset {
		t.Errorf("Data zone offset = %d, want %d", off, offset)
	}
}

func TestParseDaticertDefaultsAndZones(t *testing.T) {
	base := func(dataZona, extra string) string {
		return `<postacert tipo="accettazione"><intestazione><mittente>a@pec.example.it</mittente>` +
			`<destinatari tipo="certificato">b@pec.example.it</destinatari><risposte>a@pec.example.it</risposte></intestazione>` +
			`<dati><gestore-emittente>G</gestore-emittente><data zona="` + dataZona + `"><giorno>31/12/2025</giorno><ora>23:59:59</ora></data>` +
			`<identificativo>id1</identificativo>` + extra + `</dati></postacert>`
	}
	tests := []struct {
		name, zona, extra string
		rfc3339           string
		offset            int
		ricevuta          string
	}{
		{"winter", "+0100", "", "2025-12-31T23:59:59+01:00", 3600, ""},
		{"summer", "+0200", "", "2025-12-31T23:59:59+02:00", 7200, ""},
		{"colon zone", "+01:00", "", "2025-12-31T23:59:59+01:00", 3600, ""},
		{"utc", "+0000", "", "2025-12-31T23:59:59Z", 0, ""},
		{"ricevuta without tipo defaults to completa", "+0100", "<ricevuta/>", "2025-12-31T23:59:59+01:00", 3600, "completa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := pec.ParseDaticert([]byte(base(tt.zona, tt.extra)))
			if err != nil {
				t.Fatal(err)
			}
			assertData(t, d.Data, tt.rfc3339, tt.offset)
			if d.Errore != pec.ErroreNessuno {
				t.Errorf("Errore = %q, want the DTD default nessuno", d.Errore)
			}
			if d.RicevutaTipo != tt.ricevuta {
				t.Errorf("RicevutaTipo = %q, want %q", d.RicevutaTipo, tt.ricevuta)
			}
			if d.MsgID != "" || d.Oggetto != "" || d.Consegna != "" || d.Ricezione != nil || d.ErroreEsteso != "" {
				t.Errorf("absent optional fields not empty: %+v", d)
			}
		})
	}
}

func TestParseDaticertEncodings(t *testing.T) {
	const oggetto = "Città di Forlì: perché la stampante è guasta?"
	doc := func(decl string) string {
		return decl + `<postacert tipo="errore-consegna" errore="no-dest"><intestazione><mittente>a@pec.example.it</mittente>` +
			`<destinatari tipo="certificato">b@pec.example.it</destinatari><risposte>a@pec.example.it</risposte><oggetto>` + oggetto + `</oggetto></intestazione>` +
			`<dati><gestore-emittente>Gestore Università</gestore-emittente><data zona="+0100"><giorno>02/03/2026</giorno><ora>08:00:00</ora></data>` +
			`<identificativo>id1</identificativo><msgid>&lt;m1@x&gt;</msgid><consegna>b@pec.example.it</consegna>` +
			`<errore-esteso>5.1.1 - Utente sconosciuto: la casella non esiste più</errore-esteso></dati></postacert>`
	}
	latin1 := func(s string) []byte {
		b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"utf-8 declared", []byte(doc(`<?xml version="1.0" encoding="UTF-8"?>`))},
		{"utf-8 with BOM", append([]byte("\xef\xbb\xbf"), doc(`<?xml version="1.0" encoding="utf-8"?>`)...)},
		{"no declaration", []byte(doc(""))},
		{"iso-8859-1 declared", latin1(doc(`<?xml version="1.0" encoding="ISO-8859-1"?>`))},
		{"iso-8859-1 single quotes lower case", latin1(doc(`<?xml version='1.0' encoding='iso-8859-1'?>`))},
		{"latin1 alias", latin1(doc(`<?xml version="1.0" encoding="latin1"?>`))},
		{"windows-1252 declared", latin1(doc(`<?xml version="1.0" encoding="windows-1252"?>`))},
		{"iso-8859-1 bytes declared utf-8", latin1(doc(`<?xml version="1.0" encoding="UTF-8"?>`))},
		{"iso-8859-1 bytes without declaration", latin1(doc(""))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := pec.ParseDaticert(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Oggetto != oggetto {
				t.Errorf("Oggetto = %q, want %q", d.Oggetto, oggetto)
			}
			if d.GestoreEmittente != "Gestore Università" {
				t.Errorf("GestoreEmittente = %q", d.GestoreEmittente)
			}
			if d.ErroreEsteso != "5.1.1 - Utente sconosciuto: la casella non esiste più" || d.Errore != pec.ErroreNoDest {
				t.Errorf("Errore = %q, ErroreEsteso = %q", d.Errore, d.ErroreEsteso)
			}
			if d.MsgID != "m1@x" || d.Consegna != "b@pec.example.it" {
				t.Errorf("MsgID = %q, Consegna = %q", d.MsgID, d.Consegna)
			}
		})
	}
}

// Rendering a Daticert with pectest and parsing it back gives it back,
// for every preset and both charsets.
func TestParseDaticertRoundTrip(t *testing.T) {
	all := []*pec.Daticert{pectest.EnvelopeDaticert(), pectest.LatinDaticert()}
	for _, rt := range pec.ReceiptTypes {
		all = append(all, pectest.ReceiptDaticert(rt))
	}
	for _, want := range all {
		for _, cs := range []string{"UTF-8", "ISO-8859-1"} {
			x, err := pectest.DaticertXML(want, cs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pec.ParseDaticert(x)
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", want.Tipo, cs, err, x)
			}
			assertDaticert(t, want.Tipo+"/"+cs, got, want)
		}
	}
}

// assertDaticert compares every field, Data by instant and zone offset.
func assertDaticert(t *testing.T, name string, got, want *pec.Daticert) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: daticert = %v, want %v", name, got, want)
		}
		return
	}
	if !got.Data.Equal(want.Data) {
		t.Errorf("%s: Data = %v, want %v", name, got.Data, want.Data)
	}
	_, gotOff := got.Data.Zone()
	_, wantOff := want.Data.Zone()
	if gotOff != wantOff {
		t.Errorf("%s: Data offset = %d, want %d", name, gotOff, wantOff)
	}
	g, w := *got, *want
	g.Data, w.Data = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: daticert\n got %#v\nwant %#v", name, g, w)
	}
}

func TestParseDaticertInvalid(t *testing.T) {
	good := handDaticert
	tests := []struct {
		name, in, wantMsg string
	}{
		{"empty", "", "EOF"},
		{"not xml", "questo non è XML", "EOF"},
		{"truncated", good[:len(good)/2], "unexpected EOF"},
		{"wrong root", `<ricevuta tipo="accettazione"/>`, "expected element type <postacert>"},
		{"missing tipo", strings.Replace(good, ` tipo="avvenuta-consegna"`, "", 1), "postacert@tipo missing"},
		{"unknown tipo", strings.Replace(good, `"avvenuta-consegna"`, `"consegnata"`, 1), "unknown postacert@tipo"},
		{"unknown errore", strings.Replace(good, `errore="nessuno"`, `errore="boh"`, 1), "unknown postacert@errore"},
		{"no destinatari", replaceAll(good, `<destinatari`, `<altro`, `</destinatari>`, `</altro>`), "destinatari missing"},
		{"empty destinatari", strings.Replace(good, "mario.rossi@pec.comune.example.it</destinatari>", "</destinatari>", 1), "destinatari #1 is empty"},
		{"destinatari without tipo", strings.Replace(good, `<destinatari tipo="esterno">`, `<destinatari>`, 1), `destinatari #2: unknown tipo ""`},
		{"no mittente", strings.Replace(good, "<mittente>assistenza@pec.desk.example.it</mittente>", "", 1), "mittente missing"},
		{"no intestazione", replaceAll(good, "<intestazione>", "<x>", "</intestazione>", "</x>"), "intestazione missing"},
		{"no dati", replaceAll(good, "<dati>", "<x>", "</dati>", "</x>"), "dati missing"},
		{"no gestore", strings.Replace(good, "Gestore PEC del Destinatario S.p.A.", " ", 1), "gestore-emittente missing"},
		{"no data", replaceAll(good, "<data ", "<x ", "</data>", "</x>"), "dati/data missing"},
		{"no zona", strings.Replace(good, ` zona="+0200"`, "", 1), "zona missing"},
		{"bad zona", strings.Replace(good, `+0200`, `CEST`, 1), "dati/data"},
		{"bad giorno", strings.Replace(good, "15/06/2026", "2026-06-15", 1), "dati/data"},
		{"bad ora", strings.Replace(good, "10:15:05", "25:15:05", 1), "dati/data"},
		{"no identificativo", strings.Replace(good, "opec21.20260615101500.23456.02.1.1@pec.gestore.example.it", "", 1), "identificativo missing"},
		{"unknown ricevuta tipo", strings.Replace(good, `tipo="breve"`, `tipo="lunga"`, 1), "unknown ricevuta@tipo"},
		{"undefined entity", strings.Replace(good, "&amp;", "&nonesiste;", 1), "invalid character entity"},
		{"unclosed tag", strings.Replace(good, "</oggetto>", "", 1), "syntax error"},
		{"trailing element", good + "<postacert/>", "content after"},
		{"trailing text", good + "testo", "text after"},
		{"unsupported charset", strings.Replace(good, "UTF-8", "X-MAI-VISTO", 1), "unsupported charset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := pec.ParseDaticert([]byte(tt.in))
			if !errors.Is(err, pec.ErrBadDaticert) {
				t.Fatalf("err = %v (daticert %+v), want ErrBadDaticert", err, d)
			}
			if d != nil {
				t.Errorf("daticert = %+v, want nil", d)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantMsg)
			}
		})
	}
}

// A billion-laughs style DOCTYPE declares entities encoding/xml never
// expands: using one is an error, not an explosion.
func TestParseDaticertIgnoresDTDEntities(t *testing.T) {
	in := `<?xml version="1.0"?><!DOCTYPE postacert [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>` +
		strings.Replace(handDaticert[strings.Index(handDaticert, "<postacert"):], "Re: [2026-000123]", "&b;", 1)
	if _, err := pec.ParseDaticert([]byte(in)); !errors.Is(err, pec.ErrBadDaticert) {
		t.Fatalf("err = %v, want ErrBadDaticert", err)
	}
}

func replaceAll(s string, oldnew ...string) string {
	return strings.NewReplacer(oldnew...).Replace(s)
}

func TestStripAngles(t *testing.T) {
	for in, want := range map[string]string{
		"<a@b>":     "a@b",
		" < a@b > ": "a@b",
		"a@b":       "a@b",
		"<>":        "",
		"<":         "<",
		"":          "",
	} {
		if got := pec.StripAngles(in); got != want {
			t.Errorf("StripAngles(%q) = %q, want %q", in, got, want)
		}
	}
}

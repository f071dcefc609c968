package pec_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"
	"github.com/smallstep/pkcs7"

	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
)

func verifyOpts(pki *pectest.PKI) pec.Options {
	return pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc}
}

// Every valid fixture, signed and unsigned: kind, receipt type, reference,
// every daticert field, the enclosed original and the signature.
func TestParseCatalogue(t *testing.T) {
	pki := pectest.NewPKI(t)
	for _, signed := range []bool{true, false} {
		var signer *pectest.Signer
		if signed {
			signer = pki.Signer
		}
		for _, c := range pectest.Catalogue(signer) {
			name := c.Name
			if !signed {
				name += "/unsigned"
			}
			t.Run(name, func(t *testing.T) {
				m := c.Message
				raw := m.Build(t)
				keep := bytes.Clone(raw)
				p, err := pec.Parse(raw, verifyOpts(pki))
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !bytes.Equal(raw, keep) {
					t.Fatal("Parse modified its input")
				}
				if p.SHA256 != pec.Evidence(raw) {
					t.Errorf("SHA256 = %s, want Evidence(raw)", p.SHA256)
				}
				if p.Kind != m.Kind {
					t.Errorf("Kind = %q, want %q", p.Kind, m.Kind)
				}
				wantReceipt := m.Receipt
				switch m.Kind {
				case pec.KindEnvelope:
					wantReceipt = pec.ReceiptPostaCertificata
				case pec.KindAnomaly:
					wantReceipt = ""
				}
				if p.Receipt != wantReceipt {
					t.Errorf("Receipt = %q, want %q", p.Receipt, wantReceipt)
				}
				wantRef := m.RiferimentoMessageID
				if wantRef == "" && m.Daticert != nil {
					wantRef = m.Daticert.MsgID // the fallback
				}
				if p.RefMessageID != wantRef {
					t.Errorf("RefMessageID = %q, want %q", p.RefMessageID, wantRef)
				}
				assertDaticert(t, "daticert", p.Daticert, m.Daticert)

				wantOrig := m.Postacert
				if m.LF {
					wantOrig = bytes.ReplaceAll(wantOrig, []byte("\r\n"), []byte("\n"))
				}
				if !bytes.Equal(p.Original, wantOrig) {
					t.Errorf("Original = %d bytes %q…, want %d bytes", len(p.Original), head(p.Original), len(wantOrig))
				}

				if p.Signed != signed {
					t.Errorf("Signed = %v, want %v", p.Signed, signed)
				}
				switch {
				case !signed && p.Signature != nil:
					t.Errorf("Signature = %+v for an unsigned message", p.Signature)
				case signed && (p.Signature == nil || !p.Signature.Verified):
					t.Errorf("Signature = %+v, want verified", p.Signature)
				case signed && p.Signature.Signer != "Gestore PEC di Prova - firma ricevute":
					t.Errorf("Signer = %q", p.Signature.Signer)
				case signed && !p.Signature.SignerCert.Equal(pki.Signer.Cert):
					t.Errorf("SignerCert is not the provider certificate")
				}
			})
		}
	}
}

func head(b []byte) []byte {
	if len(b) > 60 {
		return b[:60]
	}
	return b
}

// The envelope taken apart field by field, and its postacert.eml read by
// the MIME parser the intake uses.
func TestParseEnvelope(t *testing.T) {
	pki := pectest.NewPKI(t)
	raw := pectest.Envelope(pki.Signer).Build(t)
	p, err := pec.Parse(raw, verifyOpts(pki))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != pec.KindEnvelope || p.Receipt != pec.ReceiptPostaCertificata {
		t.Errorf("Kind %q Receipt %q", p.Kind, p.Receipt)
	}
	if p.RefMessageID != "20260212093000.4f2a9c@pec.comune.example.it" {
		t.Errorf("RefMessageID = %q", p.RefMessageID)
	}
	d := p.Daticert
	if d.Tipo != "posta-certificata" || d.Errore != "nessuno" ||
		d.Mittente != "mario.rossi@pec.comune.example.it" ||
		len(d.Destinatari) != 1 || d.Destinatari[0] != (pec.Recipient{Address: "assistenza@pec.desk.example.it", Kind: "certificato"}) ||
		d.Risposte != "mario.rossi@pec.comune.example.it" ||
		d.Oggetto != "BDNA - errore di accesso: non riesco più ad entrare" ||
		d.GestoreEmittente != "Gestore PEC di Prova S.p.A." ||
		d.Identificativo != "opec21.20260212093000.12345.01.1.1@pec.gestore.example.it" ||
		d.MsgID != "20260212093000.4f2a9c@pec.comune.example.it" ||
		d.RicevutaTipo != "" || d.Consegna != "" || d.Ricezione != nil || d.ErroreEsteso != "" {
		t.Errorf("daticert = %#v", d)
	}
	assertData(t, d.Data, "2026-02-12T09:30:00+01:00", 3600)
	if !p.Signed || !p.Signature.Verified || p.Signature.Err != "" {
		t.Errorf("signature = %v %+v", p.Signed, p.Signature)
	}

	env, err := enmime.ReadEnvelope(bytes.NewReader(p.Original))
	if err != nil {
		t.Fatal(err)
	}
	if got := env.GetHeader("Subject"); got != "BDNA - errore di accesso: non riesco più ad entrare" {
		t.Errorf("original Subject = %q", got)
	}
	if got := env.GetHeader("From"); got != "Mario Rossi <mario.rossi@pec.comune.example.it>" {
		t.Errorf("original From = %q", got)
	}
	if got := env.GetHeader("Message-ID"); got != "<20260212093000.4f2a9c@pec.comune.example.it>" {
		t.Errorf("original Message-ID = %q", got)
	}
	if !strings.Contains(env.Text, "non riesco più ad accedere alla BDNA") {
		t.Errorf("original text = %q", env.Text)
	}
	if len(env.Attachments) != 1 || env.Attachments[0].FileName != "schermata-errore.pdf" ||
		!bytes.HasPrefix(env.Attachments[0].Content, []byte("%PDF-")) {
		t.Errorf("original attachments = %v", env.Attachments)
	}
}

// Every receipt type: what the intake needs to update the delivery state of
// our outbound message.
func TestParseReceipts(t *testing.T) {
	pki := pectest.NewPKI(t)
	tests := []struct {
		rt         pec.ReceiptType
		errore     string
		gestore    string
		consegna   string
		esteso     string // prefix
		ricevuta   string
		original   bool
		data       string
		ricezione  int
		isFailure  bool
		fromHeader string
	}{
		{rt: pec.ReceiptAccettazione, errore: "nessuno", gestore: pectest.ProviderName, data: "2026-06-15T10:15:02+02:00"},
		{rt: pec.ReceiptNonAccettazione, errore: "altro", gestore: pectest.ProviderName, esteso: "Messaggio non accettato", data: "2026-06-15T10:15:01+02:00", isFailure: true},
		{rt: pec.ReceiptPresaInCarico, errore: "nessuno", gestore: pectest.DestProviderName, data: "2026-06-15T10:15:04+02:00", ricezione: 1},
		{rt: pec.ReceiptAvvenutaConsegna, errore: "nessuno", gestore: pectest.DestProviderName, consegna: pectest.Citizen, ricevuta: "completa", original: true, data: "2026-06-15T10:15:05+02:00"},
		{rt: pec.ReceiptPreavvisoErroreConsegna, errore: "altro", gestore: pectest.ProviderName, consegna: pectest.Citizen, esteso: "4.4.7", data: "2026-06-15T22:15:10+02:00", isFailure: true},
		{rt: pec.ReceiptErroreConsegna, errore: "no-dest", gestore: pectest.ProviderName, consegna: pectest.Citizen, esteso: "5.1.1", data: "2026-06-16T10:15:12+02:00", isFailure: true},
		{rt: pec.ReceiptRilevazioneVirus, errore: "virus", gestore: pectest.DestProviderName, consegna: pectest.Citizen, esteso: "Rilevato virus", data: "2026-06-15T10:15:06+02:00", isFailure: true},
	}
	for _, tt := range tests {
		t.Run(string(tt.rt), func(t *testing.T) {
			p, err := pec.Parse(pectest.Receipt(tt.rt, pki.Signer).Build(t), verifyOpts(pki))
			if err != nil {
				t.Fatal(err)
			}
			d := p.Daticert
			if p.Kind != pec.KindReceipt || p.Receipt != tt.rt || d.Tipo != string(tt.rt) {
				t.Errorf("Kind %q Receipt %q Tipo %q", p.Kind, p.Receipt, d.Tipo)
			}
			if p.RefMessageID != "sportello.2026-000123.1@pec.desk.example.it" || d.MsgID != p.RefMessageID {
				t.Errorf("RefMessageID %q, msgid %q", p.RefMessageID, d.MsgID)
			}
			if d.Errore != tt.errore || d.GestoreEmittente != tt.gestore || d.Consegna != tt.consegna || d.RicevutaTipo != tt.ricevuta {
				t.Errorf("errore %q gestore %q consegna %q ricevuta %q", d.Errore, d.GestoreEmittente, d.Consegna, d.RicevutaTipo)
			}
			if !strings.HasPrefix(d.ErroreEsteso, tt.esteso) || (tt.esteso == "") != (d.ErroreEsteso == "") {
				t.Errorf("ErroreEsteso = %q, want prefix %q", d.ErroreEsteso, tt.esteso)
			}
			if len(d.Ricezione) != tt.ricezione {
				t.Errorf("Ricezione = %v", d.Ricezione)
			}
			want := []pec.Recipient{{Address: pectest.Citizen, Kind: "certificato"}, {Address: pectest.External, Kind: "esterno"}}
			if len(d.Destinatari) != 2 || d.Destinatari[0] != want[0] || d.Destinatari[1] != want[1] {
				t.Errorf("Destinatari = %v", d.Destinatari)
			}
			if d.Mittente != pectest.DeskPEC || d.Oggetto != pectest.OutboundSubject || d.Identificativo != pectest.OutboundIdentificativo {
				t.Errorf("mittente %q oggetto %q identificativo %q", d.Mittente, d.Oggetto, d.Identificativo)
			}
			assertData(t, d.Data, tt.data, 7200)
			if (p.Original != nil) != tt.original {
				t.Errorf("Original present = %v, want %v", p.Original != nil, tt.original)
			}
			if tt.original && !bytes.Contains(p.Original, []byte("Message-ID: <"+pectest.OutboundMessageID+">")) {
				t.Errorf("Original is not our outbound message: %q", head(p.Original))
			}
			if p.Receipt.IsFailure() != tt.isFailure {
				t.Errorf("IsFailure = %v", p.Receipt.IsFailure())
			}
		})
	}
}

func TestParseDeliverySubtypes(t *testing.T) {
	pki := pectest.NewPKI(t)
	for _, sub := range []string{pec.RicevutaCompleta, pec.RicevutaBreve, pec.RicevutaSintetica} {
		t.Run(sub, func(t *testing.T) {
			p, err := pec.Parse(pectest.DeliveryReceipt(sub, pki.Signer).Build(t), verifyOpts(pki))
			if err != nil {
				t.Fatal(err)
			}
			if p.Daticert.RicevutaTipo != sub {
				t.Errorf("RicevutaTipo = %q", p.Daticert.RicevutaTipo)
			}
			if (p.Original != nil) != (sub == pec.RicevutaCompleta) {
				t.Errorf("Original present = %v", p.Original != nil)
			}
		})
	}
}

func TestParseAnomaly(t *testing.T) {
	pki := pectest.NewPKI(t)
	p, err := pec.Parse(pectest.Anomaly(pki.Signer).Build(t), verifyOpts(pki))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != pec.KindAnomaly || p.Receipt != "" || p.Daticert != nil || p.RefMessageID != "" {
		t.Errorf("anomaly: %+v", p)
	}
	if !bytes.Equal(p.Original, pectest.AnomalyOriginal()) {
		t.Errorf("Original = %q", head(p.Original))
	}

	// A stray daticert.xml in an anomaly is kept when valid, ignored when
	// broken: the wrapped mail is still delivered, flagged.
	m := pectest.Anomaly(pki.Signer)
	m.Daticert = pectest.EnvelopeDaticert()
	if p, err = pec.Parse(m.Build(t), verifyOpts(pki)); err != nil || p.Daticert == nil {
		t.Errorf("anomaly with daticert: %v %v", err, p.Daticert)
	}
	m.DaticertXML = []byte("<postacert")
	if p, err = pec.Parse(m.Build(t), verifyOpts(pki)); err != nil || p.Daticert != nil || p.Original == nil {
		t.Errorf("anomaly with broken daticert: %v %+v", err, p)
	}
	m.Postacert = []byte{}
	if p, err = pec.Parse(m.Build(t), verifyOpts(pki)); err != nil || p.Original != nil {
		t.Errorf("anomaly with empty postacert: %v %+v", err, p)
	}
}

func TestParseSignature(t *testing.T) {
	pki := pectest.NewPKI(t)
	env := pectest.Envelope(pki.Signer)
	good := env.Build(t)
	untrusted := env
	untrusted.Signer = pki.Untrusted
	lf := env
	lf.LF = true
	expiring := env
	expiring.Signer = pki.CA.NewSignerValid(t, "Gestore PEC - certificato in scadenza", pectest.ProviderAddress,
		pectest.NotBefore, time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC))

	onePart := bytes.Replace(good, []byte("Content-Type: application/pkcs7-signature;"), []byte("Content-Type: application/octet-stream;"), 1)
	onePart = bytes.Replace(onePart, []byte(`filename="smime.p7s"`), []byte(`filename="firma.bin"`), 1)
	garbage := bytes.Replace(good, []byte("Content-Description: S/MIME Cryptographic Signature\r\n\r\nMII"), []byte("Content-Description: S/MIME Cryptographic Signature\r\n\r\nAAA"), 1)

	tests := []struct {
		name     string
		raw      []byte
		opts     pec.Options
		signed   bool
		verified bool
		nilSig   bool
		errMsg   string
		signer   string
	}{
		{name: "trusted", raw: good, opts: verifyOpts(pki), signed: true, verified: true, signer: "Gestore PEC di Prova - firma ricevute"},
		{name: "untrusted CA", raw: untrusted.Build(t), opts: verifyOpts(pki), signed: true, errMsg: "certificate signed by unknown authority", signer: "Gestore PEC Contraffatto"},
		{name: "tampered after signing", raw: pectest.Tamper(good), opts: verifyOpts(pki), signed: true, errMsg: "digest mismatch", signer: "Gestore PEC di Prova - firma ricevute"},
		{name: "tampered LF copy", raw: pectest.Tamper(lf.Build(t)), opts: verifyOpts(pki), signed: true, errMsg: "digest mismatch"},
		{name: "LF line ends still verify", raw: lf.Build(t), opts: verifyOpts(pki), signed: true, verified: true},
		{name: "valid at Now", raw: expiring.Build(t), opts: verifyOpts(pki), signed: true, verified: true},
		{name: "expired at Now", raw: expiring.Build(t), opts: pec.Options{TrustAnchors: pki.CA.Pool(), Now: func() time.Time { return time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC) }}, signed: true, errMsg: "expired"},
		{name: "not yet valid at Now", raw: good, opts: pec.Options{TrustAnchors: pki.CA.Pool(), Now: func() time.Time { return time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC) }}, signed: true, errMsg: "certificate"},
		{name: "no trust anchors", raw: good, opts: pec.Options{}, signed: true, nilSig: true},
		{name: "unsigned", raw: pectest.Envelope(nil).Build(t), opts: verifyOpts(pki), nilSig: true},
		{name: "signature part missing", raw: onePart, opts: verifyOpts(pki), signed: true, errMsg: "without an application/pkcs7-signature part"},
		{name: "garbage signature", raw: garbage, opts: verifyOpts(pki), signed: true, errMsg: "smime.p7s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.raw == nil {
				t.Fatal("fixture not built")
			}
			p, err := pec.Parse(tt.raw, tt.opts)
			if err != nil {
				t.Fatalf("a signature problem must not fail Parse: %v", err)
			}
			if p.Daticert == nil || p.Original == nil {
				t.Errorf("content not taken apart: %+v", p)
			}
			if p.Signed != tt.signed {
				t.Errorf("Signed = %v, want %v", p.Signed, tt.signed)
			}
			if tt.nilSig {
				if p.Signature != nil {
					t.Errorf("Signature = %+v, want nil", p.Signature)
				}
				return
			}
			s := p.Signature
			if s == nil {
				t.Fatal("Signature = nil")
			}
			if s.Verified != tt.verified {
				t.Errorf("Verified = %v (%s), want %v", s.Verified, s.Err, tt.verified)
			}
			if tt.verified != (s.Err == "") {
				t.Errorf("Err = %q with Verified = %v", s.Err, s.Verified)
			}
			if !strings.Contains(s.Err, tt.errMsg) {
				t.Errorf("Err = %q, want it to mention %q", s.Err, tt.errMsg)
			}
			if tt.signer != "" && s.Signer != tt.signer {
				t.Errorf("Signer = %q, want %q", s.Signer, tt.signer)
			}
		})
	}
}

// The fixtures Parse must reject, and malformed input built by hand: each
// gives the expected typed error and still reports what it claimed to be.
func TestParseMalformed(t *testing.T) {
	pki := pectest.NewPKI(t)
	type tc struct {
		name string
		raw  []byte
		want error
		kind pec.Kind
	}
	var tests []tc
	for _, c := range pectest.Malformed(pki.Signer) {
		tests = append(tests, tc{c.Name, c.Message.Build(t), c.WantErr, c.Message.Kind})
	}

	unsigned := pectest.Envelope(nil).Build(t)
	twoDaticert := bytes.Replace(unsigned, []byte("Content-Type: message/rfc822; name=\"postacert.eml\"\r\nContent-Disposition: inline; filename=\"postacert.eml\""),
		[]byte("Content-Type: application/xml\r\nContent-Disposition: inline; filename=\"daticert.xml\""), 1)
	badB64 := bytes.Replace(unsigned, []byte("Content-Transfer-Encoding: base64\r\n\r\nPD94"), []byte("Content-Transfer-Encoding: base64\r\n\r\n!!!!PD94"), 1)
	noBoundary := bytes.Replace(unsigned, []byte(`Content-Type: multipart/mixed; boundary="----=_Part_mix_envelope_1770885000"`), []byte("Content-Type: multipart/mixed"), 1)
	wrongBoundary := bytes.Replace(unsigned, []byte(`boundary="----=_Part_mix_envelope_1770885000"`), []byte(`boundary="altro"`), 1)
	truncated := unsigned[:bytes.Index(unsigned, []byte("Content-Type: message/rfc822"))]
	emptyPostacert := bytes.Replace(unsigned, pectest.Original(), nil, 1)
	signedNoBoundary := bytes.Replace(pectest.Envelope(pki.Signer).Build(t), []byte("micalg=sha-256;\r\n\tboundary="), []byte("micalg=sha-256;\r\n\tconfine="), 1)

	tests = append(tests,
		tc{"headers only", []byte("X-Trasporto: posta-certificata\r\nSubject: x\r\n"), pec.ErrNoDaticert, pec.KindEnvelope},
		tc{"text body", []byte("X-Ricevuta: accettazione\r\nContent-Type: text/plain\r\n\r\nciao\r\n"), pec.ErrNoDaticert, pec.KindReceipt},
		tc{"two daticert.xml", twoDaticert, pec.ErrMalformed, pec.KindEnvelope},
		tc{"bad base64 daticert", badB64, pec.ErrBadDaticert, pec.KindEnvelope},
		tc{"multipart without boundary", noBoundary, pec.ErrMalformed, pec.KindEnvelope},
		tc{"multipart with a boundary never used", wrongBoundary, pec.ErrMalformed, pec.KindEnvelope},
		tc{"truncated before postacert", truncated, pec.ErrNoPostacert, pec.KindEnvelope},
		tc{"empty postacert", emptyPostacert, pec.ErrNoPostacert, pec.KindEnvelope},
		tc{"multipart/signed without boundary", signedNoBoundary, pec.ErrMalformed, pec.KindEnvelope},
		tc{"opaque signature that is not pkcs7", []byte("X-Ricevuta: accettazione\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nbm9uIMOoIHVuYSBmaXJtYQ==\r\n"), pec.ErrMalformed, pec.KindReceipt},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := pec.Parse(tt.raw, verifyOpts(pki))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if p == nil || p.Kind != tt.kind || p.SHA256 != pec.Evidence(tt.raw) {
				t.Errorf("partial result = %+v, want kind %q and the digest", p, tt.kind)
			}
		})
	}
}

// Ordinary mail is not an error, whatever its structure.
func TestParseOrdinary(t *testing.T) {
	for name, raw := range map[string]string{
		"empty":              "",
		"plain":              "From: a@example.it\r\nSubject: POSTA CERTIFICATA: finta\r\n\r\nciao\r\n",
		"broken multipart":   "Content-Type: multipart/mixed\r\n\r\n--x\r\n",
		"daticert attached":  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Disposition: attachment; filename=daticert.xml\r\n\r\n<x/>\r\n--b--\r\n",
		"broken signed mail": "Content-Type: multipart/signed; boundary=s\r\n\r\nnothing here\r\n",
		"binary":             "\x00\x01\x02\xff\r\n\r\n\xfe",
	} {
		t.Run(name, func(t *testing.T) {
			p, err := pec.Parse([]byte(raw), pec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != pec.KindNone || p.Daticert != nil || p.Original != nil {
				t.Errorf("ordinary mail parsed as %+v", p)
			}
		})
	}
}

// Lenient about layout: other nestings, unnamed or oddly named parts, a
// charset given only by the MIME header, opaque signed-data.
func TestParseLenientLayouts(t *testing.T) {
	pki := pectest.NewPKI(t)
	signed := pectest.Envelope(pki.Signer).Build(t)
	unsigned := pectest.Envelope(nil).Build(t)

	// A multipart/signed nested in an unsigned multipart/mixed.
	i := bytes.Index(signed, []byte("Content-Type: multipart/signed"))
	nested := []byte("X-Trasporto: posta-certificata\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=esterno\r\n\r\n--esterno\r\n")
	nested = append(nested, signed[i:]...)
	nested = append(nested, "\r\n--esterno--\r\n"...)

	// Opaque application/pkcs7-mime signed-data around the same content.
	j := bytes.Index(unsigned, []byte("Content-Type: multipart/mixed"))
	sd, err := pkcs7.NewSignedData(unsigned[j:])
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(pki.Signer.Cert, pki.Signer.Key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	opaque := append([]byte("X-Trasporto: posta-certificata\r\nX-Riferimento-Message-ID: <"+pectest.OriginalMessageID+">\r\n"+
		"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n"),
		[]byte(base64.StdEncoding.EncodeToString(der)+"\r\n")...)

	renamed := strings.NewReplacer(
		`Content-Type: application/xml; name="daticert.xml"`, `Content-Type: application/octet-stream; name="DatiCert.XML"`,
		`Content-Disposition: inline; filename="daticert.xml"`, `Content-Disposition: attachment; filename*=UTF-8''DatiCert.XML`,
	).Replace(string(unsigned))
	unnamed := strings.NewReplacer(
		`Content-Type: application/xml; name="daticert.xml"`, `Content-Type: text/xml`,
		"Content-Disposition: inline; filename=\"daticert.xml\"\r\n", "",
		`Content-Type: message/rfc822; name="postacert.eml"`, `Content-Type: message/rfc822`,
		"Content-Disposition: inline; filename=\"postacert.eml\"\r\n", "",
	).Replace(string(unsigned))

	latinNoDecl := pectest.Envelope(nil)
	latinNoDecl.Daticert = pectest.LatinDaticert()
	x, err := pectest.DaticertXML(latinNoDecl.Daticert, "ISO-8859-1")
	if err != nil {
		t.Fatal(err)
	}
	latinNoDecl.DaticertXML = x[bytes.Index(x, []byte("?>"))+2:]
	latinNoDecl.DaticertContentType = `application/xml; charset="ISO-8859-1"; name="daticert.xml"`

	tests := []struct {
		name     string
		raw      []byte
		verified bool
		oggetto  string
	}{
		{"signed nested in mixed", nested, true, pectest.OriginalSubject},
		{"opaque signed-data", opaque, true, pectest.OriginalSubject},
		{"renamed parts", []byte(renamed), false, pectest.OriginalSubject},
		{"unnamed parts", []byte(unnamed), false, pectest.OriginalSubject},
		{"charset only in MIME header", latinNoDecl.Build(t), false, pectest.LatinDaticert().Oggetto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := pec.Parse(tt.raw, verifyOpts(pki))
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != pec.KindEnvelope || p.Daticert.Oggetto != tt.oggetto || !bytes.Equal(p.Original, pectest.Original()) {
				t.Errorf("kind %q oggetto %q original %q", p.Kind, p.Daticert.Oggetto, head(p.Original))
			}
			if tt.verified && (p.Signature == nil || !p.Signature.Verified) {
				t.Errorf("signature = %+v", p.Signature)
			}
			if !tt.verified && p.Signed {
				t.Errorf("Signed = true")
			}
		})
	}
}

func TestEvidence(t *testing.T) {
	if got := pec.Evidence(nil); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("Evidence(nil) = %s", got)
	}
	if got := pec.Evidence([]byte("abc")); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Evidence(abc) = %s", got)
	}
}

// A certified message that itself carries a PEC message (a forwarded
// receipt) as postacert.eml: the inner daticert.xml belongs to the
// original and must not be taken for the envelope's.
func TestParseDoesNotLookInsideOriginal(t *testing.T) {
	pki := pectest.NewPKI(t)
	m := pectest.Envelope(pki.Signer)
	m.Postacert = pectest.Receipt(pec.ReceiptErroreConsegna, pki.Signer).Build(t)
	p, err := pec.Parse(m.Build(t), verifyOpts(pki))
	if err != nil {
		t.Fatal(err)
	}
	assertDaticert(t, "outer daticert", p.Daticert, pectest.EnvelopeDaticert())

	// The same with an envelope inside an envelope: same kind, same date,
	// the builder must still pick boundaries that do not collide.
	m.Postacert = pectest.Envelope(pki.Signer).Build(t)
	p, err = pec.Parse(m.Build(t), verifyOpts(pki))
	if err != nil {
		t.Fatal(err)
	}
	assertDaticert(t, "outer daticert", p.Daticert, pectest.EnvelopeDaticert())
	if !bytes.Equal(p.Original, m.Postacert) || !p.Signature.Verified {
		t.Errorf("original %q verified %v", head(p.Original), p.Signature.Verified)
	}
}

package pec_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
)

// The hand-written fixtures of testdata/, for readers of the code.
func TestStaticFixtures(t *testing.T) {
	pki := pectest.NewPKI(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("busta-trasporto", func(t *testing.T) {
		p, err := pec.Parse(read("busta-trasporto.eml"), verifyOpts(pki))
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != pec.KindEnvelope || p.Signed || p.Signature != nil {
			t.Errorf("kind %q signed %v %+v", p.Kind, p.Signed, p.Signature)
		}
		if p.RefMessageID != "CAF0x9Z1.stampante@pec.provincia.example.it" || p.Daticert.MsgID != p.RefMessageID {
			t.Errorf("RefMessageID %q msgid %q", p.RefMessageID, p.Daticert.MsgID)
		}
		if p.Daticert.Mittente != "anna.bianchi@pec.provincia.example.it" || p.Daticert.Oggetto != "Stampante guasta all'ufficio protocollo" {
			t.Errorf("daticert %+v", p.Daticert)
		}
		assertData(t, p.Daticert.Data, "2026-03-09T11:02:40+01:00", 3600)
		if !bytes.HasPrefix(p.Original, []byte("Date: Mon, 9 Mar 2026 11:02:38 +0100\n")) ||
			!bytes.HasSuffix(p.Original, []byte("Provincia di Brindisi")) {
			t.Errorf("Original = %q", p.Original)
		}
	})

	t.Run("ricevuta-consegna-breve-iso-8859-1", func(t *testing.T) {
		raw := read("ricevuta-consegna-breve-iso-8859-1.eml")
		p, err := pec.Parse(raw, verifyOpts(pki))
		if err != nil {
			t.Fatal(err)
		}
		want := &pec.Daticert{
			Tipo: "avvenuta-consegna", Errore: "nessuno",
			Mittente: "assistenza@pec.desk.example.it",
			Destinatari: []pec.Recipient{
				{Address: "protocollo@pec.comune.forli.example.it", Kind: "certificato"},
				{Address: "sindaco@comune.forli.example.it", Kind: "esterno"},
			},
			Risposte:         "assistenza@pec.desk.example.it",
			Oggetto:          "Re: [2026-000140] Attività di manutenzione: perché il server è già spento?",
			GestoreEmittente: "Gestore PEC della Città S.p.A.",
			Data:             p.Daticert.Data,
			Identificativo:   "opec21.20260330084510.33333.07.1.1@pec.gestore.example.it",
			MsgID:            "sportello.2026-000140.2@pec.desk.example.it",
			RicevutaTipo:     "breve",
			Consegna:         "protocollo@pec.comune.forli.example.it",
		}
		assertDaticert(t, "daticert", p.Daticert, want)
		assertData(t, p.Daticert.Data, "2026-03-30T08:45:12+02:00", 7200)
		if p.Receipt != pec.ReceiptAvvenutaConsegna || p.Original != nil || p.RefMessageID != want.MsgID {
			t.Errorf("receipt %q original %v ref %q", p.Receipt, p.Original != nil, p.RefMessageID)
		}
		// The placeholder signature is recorded as present and not verified.
		if !p.Signed || p.Signature == nil || p.Signature.Verified || !strings.Contains(p.Signature.Err, "smime.p7s") {
			t.Errorf("signature %v %+v", p.Signed, p.Signature)
		}
		p, err = pec.Parse(raw, pec.Options{})
		if err != nil || !p.Signed || p.Signature != nil {
			t.Errorf("without trust anchors: %v %v %+v", err, p.Signed, p.Signature)
		}
	})

	t.Run("anomalia", func(t *testing.T) {
		p, err := pec.Parse(read("anomalia.eml"), pec.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != pec.KindAnomaly || p.Daticert != nil || !bytes.Contains(p.Original, []byte("Message-ID: <nl.2026.03@fornitore.example.com>")) {
			t.Errorf("anomaly %+v", p)
		}
	})

	t.Run("non-accettazione", func(t *testing.T) {
		p, err := pec.Parse(read("non-accettazione.eml"), pec.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d := p.Daticert
		if p.Receipt != pec.ReceiptNonAccettazione || !p.Receipt.IsFailure() || d.Errore != "altro" ||
			d.ErroreEsteso != "Messaggio non accettato: dimensione superiore al limite di 30 MB" || len(d.Destinatari) != 2 {
			t.Errorf("receipt %q daticert %+v", p.Receipt, d)
		}
		if p.RefMessageID != "sportello.2026-000131.1@pec.desk.example.it" {
			t.Errorf("RefMessageID = %q, want the msgid fallback", p.RefMessageID)
		}
		assertData(t, d.Data, "2026-03-02T16:05:31+01:00", 3600)
	})
}

package pec_test

import (
	"net/mail"
	"net/textproto"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/mail/pec"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		h    map[string][]string
		want pec.Kind
	}{
		{"ordinary", map[string][]string{"Subject": {"Buongiorno"}}, pec.KindNone},
		{"empty", nil, pec.KindNone},
		{"subject is not a marker", map[string][]string{"Subject": {"POSTA CERTIFICATA: richiesta"}}, pec.KindNone},
		{"receipt subject is not a marker", map[string][]string{"Subject": {"ACCETTAZIONE: richiesta"}}, pec.KindNone},
		{"envelope", map[string][]string{"X-Trasporto": {"posta-certificata"}}, pec.KindEnvelope},
		{"envelope odd case and spaces", map[string][]string{"X-Trasporto": {"  Posta-Certificata "}}, pec.KindEnvelope},
		{"anomaly", map[string][]string{"X-Trasporto": {"errore"}}, pec.KindAnomaly},
		{"unknown trasporto", map[string][]string{"X-Trasporto": {"boh"}}, pec.KindNone},
		{"receipt", map[string][]string{"X-Ricevuta": {"accettazione"}, "X-Riferimento-Message-Id": {"<a@b>"}}, pec.KindReceipt},
		{"receipt wins over trasporto", map[string][]string{"X-Ricevuta": {"avvenuta-consegna"}, "X-Trasporto": {"posta-certificata"}}, pec.KindReceipt},
		{"receipt with empty value", map[string][]string{"X-Ricevuta": {}}, pec.KindReceipt},
		{"non-canonical keys", map[string][]string{"x-trasporto": {"errore"}}, pec.KindAnomaly},
		{"upper-case keys", map[string][]string{"X-RICEVUTA": {"errore-consegna"}}, pec.KindReceipt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pec.Classify(tt.h); got != tt.want {
				t.Errorf("Classify = %q, want %q", got, tt.want)
			}
		})
	}
}

// Classify takes the header types of the standard library and enmime as
// they are.
func TestClassifyHeaderTypes(t *testing.T) {
	msg, err := mail.ReadMessage(strings.NewReader("X-Ricevuta: accettazione\r\nSubject: x\r\n\r\nbody"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pec.Classify(msg.Header); got != pec.KindReceipt {
		t.Errorf("mail.Header: %q", got)
	}
	mh := textproto.MIMEHeader{}
	mh.Set("x-trasporto", "posta-certificata")
	if got := pec.Classify(mh); got != pec.KindEnvelope {
		t.Errorf("textproto.MIMEHeader: %q", got)
	}
}

func TestReceiptTypePredicates(t *testing.T) {
	failures := map[pec.ReceiptType]bool{
		pec.ReceiptNonAccettazione:         true,
		pec.ReceiptErroreConsegna:          true,
		pec.ReceiptPreavvisoErroreConsegna: true,
		pec.ReceiptRilevazioneVirus:        true,
	}
	for _, r := range pec.ReceiptTypes {
		if !r.IsReceipt() {
			t.Errorf("%s.IsReceipt() = false", r)
		}
		if r.IsFailure() != failures[r] {
			t.Errorf("%s.IsFailure() = %v", r, r.IsFailure())
		}
	}
	for _, r := range []pec.ReceiptType{pec.ReceiptPostaCertificata, "", "consegna"} {
		if r.IsReceipt() || r.IsFailure() {
			t.Errorf("%q: IsReceipt %v IsFailure %v", r, r.IsReceipt(), r.IsFailure())
		}
	}
}

package pec_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sportello/sportello/internal/mail/pec"
	"github.com/sportello/sportello/internal/mail/pec/pectest"
)

func FuzzParseDaticert(f *testing.F) {
	f.Add([]byte(handDaticert))
	presets := []*pec.Daticert{pectest.EnvelopeDaticert(), pectest.LatinDaticert()}
	for _, rt := range pec.ReceiptTypes {
		presets = append(presets, pectest.ReceiptDaticert(rt))
	}
	for _, d := range presets {
		for _, cs := range []string{"UTF-8", "ISO-8859-1"} {
			x, err := pectest.DaticertXML(d, cs)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(x)
		}
	}
	f.Add([]byte(`<postacert tipo="accettazione"><intestazione/></postacert>`))
	f.Add([]byte(`<?xml version="1.0" encoding="windows-1252"?><postacert/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := pec.ParseDaticert(b)
		if err != nil {
			if d != nil || !errors.Is(err, pec.ErrBadDaticert) {
				t.Fatalf("err %v with daticert %v", err, d)
			}
			return
		}
		// Whatever parses renders back to the same data.
		x, err := pectest.DaticertXML(d, "UTF-8")
		if err != nil {
			t.Fatal(err)
		}
		again, err := pec.ParseDaticert(x)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, x)
		}
		assertDaticert(t, "round trip", again, d)
	})
}

func FuzzParse(f *testing.F) {
	pki := pectest.NewPKI(f)
	for _, signer := range []*pectest.Signer{pki.Signer, nil} {
		for _, c := range append(pectest.Catalogue(signer), pectest.Malformed(signer)...) {
			f.Add(c.Message.Build(f))
		}
	}
	f.Add(pectest.Tamper(pectest.Receipt(pec.ReceiptAccettazione, pki.Signer).Build(f)))
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("X-Trasporto: posta-certificata\r\nContent-Type: multipart/signed; boundary=s\r\n\r\n--s\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n--m--\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nMA==\r\n--s--\r\n"))
	opts := verifyOpts(pki)
	typed := []error{pec.ErrMalformed, pec.ErrNoDaticert, pec.ErrBadDaticert, pec.ErrNoPostacert, pec.ErrInconsistent}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := pec.Parse(raw, opts)
		if p == nil {
			t.Fatalf("nil result (err %v)", err)
		}
		if err != nil {
			known := false
			for _, e := range typed {
				known = known || errors.Is(err, e)
			}
			if !known || p.Kind == pec.KindNone {
				t.Fatalf("untyped error or error for ordinary mail: kind %q err %v", p.Kind, err)
			}
			return
		}
		switch p.Kind {
		case pec.KindEnvelope:
			if p.Daticert == nil || len(p.Original) == 0 || p.Daticert.Tipo != string(pec.ReceiptPostaCertificata) {
				t.Fatalf("envelope accepted without its parts: %+v", p)
			}
		case pec.KindReceipt:
			if p.Daticert == nil || p.Daticert.Tipo != string(p.Receipt) || !p.Receipt.IsReceipt() {
				t.Fatalf("receipt accepted without matching daticert: %+v", p)
			}
		}
		if p.Signature != nil && p.Signature.Verified == (p.Signature.Err != "") {
			t.Fatalf("inconsistent signature result %+v", p.Signature)
		}
		if p.Signature != nil && p.Signature.Verified && strings.TrimSpace(p.Signature.Signer) == "" {
			t.Fatalf("verified signature without signer")
		}
	})
}

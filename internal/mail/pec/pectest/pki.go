package pectest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
)

// Validity of the certificates made by NewCA and CA.NewSigner. It spans the
// wall clock of any plausible test run (pkcs7 checks the signing time,
// which is the wall clock, against it) and Now.
var (
	NotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	NotAfter  = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Now is a fixed instant at which the default certificates are valid: pass
// it as pec.Options.Now so that tests do not depend on the clock.
var Now = time.Date(2026, 3, 16, 10, 0, 0, 0, time.UTC)

// NowFunc returns Now, for pec.Options.Now.
func NowFunc() time.Time { return Now }

var serial atomic.Int64

// CA is a throw-away certification authority standing for the root of a
// PEC provider (in production, the AgID list of providers).
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Signer is a provider signing certificate and its key.
type Signer struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA makes a self-signed ECDSA P-256 root valid from NotBefore to
// NotAfter.
func NewCA(tb testing.TB, commonName string) *CA {
	tb.Helper()
	ca, err := newCA(commonName)
	if err != nil {
		tb.Fatalf("pectest: %v", err)
	}
	return ca
}

func newCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Sportello test PKI"}, Country: []string{"IT"}},
		NotBefore:             NotBefore,
		NotAfter:              NotAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Pool returns a certificate pool holding only this CA, for
// pec.Options.TrustAnchors.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// NewSigner issues a provider signing certificate (ECDSA P-256, with the
// e-mail protection usage) valid from NotBefore to NotAfter.
func (ca *CA) NewSigner(tb testing.TB, commonName, email string) *Signer {
	tb.Helper()
	return ca.NewSignerValid(tb, commonName, email, NotBefore, NotAfter)
}

// NewSignerValid is NewSigner with an explicit validity period.
func (ca *CA) NewSignerValid(tb testing.TB, commonName, email string, notBefore, notAfter time.Time) *Signer {
	tb.Helper()
	s, err := ca.newSigner(commonName, email, notBefore, notAfter)
	if err != nil {
		tb.Fatalf("pectest: %v", err)
	}
	return s
}

func (ca *CA) newSigner(commonName, email string, notBefore, notAfter time.Time) (*Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(serial.Add(1)),
		Subject:        pkix.Name{CommonName: commonName, Organization: []string{ProviderName}, Country: []string{"IT"}},
		EmailAddresses: []string{email},
		NotBefore:      notBefore,
		NotAfter:       notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("create signer certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Signer{Cert: cert, Key: key}, nil
}

// Sign returns a detached CMS/PKCS#7 signature (DER, SHA-256) over
// content, carrying the signer certificate, as a provider's smime.p7s.
func (s *Signer) Sign(content []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(s.Cert, s.Key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, err
	}
	sd.Detach()
	return sd.Finish()
}

// PKI is the usual test set-up: a provider root CA, the provider's signing
// certificate, and an unrelated CA with its own signer for "untrusted"
// cases.
type PKI struct {
	CA        *CA
	Signer    *Signer
	Untrusted *Signer // issued by another CA, not in CA.Pool()
}

// NewPKI builds a PKI.
func NewPKI(tb testing.TB) *PKI {
	tb.Helper()
	ca := NewCA(tb, "Gestore PEC di Prova Root CA")
	other := NewCA(tb, "Ente Certificatore Sconosciuto CA")
	return &PKI{
		CA:        ca,
		Signer:    ca.NewSigner(tb, "Gestore PEC di Prova - firma ricevute", ProviderAddress),
		Untrusted: other.NewSigner(tb, "Gestore PEC Contraffatto", ProviderAddress),
	}
}

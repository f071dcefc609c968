package pec

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// SignatureResult is the outcome of verifying the provider's S/MIME
// signature. It is evidence, not a verdict on the message: Parse never
// fails because of it.
type SignatureResult struct {
	// Verified is true when the signature matches the signed bytes and the
	// signer certificate chains to Options.TrustAnchors and is valid at
	// Options.Now.
	Verified bool
	// Signer names the signer certificate: its subject common name, else
	// its first e-mail address, else its whole subject. Taken from the
	// signature even when verification fails ("" if unreadable).
	Signer string
	// SignerCert is the signer certificate found in the signature, or nil.
	SignerCert *x509.Certificate
	// Err says why verification failed; "" when Verified.
	Err string
}

// signature is what unwrapSignature learned about the signature.
type signature struct {
	result *SignatureResult // nil unless Options.TrustAnchors is set
}

// unwrapSignature finds the S/MIME signature around the PEC content. The
// provider signature is normally the top-level multipart/signed; it is also
// looked for inside unsigned multiparts (never inside a message/rfc822),
// and an opaque application/pkcs7-mime signed-data is unwrapped too. It
// returns the entity holding the content, the signature (nil if unsigned)
// and an ErrMalformed error when the content cannot be reached.
func unwrapSignature(top *entity, opts Options) (*entity, *signature, error) {
	mt, _ := top.mediaType()
	if mt == "application/pkcs7-mime" || mt == "application/x-pkcs7-mime" {
		return unwrapOpaque(top, opts)
	}
	signed := findSigned(top, 0)
	if signed == nil {
		return top, nil, nil
	}
	sig := &signature{}
	kids, err := signed.children()
	if err != nil || len(kids) == 0 {
		if err == nil {
			err = errors.New("no parts")
		}
		if opts.TrustAnchors != nil {
			sig.result = &SignatureResult{Err: "multipart/signed: " + err.Error()}
		}
		return top, sig, fmt.Errorf("%w: multipart/signed: %v", ErrMalformed, err)
	}
	content := kids[0]
	var sigPart *entity
	for _, k := range kids[1:] {
		kmt, _ := k.mediaType()
		if kmt == "application/pkcs7-signature" || kmt == "application/x-pkcs7-signature" || k.filename() == "smime.p7s" {
			sigPart = k
			break
		}
	}
	if opts.TrustAnchors != nil {
		if sigPart == nil {
			sig.result = &SignatureResult{Err: "multipart/signed without an application/pkcs7-signature part"}
		} else {
			sig.result = verifyDetached(content.raw, sigPart, opts)
		}
	}
	return content, sig, nil
}

// findSigned returns the first multipart/signed entity in depth-first
// order, not descending into message/rfc822 parts.
func findSigned(e *entity, depth int) *entity {
	if depth > maxDepth {
		return nil
	}
	mt, _ := e.mediaType()
	if mt == "multipart/signed" {
		return e
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return nil
	}
	kids, err := e.children()
	if err != nil {
		return nil
	}
	for _, k := range kids {
		if s := findSigned(k, depth+1); s != nil {
			return s
		}
	}
	return nil
}

// unwrapOpaque handles application/pkcs7-mime signed-data, where the
// content travels inside the signature.
func unwrapOpaque(top *entity, opts Options) (*entity, *signature, error) {
	der, err := top.decodedBody()
	if err != nil {
		return top, nil, fmt.Errorf("%w: application/pkcs7-mime: %v", ErrMalformed, err)
	}
	p7, err := parsePKCS7(der)
	if err != nil {
		return top, nil, fmt.Errorf("%w: application/pkcs7-mime: %v", ErrMalformed, err)
	}
	if len(p7.Content) == 0 || len(p7.Signers) == 0 {
		return top, nil, fmt.Errorf("%w: application/pkcs7-mime is not signed-data with content", ErrMalformed)
	}
	sig := &signature{}
	if opts.TrustAnchors != nil {
		res := &SignatureResult{}
		res.setSigner(p7)
		if err := verifyPKCS7(p7, opts); err != nil {
			res.Err = err.Error()
		} else {
			res.Verified = true
		}
		sig.result = res
	}
	return parseEntity(p7.Content), sig, nil
}

// verifyDetached verifies a detached signature over the exact bytes of the
// signed entity. Signatures are computed over the CRLF canonical form; if
// the message was stored with bare LF line ends, that form is tried too.
func verifyDetached(content []byte, sigPart *entity, opts Options) *SignatureResult {
	res := &SignatureResult{}
	der, err := sigPart.decodedBody()
	if err != nil {
		res.Err = "smime.p7s: " + err.Error()
		return res
	}
	p7, err := parsePKCS7(der)
	if err != nil {
		res.Err = "smime.p7s: " + err.Error()
		return res
	}
	res.setSigner(p7)
	p7.Content = content
	err = verifyPKCS7(p7, opts)
	if err != nil && hasBareLF(content) {
		p7.Content = toCRLF(content)
		if verifyPKCS7(p7, opts) == nil {
			err = nil
		}
	}
	if err != nil {
		res.Err = err.Error()
		return res
	}
	res.Verified = true
	return res
}

// parsePKCS7 is pkcs7.Parse, shielded from panics on hostile DER.
func parsePKCS7(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("pkcs7: unparseable signature (%v)", r)
		}
	}()
	return pkcs7.Parse(der)
}

// verifyPKCS7 checks every signer against the trust anchors at opts.Now,
// shielded from panics on hostile DER.
func verifyPKCS7(p7 *pkcs7.PKCS7, opts Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pkcs7: verification failed (%v)", r)
		}
	}()
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	return p7.VerifyWithChainAtTime(opts.TrustAnchors, now())
}

// setSigner records the signer certificate, when it can be identified.
func (r *SignatureResult) setSigner(p7 *pkcs7.PKCS7) {
	var cert *x509.Certificate
	func() {
		defer func() { _ = recover() }()
		cert = p7.GetOnlySigner()
	}()
	if cert == nil {
		return
	}
	r.SignerCert = cert
	switch {
	case cert.Subject.CommonName != "":
		r.Signer = cert.Subject.CommonName
	case len(cert.EmailAddresses) > 0:
		r.Signer = cert.EmailAddresses[0]
	default:
		r.Signer = cert.Subject.String()
	}
}

func hasBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// toCRLF turns every bare LF into CRLF.
func toCRLF(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/32)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out.WriteByte('\r')
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

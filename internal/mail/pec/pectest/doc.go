// Package pectest builds realistic PEC messages for tests, at test time,
// following the specification (DM 2 Nov 2005, RFC 6109) rather than
// copying real mail: a throw-away CA and provider signing certificate
// (ECDSA P-256, crypto/x509), detached S/MIME signatures made with
// github.com/smallstep/pkcs7, daticert.xml rendered from a pec.Daticert,
// and the MIME layout providers use.
//
// Typical use, in the tests of the PEC parser or of the mail intake:
//
//	pki := pectest.NewPKI(t)
//	raw := pectest.Envelope(pki.Signer).Build(t)
//	p, err := pec.Parse(raw, pec.Options{TrustAnchors: pki.CA.Pool(), Now: pectest.NowFunc})
//
// Envelope, Anomaly, Receipt and DeliveryReceipt return a Message with
// every field filled from the constants of this package (Citizen writes to
// DeskPEC; the receipts certify our reply Outbound); change fields to make
// variants, or take the ready-made lists Catalogue (valid messages) and
// Malformed (messages Parse must reject, with the error expected). Tamper
// alters a signed message; PKI.Untrusted signs with a CA outside the pool.
//
// Everything is deterministic except keys and signatures. Certificates are
// valid from NotBefore to NotAfter; use Now (NowFunc) as the verification
// time.
package pectest

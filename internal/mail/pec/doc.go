// Package pec classifies and takes apart PEC (Posta Elettronica
// Certificata) messages: the Italian certified e-mail of DPR 68/2005 and
// DM 2 Nov 2005, described in English by RFC 6109.
//
// A PEC mailbox receives three kinds of provider-made messages, told apart
// by their top-level headers only (Classify):
//
//   - transport envelopes (X-Trasporto: posta-certificata): the real
//     message is the enclosed postacert.eml, the certification data is
//     daticert.xml;
//   - anomaly envelopes (X-Trasporto: errore): ordinary mail wrapped by
//     the provider, with no legal value;
//   - receipts and notices (X-Ricevuta: tipo): they certify a message we
//     sent (X-Riferimento-Message-ID) and never open a ticket.
//
// The MIME layout is multipart/signed (the provider's S/MIME signature)
// around a multipart/mixed holding a human notice (multipart/alternative),
// daticert.xml and, for envelopes and "completa" delivery receipts,
// postacert.eml (message/rfc822). Parse follows that layout leniently
// (unsigned messages, other nestings, legacy x-pkcs7 media types, LF line
// ends) and is strict about what makes a PEC message usable: malformed
// input yields an error wrapping ErrMalformed, ErrNoDaticert,
// ErrBadDaticert, ErrNoPostacert or ErrInconsistent, so that the caller can
// quarantine it. Nothing panics and the raw bytes are never modified;
// Evidence gives the SHA-256 the caller stores next to them.
//
// The package is pure: no database, no network, no clock unless
// Options.Now is left nil. CheckOutgoing and Recipients check the rules of
// replies sent through a PEC mailbox. Test messages that follow the
// specification, signed by a test CA, are built by package pectest.
package pec

// Package parse turns the raw bytes of an Internet message (RFC 5322 / MIME)
// into a clean, domain-neutral [Message]: decoded addresses and subject,
// thread identifiers, a plain-text body, sanitised HTML, attachments, the
// reason the message is automatic (out-of-office, bounce, mailing list…) and,
// for delivery status notifications, which of our messages bounced.
//
// The package is pure: no database, no network, no shared mutable state. It is
// used by the IMAP intake worker and by PEC handling, and is safe for
// concurrent use.
//
// # Failure model
//
// [Parse] never panics on any input. Input it cannot make sense of is
// rejected with an error wrapping [ErrMalformed] (no header block, no From
// address, MIME structure enmime cannot read, pathological nesting) or
// [ErrTooLarge]; the caller keeps the raw bytes and quarantines them with
// err.Error() as the reason. Problems that do not prevent a useful result
// (an unknown charset, a missing closing boundary, corrupt base64 in one
// part) are reported in [Message.Warnings] instead.
//
// # HTML
//
// [Message.HTML] is always sanitised with [Sanitize]: an allow-list policy
// without scripts, event handlers, forms, frames, javascript: URLs or remote
// images. It is safe to insert into a page, though it should still be shown
// in a sandboxed iframe as defence in depth.
//
// # Helpers for threading
//
// [NormalizeSubject], [FindTicketRef] and [StripQuoted] help the caller match
// replies to tickets and keep only the new part of a reply.
package parse

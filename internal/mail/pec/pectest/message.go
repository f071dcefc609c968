package pectest

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/sportello/sportello/internal/mail/pec"
)

// Header is one extra top-level header line.
type Header struct{ Name, Value string }

// Message describes a provider-made PEC message. Build renders it as the
// provider would: top-level headers, then (when Signer is set) a
// multipart/signed whose first part is a multipart/mixed holding the notice
// (multipart/alternative, text and HTML), daticert.xml and postacert.eml,
// and whose second part is smime.p7s. Without a Signer the multipart/mixed
// is the top-level body.
//
// The presets (Envelope, Anomaly, Receipt, DeliveryReceipt) fill every
// field; tests change what they need.
type Message struct {
	// Kind decides the marker headers: X-Trasporto: posta-certificata for
	// envelopes, X-Trasporto: errore for anomalies, X-Ricevuta for
	// receipts. KindNone writes neither.
	Kind pec.Kind
	// Receipt is the X-Ricevuta value; "" means Daticert.Tipo.
	Receipt pec.ReceiptType
	// TipoRicevuta, when set, is written as X-TipoRicevuta (delivery
	// receipts: completa, breve, sintetica).
	TipoRicevuta string

	From, To, ReplyTo, Subject, MessageID string // MessageID without < >
	Date                                  time.Time
	// RiferimentoMessageID is X-Riferimento-Message-ID without < >; ""
	// omits the header.
	RiferimentoMessageID string
	ExtraHeaders         []Header

	// Notice is the plain-text human notice; "" generates the Italian
	// text of the provider for Kind and Daticert. Generated notices
	// contain NoticeMarker, which Tamper alters.
	Notice string

	// Daticert is rendered to daticert.xml; with Daticert and DaticertXML
	// both nil there is no daticert.xml part.
	Daticert *pec.Daticert
	// DaticertXML, when non-nil, is used verbatim instead of rendering
	// Daticert (broken XML, odd encodings).
	DaticertXML []byte
	// DaticertCharset is the encoding of the rendered daticert: "" or
	// "UTF-8", or "ISO-8859-1".
	DaticertCharset string
	// DaticertEncoding is the Content-Transfer-Encoding of daticert.xml:
	// "" or "base64", "quoted-printable", "8bit".
	DaticertEncoding string
	// DaticertContentType replaces `application/xml; name="daticert.xml"`.
	DaticertContentType string

	// Postacert is the enclosed message (postacert.eml, message/rfc822);
	// nil means no such part. Use CRLF line ends.
	Postacert []byte

	// Signer signs the content (detached S/MIME); nil builds an unsigned
	// multipart/mixed message.
	Signer *Signer
	// LegacySignatureType writes application/x-pkcs7-signature instead
	// of application/pkcs7-signature.
	LegacySignatureType bool
	// LF converts the finished message to bare LF line ends, as some
	// stores and tools save mail (the signature was made over CRLF).
	LF bool
}

// Build renders the message, failing the test on error.
func (m Message) Build(tb testing.TB) []byte {
	tb.Helper()
	b, err := m.Bytes()
	if err != nil {
		tb.Fatalf("pectest: build %s message: %v", m.Kind, err)
	}
	return b
}

// Bytes renders the message.
func (m Message) Bytes() ([]byte, error) {
	inner, err := m.content()
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	m.writeTopHeaders(&out)
	if m.Signer == nil {
		out.Write(inner)
	} else {
		sig, err := m.Signer.Sign(inner)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		sigType := "application/pkcs7-signature"
		if m.LegacySignatureType {
			sigType = "application/x-pkcs7-signature"
		}
		b := boundary("sig", m)
		fmt.Fprintf(&out, "Content-Type: multipart/signed; protocol=\"%s\"; micalg=sha-256;\r\n\tboundary=\"%s\"\r\n\r\n", sigType, b)
		out.WriteString("This is an S/MIME signed message\r\n\r\n")
		fmt.Fprintf(&out, "--%s\r\n", b)
		out.Write(inner)
		fmt.Fprintf(&out, "\r\n--%s\r\n", b)
		fmt.Fprintf(&out, "Content-Type: %s; name=\"smime.p7s\"\r\n", sigType)
		out.WriteString("Content-Transfer-Encoding: base64\r\n")
		out.WriteString("Content-Disposition: attachment; filename=\"smime.p7s\"\r\n")
		out.WriteString("Content-Description: S/MIME Cryptographic Signature\r\n\r\n")
		out.WriteString(base64Lines(sig))
		fmt.Fprintf(&out, "\r\n--%s--\r\n", b)
	}
	if m.LF {
		return bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), []byte("\n")), nil
	}
	return out.Bytes(), nil
}

// boundary returns a deterministic boundary that cannot occur in base64 or
// QP text, lengthened until no line of the enclosed message starts with it
// (a PEC message enclosed in another built with the same kind and date).
func boundary(what string, m Message) string {
	b := fmt.Sprintf("----=_Part_%s_%s_%d", what, strings.ReplaceAll(string(m.Kind), "-", ""), m.Date.Unix())
	for bytes.Contains(m.Postacert, []byte("--"+b)) || bytes.Contains(m.DaticertXML, []byte("--"+b)) {
		b += "_"
	}
	return b
}

func (m Message) writeTopHeaders(out *bytes.Buffer) {
	h := func(name, value string) {
		if value != "" {
			fmt.Fprintf(out, "%s: %s\r\n", name, value)
		}
	}
	h("Received", "from "+providerHost+" (localhost [127.0.0.1]) by "+providerHost+" with ESMTPS; "+m.Date.Format(time.RFC1123Z))
	if !m.Date.IsZero() {
		h("Date", m.Date.Format(time.RFC1123Z))
	}
	h("From", m.From)
	h("To", m.To)
	h("Reply-To", m.ReplyTo)
	h("Subject", mime.QEncoding.Encode("UTF-8", m.Subject))
	if m.MessageID != "" {
		h("Message-ID", "<"+m.MessageID+">")
	}
	switch m.Kind {
	case pec.KindEnvelope:
		h("X-Trasporto", "posta-certificata")
	case pec.KindAnomaly:
		h("X-Trasporto", "errore")
	case pec.KindReceipt:
		r := string(m.Receipt)
		if r == "" && m.Daticert != nil {
			r = m.Daticert.Tipo
		}
		fmt.Fprintf(out, "X-Ricevuta: %s\r\n", r)
	}
	h("X-TipoRicevuta", m.TipoRicevuta)
	if m.RiferimentoMessageID != "" {
		h("X-Riferimento-Message-ID", "<"+m.RiferimentoMessageID+">")
	}
	for _, x := range m.ExtraHeaders {
		h(x.Name, x.Value)
	}
	h("MIME-Version", "1.0")
}

// content renders the multipart/mixed entity that the provider signs.
func (m Message) content() ([]byte, error) {
	var out bytes.Buffer
	mix := boundary("mix", m)
	alt := boundary("alt", m)
	fmt.Fprintf(&out, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", mix)
	out.WriteString("This is a multi-part message in MIME format.\r\n")

	notice := m.Notice
	if notice == "" {
		notice = m.generatedNotice()
	}
	fmt.Fprintf(&out, "--%s\r\nContent-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", mix, alt)
	fmt.Fprintf(&out, "--%s\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", alt)
	out.WriteString(qp([]byte(crlf(notice))))
	fmt.Fprintf(&out, "\r\n--%s\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", alt)
	out.WriteString(qp([]byte(noticeHTML(notice))))
	fmt.Fprintf(&out, "\r\n--%s--\r\n", alt)

	if m.Daticert != nil || m.DaticertXML != nil {
		data := m.DaticertXML
		if data == nil {
			var err error
			if data, err = DaticertXML(m.Daticert, m.DaticertCharset); err != nil {
				return nil, err
			}
		}
		ct := m.DaticertContentType
		if ct == "" {
			ct = `application/xml; name="daticert.xml"`
		}
		fmt.Fprintf(&out, "\r\n--%s\r\nContent-Type: %s\r\nContent-Disposition: inline; filename=\"daticert.xml\"\r\n", mix, ct)
		switch strings.ToLower(m.DaticertEncoding) {
		case "", "base64":
			out.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
			out.WriteString(base64Lines(data))
		case "quoted-printable":
			out.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
			out.WriteString(qp(data))
		case "8bit":
			out.WriteString("Content-Transfer-Encoding: 8bit\r\n\r\n")
			out.Write(bytes.TrimRight(data, "\r\n"))
		default:
			return nil, fmt.Errorf("unknown daticert encoding %q", m.DaticertEncoding)
		}
	}
	if m.Postacert != nil {
		fmt.Fprintf(&out, "\r\n--%s\r\nContent-Type: message/rfc822; name=\"postacert.eml\"\r\nContent-Disposition: inline; filename=\"postacert.eml\"\r\n\r\n", mix)
		out.Write(m.Postacert)
	}
	fmt.Fprintf(&out, "\r\n--%s--\r\n", mix)
	return out.Bytes(), nil
}

// DaticertXML renders d as daticert.xml in the given charset ("" or
// "UTF-8", or "ISO-8859-1"), the way providers write it: msgid escaped as
// &lt;…&gt;, data split into giorno, ora and zona. Empty optional elements
// are left out.
func DaticertXML(d *pec.Daticert, charset string) ([]byte, error) {
	if d == nil {
		return nil, errors.New("nil daticert")
	}
	enc := "UTF-8"
	latin1 := false
	switch strings.ToUpper(charset) {
	case "", "UTF-8":
	case "ISO-8859-1", "LATIN1":
		enc, latin1 = "ISO-8859-1", true
	default:
		return nil, fmt.Errorf("unsupported daticert charset %q", charset)
	}
	var b strings.Builder
	el := func(indent, name, value string) {
		b.WriteString(indent + "<" + name + ">" + esc(value) + "</" + name + ">\n")
	}
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"%s\"?>\n", enc)
	b.WriteString(`<postacert tipo="` + esc(d.Tipo) + `"`)
	if d.Errore != "" {
		b.WriteString(` errore="` + esc(d.Errore) + `"`)
	}
	b.WriteString(">\n  <intestazione>\n")
	el("    ", "mittente", d.Mittente)
	for _, r := range d.Destinatari {
		b.WriteString(`    <destinatari tipo="` + esc(r.Kind) + `">` + esc(r.Address) + "</destinatari>\n")
	}
	el("    ", "risposte", d.Risposte)
	if d.Oggetto != "" {
		el("    ", "oggetto", d.Oggetto)
	}
	b.WriteString("  </intestazione>\n  <dati>\n")
	el("    ", "gestore-emittente", d.GestoreEmittente)
	fmt.Fprintf(&b, "    <data zona=\"%s\">\n", d.Data.Format("-0700"))
	el("      ", "giorno", d.Data.Format("02/01/2006"))
	el("      ", "ora", d.Data.Format("15:04:05"))
	b.WriteString("    </data>\n")
	el("    ", "identificativo", d.Identificativo)
	if d.MsgID != "" {
		el("    ", "msgid", "<"+d.MsgID+">")
	}
	if d.RicevutaTipo != "" {
		b.WriteString(`    <ricevuta tipo="` + esc(d.RicevutaTipo) + "\" />\n")
	}
	if d.Consegna != "" {
		el("    ", "consegna", d.Consegna)
	}
	for _, r := range d.Ricezione {
		el("    ", "ricezione", r)
	}
	if d.ErroreEsteso != "" {
		el("    ", "errore-esteso", d.ErroreEsteso)
	}
	b.WriteString("  </dati>\n</postacert>\n")
	if latin1 {
		out, err := charmap.ISO8859_1.NewEncoder().String(b.String())
		if err != nil {
			return nil, fmt.Errorf("daticert not representable in ISO-8859-1: %w", err)
		}
		return []byte(out), nil
	}
	return []byte(b.String()), nil
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Tamper returns a copy of raw with the first NoticeMarker changed, as if
// the signed notice had been altered in transit: the signature no longer
// matches. It returns nil when raw holds no NoticeMarker.
func Tamper(raw []byte) []byte {
	i := bytes.Index(raw, []byte(NoticeMarker))
	if i < 0 {
		return nil
	}
	out := bytes.Clone(raw)
	out[i+3] = 'G' // "Il giorno" -> "Il Giorno"
	return out
}

func base64Lines(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	out.WriteString(s)
	return out.String()
}

func qp(b []byte) string {
	var out bytes.Buffer
	w := quotedprintable.NewWriter(&out)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.String()
}

// crlf normalises line ends to CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func noticeHTML(notice string) string {
	var b strings.Builder
	b.WriteString("<html><head><meta charset=\"UTF-8\"><title>Notifica PEC</title></head><body>\r\n")
	for _, line := range strings.Split(strings.ReplaceAll(notice, "\r\n", "\n"), "\n") {
		b.WriteString("<p>" + esc(line) + "</p>\r\n")
	}
	b.WriteString("</body></html>\r\n")
	return b.String()
}

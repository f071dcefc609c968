package pec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// DataLayout is the layout of the daticert timestamp once its parts are
// joined as "giorno ora zona".
const DataLayout = "02/01/2006 15:04:05 -0700"

// Recipient is one daticert destinatari element.
type Recipient struct {
	Address string // as written by the provider, trimmed
	Kind    string // "certificato" (a PEC mailbox) or "esterno" (ordinary mail)
}

// Recipient kinds (destinatari@tipo).
const (
	RecipientCertificato = "certificato"
	RecipientEsterno     = "esterno"
)

// Error codes of postacert@errore.
const (
	ErroreNessuno   = "nessuno"
	ErroreNoDominio = "no-dominio"
	ErroreNoDest    = "no-dest"
	ErroreVirus     = "virus"
	ErroreAltro     = "altro"
)

// Delivery receipt sub-types (ricevuta@tipo).
const (
	RicevutaCompleta  = "completa"
	RicevutaBreve     = "breve"
	RicevutaSintetica = "sintetica"
)

// Daticert is the certification data of a PEC message (daticert.xml),
// field by field. String values are trimmed of surrounding white space;
// nothing else is changed.
type Daticert struct {
	Tipo   string // postacert@tipo: a ReceiptType value, "posta-certificata" for envelopes
	Errore string // postacert@errore: nessuno (the default) | no-dominio | no-dest | virus | altro

	Mittente    string      // intestazione/mittente
	Destinatari []Recipient // intestazione/destinatari, one per element, in order (1..n)
	Risposte    string      // intestazione/risposte (Reply-To of the original)
	Oggetto     string      // intestazione/oggetto (subject of the original)

	GestoreEmittente string    // dati/gestore-emittente: the provider that issued the document
	Data             time.Time // dati/data: giorno + ora in the zone of data@zona
	Identificativo   string    // dati/identificativo: the provider's message identifier
	MsgID            string    // dati/msgid: Message-ID of the original, without < >
	RicevutaTipo     string    // dati/ricevuta@tipo: completa | breve | sintetica ("" when absent)
	Consegna         string    // dati/consegna: the recipient this receipt is about
	Ricezione        []string  // dati/ricezione (0..n)
	ErroreEsteso     string    // dati/errore-esteso: the provider's error text
}

// Recipient returns the recipient a per-recipient receipt (delivery, error,
// delay warning) is about, or "" when the receipt concerns all recipients.
func (d *Daticert) Recipient() string { return d.Consegna }

// xmlDaticert mirrors the daticert DTD for encoding/xml.
type xmlDaticert struct {
	XMLName      xml.Name `xml:"postacert"`
	Tipo         *string  `xml:"tipo,attr"`
	Errore       *string  `xml:"errore,attr"`
	Intestazione *struct {
		Mittente    *string `xml:"mittente"`
		Destinatari []struct {
			Tipo  string `xml:"tipo,attr"`
			Value string `xml:",chardata"`
		} `xml:"destinatari"`
		Risposte string `xml:"risposte"`
		Oggetto  string `xml:"oggetto"`
	} `xml:"intestazione"`
	Dati *struct {
		GestoreEmittente string `xml:"gestore-emittente"`
		Data             *struct {
			Zona   string `xml:"zona,attr"`
			Giorno string `xml:"giorno"`
			Ora    string `xml:"ora"`
		} `xml:"data"`
		Identificativo string `xml:"identificativo"`
		MsgID          string `xml:"msgid"`
		Ricevuta       *struct {
			Tipo *string `xml:"tipo,attr"`
		} `xml:"ricevuta"`
		Consegna     string   `xml:"consegna"`
		Ricezione    []string `xml:"ricezione"`
		ErroreEsteso string   `xml:"errore-esteso"`
	} `xml:"dati"`
}

// ParseDaticert parses a daticert.xml document. The encoding comes from the
// XML declaration (UTF-8 when absent; ISO-8859-1, windows-1252 and the
// other IANA charsets are supported). A document declared (or defaulting
// to) UTF-8 that is not valid UTF-8 is read as ISO-8859-1, a mistake some
// providers make with accented subjects.
//
// The result is validated against the DTD of the technical rules: known
// tipo, errore, destinatari@tipo and ricevuta@tipo values, at least one
// destinatari, mittente, gestore-emittente, identificativo and a valid
// data. Every failure wraps ErrBadDaticert.
func ParseDaticert(b []byte) (*Daticert, error) {
	return parseDaticert(b, "")
}

// parseDaticert is ParseDaticert with the charset of the enclosing MIME
// part, used only when the XML declaration names no encoding.
func parseDaticert(b []byte, mimeCharset string) (d *Daticert, err error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	declared := declaredEncoding(b)
	if declared == "" && mimeCharset != "" && !isUTF8Name(mimeCharset) {
		enc, err := lookupCharset(mimeCharset)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadDaticert, err)
		}
		if b, err = enc.NewDecoder().Bytes(b); err != nil {
			return nil, fmt.Errorf("%w: charset %s: %v", ErrBadDaticert, mimeCharset, err)
		}
	} else if (declared == "" || isUTF8Name(declared)) && !utf8.Valid(b) {
		if b, err = charmap.ISO8859_1.NewDecoder().Bytes(b); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadDaticert, err)
		}
	}

	var x xmlDaticert
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity // &agrave; and friends, seen in hand-made XML
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		enc, err := lookupCharset(label)
		if err != nil {
			return nil, err
		}
		return enc.NewDecoder().Reader(r), nil
	}
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDaticert, err)
	}
	if err := trailingContent(dec); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDaticert, err)
	}
	return x.validate()
}

// trailingContent rejects anything but white space, comments and
// processing instructions after the root element.
func trailingContent(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return errors.New("text after the postacert element")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errors.New("content after the postacert element")
		}
	}
}

func (x *xmlDaticert) validate() (*Daticert, error) {
	bad := func(format string, a ...any) (*Daticert, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrBadDaticert}, a...)...)
	}
	d := &Daticert{}
	if x.Tipo == nil {
		return bad("postacert@tipo missing")
	}
	d.Tipo = strings.TrimSpace(*x.Tipo)
	if t := ReceiptType(d.Tipo); !t.IsReceipt() && t != ReceiptPostaCertificata {
		return bad("unknown postacert@tipo %q", d.Tipo)
	}
	d.Errore = ErroreNessuno
	if x.Errore != nil {
		d.Errore = strings.TrimSpace(*x.Errore)
	}
	switch d.Errore {
	case ErroreNessuno, ErroreNoDominio, ErroreNoDest, ErroreVirus, ErroreAltro:
	default:
		return bad("unknown postacert@errore %q", d.Errore)
	}

	in := x.Intestazione
	if in == nil {
		return bad("intestazione missing")
	}
	if in.Mittente == nil || strings.TrimSpace(*in.Mittente) == "" {
		return bad("intestazione/mittente missing")
	}
	d.Mittente = strings.TrimSpace(*in.Mittente)
	if len(in.Destinatari) == 0 {
		return bad("intestazione/destinatari missing")
	}
	for i, r := range in.Destinatari {
		rec := Recipient{Address: strings.TrimSpace(r.Value), Kind: strings.TrimSpace(r.Tipo)}
		if rec.Address == "" {
			return bad("destinatari #%d is empty", i+1)
		}
		if rec.Kind != RecipientCertificato && rec.Kind != RecipientEsterno {
			return bad("destinatari #%d: unknown tipo %q", i+1, rec.Kind)
		}
		d.Destinatari = append(d.Destinatari, rec)
	}
	d.Risposte = strings.TrimSpace(in.Risposte)
	d.Oggetto = strings.TrimSpace(in.Oggetto)

	da := x.Dati
	if da == nil {
		return bad("dati missing")
	}
	if d.GestoreEmittente = strings.TrimSpace(da.GestoreEmittente); d.GestoreEmittente == "" {
		return bad("dati/gestore-emittente missing")
	}
	if da.Data == nil {
		return bad("dati/data missing")
	}
	t, err := parseData(da.Data.Giorno, da.Data.Ora, da.Data.Zona)
	if err != nil {
		return bad("dati/data: %v", err)
	}
	d.Data = t
	if d.Identificativo = strings.TrimSpace(da.Identificativo); d.Identificativo == "" {
		return bad("dati/identificativo missing")
	}
	d.MsgID = StripAngles(da.MsgID)
	if da.Ricevuta != nil {
		d.RicevutaTipo = RicevutaCompleta // the DTD default
		if da.Ricevuta.Tipo != nil {
			d.RicevutaTipo = strings.TrimSpace(*da.Ricevuta.Tipo)
		}
		switch d.RicevutaTipo {
		case RicevutaCompleta, RicevutaBreve, RicevutaSintetica:
		default:
			return bad("unknown ricevuta@tipo %q", d.RicevutaTipo)
		}
	}
	d.Consegna = strings.TrimSpace(da.Consegna)
	for _, r := range da.Ricezione {
		if r = strings.TrimSpace(r); r != "" {
			d.Ricezione = append(d.Ricezione, r)
		}
	}
	d.ErroreEsteso = strings.TrimSpace(da.ErroreEsteso)
	return d, nil
}

// parseData joins giorno, ora and zona and parses them with DataLayout.
// A zone written as "+01:00" is accepted too.
func parseData(giorno, ora, zona string) (time.Time, error) {
	zona = strings.TrimSpace(zona)
	if len(zona) == 6 && zona[3] == ':' {
		zona = zona[:3] + zona[4:]
	}
	if zona == "" {
		return time.Time{}, errors.New("zona missing")
	}
	s := strings.TrimSpace(giorno) + " " + strings.TrimSpace(ora) + " " + zona
	t, err := time.Parse(DataLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not %q", s, DataLayout)
	}
	return t, nil
}

// StripAngles removes white space and one pair of enclosing angle brackets
// from a Message-ID.
func StripAngles(id string) string {
	id = strings.TrimSpace(id)
	if len(id) >= 2 && id[0] == '<' && id[len(id)-1] == '>' {
		id = strings.TrimSpace(id[1 : len(id)-1])
	}
	return id
}

// declaredEncoding returns the encoding named by the XML declaration, or "".
func declaredEncoding(b []byte) string {
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(b[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	val, _, ok := strings.Cut(rest[1:], string(q))
	if !ok {
		return ""
	}
	return strings.TrimSpace(val)
}

func isUTF8Name(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return s == "utf-8" || s == "utf8" || s == "us-ascii" || s == "ascii"
}

// lookupCharset finds a decoder for a charset label, IANA names first, then
// the WHATWG labels.
func lookupCharset(label string) (encoding.Encoding, error) {
	label = strings.TrimSpace(label)
	if enc, err := ianaindex.IANA.Encoding(label); err == nil && enc != nil {
		return enc, nil
	}
	if enc, err := htmlindex.Get(label); err == nil && enc != nil {
		return enc, nil
	}
	return nil, fmt.Errorf("unsupported charset %q", label)
}

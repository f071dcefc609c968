package pectest

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/sportello/sportello/internal/mail/pec"
)

// The cast of the fixtures. Every address and domain is under example.it.
const (
	providerHost = "smtp.pec.gestore.example.it"

	// ProviderName is gestore-emittente of the sender's provider.
	ProviderName = "Gestore PEC di Prova S.p.A."
	// ProviderAddress is the From of provider-made messages.
	ProviderAddress = "posta-certificata@pec.gestore.example.it"
	// DestProviderName is gestore-emittente of the recipient's provider
	// (presa-in-carico, avvenuta-consegna, rilevazione-virus).
	DestProviderName = "Gestore PEC del Destinatario S.p.A."
	// DestProviderAddress is the From of the recipient's provider.
	DestProviderAddress = "posta-certificata@pec.destinatario.example.it"

	// Citizen is the PEC mailbox of the citizen who writes to the desk.
	Citizen = "mario.rossi@pec.comune.example.it"
	// DeskPEC is the desk's PEC mailbox.
	DeskPEC = "assistenza@pec.desk.example.it"
	// External is an ordinary (non-PEC) recipient of our reply.
	External = "ufficio.tributi@comune.example.it"

	// OriginalMessageID is the Message-ID of Original (the citizen's
	// certified message), without < >.
	OriginalMessageID = "20260212093000.4f2a9c@pec.comune.example.it"
	// OriginalSubject is its subject.
	OriginalSubject = "BDNA - errore di accesso: non riesco più ad entrare"
	// EnvelopeMessageID is the provider's Message-ID of the envelope.
	EnvelopeMessageID = "opec21.20260212093000.12345.01.1.1@pec.gestore.example.it"
	// EnvelopeIdentificativo is daticert identificativo of the envelope.
	EnvelopeIdentificativo = "opec21.20260212093000.12345.01.1.1@pec.gestore.example.it"

	// OutboundMessageID is the Message-ID of our reply (Outbound) that
	// the receipts certify, without < >.
	OutboundMessageID = "sportello.2026-000123.1@pec.desk.example.it"
	// OutboundSubject is its subject.
	OutboundSubject = "Re: [2026-000123] BDNA - errore di accesso"
	// OutboundIdentificativo is daticert identificativo in every receipt
	// about Outbound (assigned by our provider at acceptance).
	OutboundIdentificativo = "opec21.20260615101500.23456.02.1.1@pec.gestore.example.it"

	// NoticeMarker occurs in every generated notice; Tamper alters it.
	NoticeMarker = "Il giorno"
)

var (
	// CET and CEST are the Italian zones as daticert writes them.
	CET  = time.FixedZone("", 3600)
	CEST = time.FixedZone("", 7200)

	// EnvelopeTime is daticert data of the envelope (winter, +0100).
	EnvelopeTime = time.Date(2026, 2, 12, 9, 30, 0, 0, CET)
	// OutboundTime is when our reply was accepted (summer, +0200); the
	// receipts follow it.
	OutboundTime = time.Date(2026, 6, 15, 10, 15, 0, 0, CEST)
)

// Original returns the citizen's message as sent (postacert.eml of
// Envelope): Italian subject and body, a PDF attachment, a Message-ID, CRLF
// line ends.
func Original() []byte {
	return buildOriginal(originalSpec{
		from:      "Mario Rossi <" + Citizen + ">",
		to:        "Servizio di assistenza <" + DeskPEC + ">",
		subject:   OriginalSubject,
		messageID: OriginalMessageID,
		date:      EnvelopeTime.Add(-2 * time.Second),
		body: "Buongiorno,\n" +
			"da ieri non riesco più ad accedere alla BDNA: dopo l'autenticazione\n" +
			"compare l'errore «utente non abilitato» e la sessione si chiude.\n" +
			"Allego la schermata dell'errore.\n\n" +
			"Cordiali saluti,\nMario Rossi\nUfficio Contratti - Comune di Forlì\n",
		attachment: "schermata-errore.pdf",
	})
}

// Outbound returns our reply to the citizen, the message the receipts
// certify (postacert.eml of a "completa" delivery receipt).
func Outbound() []byte {
	return buildOriginal(originalSpec{
		from:      "Servizio di assistenza <" + DeskPEC + ">",
		to:        "Mario Rossi <" + Citizen + ">",
		cc:        External,
		subject:   OutboundSubject,
		messageID: OutboundMessageID,
		inReplyTo: OriginalMessageID,
		date:      OutboundTime.Add(-time.Second),
		body: "Gentile Mario Rossi,\n" +
			"l'utenza è stata riabilitata: può accedere di nuovo alla BDNA.\n" +
			"La preghiamo di confermare la risoluzione rispondendo a questo messaggio.\n\n" +
			"Servizio di assistenza\n",
	})
}

// AnomalyOriginal returns the ordinary message wrapped by Anomaly.
func AnomalyOriginal() []byte {
	return buildOriginal(originalSpec{
		from:      "Offerte <promo@offerte.example.com>",
		to:        DeskPEC,
		subject:   "Offerta imperdibile per la sua amministrazione",
		messageID: "promo.77812@offerte.example.com",
		date:      EnvelopeTime.Add(time.Hour),
		body:      "Gentile cliente,\nsolo per oggi il 50% di sconto sui nostri servizi.\n",
	})
}

type originalSpec struct {
	from, to, cc, subject, messageID, inReplyTo string
	date                                        time.Time
	body                                        string
	attachment                                  string // "" = none
}

func buildOriginal(s originalSpec) []byte {
	var b bytes.Buffer
	h := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", name, value)
		}
	}
	h("Date", s.date.Format(time.RFC1123Z))
	h("From", s.from)
	h("To", s.to)
	h("Cc", s.cc)
	h("Subject", mime.QEncoding.Encode("UTF-8", s.subject))
	h("Message-ID", "<"+s.messageID+">")
	if s.inReplyTo != "" {
		h("In-Reply-To", "<"+s.inReplyTo+">")
		h("References", "<"+s.inReplyTo+">")
	}
	h("MIME-Version", "1.0")
	text := "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp([]byte(crlf(s.body)))
	if s.attachment == "" {
		b.WriteString(text)
		b.WriteString("\r\n")
		return b.Bytes()
	}
	const bnd = "----=_Part_orig_0001"
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", bnd)
	fmt.Fprintf(&b, "--%s\r\n%s\r\n", bnd, text)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/pdf; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", bnd, s.attachment, s.attachment)
	b.WriteString(base64Lines([]byte(fakePDF)))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", bnd)
	return b.Bytes()
}

const fakePDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" +
	"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n" +
	"trailer<</Root 1 0 R>>\n%%EOF\n"

// EnvelopeDaticert returns the certification data of Envelope.
func EnvelopeDaticert() *pec.Daticert {
	return &pec.Daticert{
		Tipo:             string(pec.ReceiptPostaCertificata),
		Errore:           pec.ErroreNessuno,
		Mittente:         Citizen,
		Destinatari:      []pec.Recipient{{Address: DeskPEC, Kind: pec.RecipientCertificato}},
		Risposte:         Citizen,
		Oggetto:          OriginalSubject,
		GestoreEmittente: ProviderName,
		Data:             EnvelopeTime,
		Identificativo:   EnvelopeIdentificativo,
		MsgID:            OriginalMessageID,
	}
}

// Envelope is the transport envelope of Original: From "Per conto di:
// mario.rossi@…", X-Trasporto: posta-certificata, daticert.xml (base64,
// UTF-8) and postacert.eml. signer may be nil (unsigned).
func Envelope(signer *Signer) Message {
	return Message{
		Kind:                 pec.KindEnvelope,
		From:                 `"Per conto di: ` + Citizen + `" <` + ProviderAddress + `>`,
		To:                   DeskPEC,
		ReplyTo:              Citizen,
		Subject:              "POSTA CERTIFICATA: " + OriginalSubject,
		MessageID:            EnvelopeMessageID,
		Date:                 EnvelopeTime,
		RiferimentoMessageID: OriginalMessageID,
		Daticert:             EnvelopeDaticert(),
		Postacert:            Original(),
		Signer:               signer,
	}
}

// Anomaly is an anomaly envelope (X-Trasporto: errore) wrapping
// AnomalyOriginal, without daticert.xml.
func Anomaly(signer *Signer) Message {
	return Message{
		Kind:      pec.KindAnomaly,
		From:      `"Per conto di: promo@offerte.example.com" <` + ProviderAddress + `>`,
		To:        DeskPEC,
		ReplyTo:   "promo@offerte.example.com",
		Subject:   "ANOMALIA MESSAGGIO: Offerta imperdibile per la sua amministrazione",
		MessageID: "opec21.20260212103000.34567.03.1.1@pec.gestore.example.it",
		Date:      EnvelopeTime.Add(time.Hour),
		Postacert: AnomalyOriginal(),
		Signer:    signer,
	}
}

// receiptSpec holds what differs between receipt types.
type receiptSpec struct {
	subject   string
	after     time.Duration // after OutboundTime
	dest      bool          // issued by the recipient's provider
	errore    string
	esteso    string
	consegna  bool
	ricezione bool
}

var receiptSpecs = map[pec.ReceiptType]receiptSpec{
	pec.ReceiptAccettazione:     {subject: "ACCETTAZIONE: ", after: 2 * time.Second},
	pec.ReceiptNonAccettazione:  {subject: "AVVISO DI NON ACCETTAZIONE: ", after: time.Second, errore: pec.ErroreAltro, esteso: "Messaggio non accettato: dimensione superiore al limite consentito"},
	pec.ReceiptPresaInCarico:    {subject: "PRESA IN CARICO: ", after: 4 * time.Second, dest: true, ricezione: true},
	pec.ReceiptAvvenutaConsegna: {subject: "CONSEGNA: ", after: 5 * time.Second, dest: true, consegna: true},
	pec.ReceiptPreavvisoErroreConsegna: {subject: "AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: ", after: 12*time.Hour + 10*time.Second,
		errore: pec.ErroreAltro, esteso: "4.4.7 - Tempo massimo di consegna superato: ricevuta di avvenuta consegna non pervenuta entro 12 ore", consegna: true},
	pec.ReceiptErroreConsegna: {subject: "AVVISO DI MANCATA CONSEGNA: ", after: 24*time.Hour + 12*time.Second,
		errore: pec.ErroreNoDest, esteso: "5.1.1 - Gestore PEC del Destinatario: casella di destinazione inesistente", consegna: true},
	pec.ReceiptRilevazioneVirus: {subject: "PROBLEMA DI SICUREZZA: ", after: 6 * time.Second, dest: true,
		errore: pec.ErroreVirus, esteso: "Rilevato virus Eicar-Test-Signature nell'allegato", consegna: true},
}

// ReceiptDaticert returns the certification data of a receipt of type t
// about Outbound, sent to Citizen (certificato) and External (esterno).
// Delivery receipts are "completa".
func ReceiptDaticert(t pec.ReceiptType) *pec.Daticert {
	spec := receiptSpecs[t]
	d := &pec.Daticert{
		Tipo:     string(t),
		Errore:   pec.ErroreNessuno,
		Mittente: DeskPEC,
		Destinatari: []pec.Recipient{
			{Address: Citizen, Kind: pec.RecipientCertificato},
			{Address: External, Kind: pec.RecipientEsterno},
		},
		Risposte:         DeskPEC,
		Oggetto:          OutboundSubject,
		GestoreEmittente: ProviderName,
		Data:             OutboundTime.Add(spec.after),
		Identificativo:   OutboundIdentificativo,
		MsgID:            OutboundMessageID,
		ErroreEsteso:     spec.esteso,
	}
	if spec.errore != "" {
		d.Errore = spec.errore
	}
	if spec.dest {
		d.GestoreEmittente = DestProviderName
	}
	if spec.consegna {
		d.Consegna = Citizen
	}
	if spec.ricezione {
		d.Ricezione = []string{Citizen}
	}
	if t == pec.ReceiptAvvenutaConsegna {
		d.RicevutaTipo = pec.RicevutaCompleta
	}
	return d
}

// Receipt is a provider receipt of type t about Outbound (see
// ReceiptDaticert), addressed to DeskPEC, with X-Ricevuta and
// X-Riferimento-Message-ID. An avvenuta-consegna is "completa" and
// encloses Outbound as postacert.eml. signer may be nil (unsigned).
func Receipt(t pec.ReceiptType, signer *Signer) Message {
	spec := receiptSpecs[t]
	d := ReceiptDaticert(t)
	from := ProviderAddress
	if spec.dest {
		from = DestProviderAddress
	}
	m := Message{
		Kind:                 pec.KindReceipt,
		Receipt:              t,
		From:                 from,
		To:                   DeskPEC,
		Subject:              spec.subject + OutboundSubject,
		MessageID:            fmt.Sprintf("opec21.%s.%s@%s", d.Data.Format("20060102150405"), strings.ReplaceAll(string(t), "-", ""), strings.SplitN(from, "@", 2)[1]),
		Date:                 d.Data,
		RiferimentoMessageID: OutboundMessageID,
		Daticert:             d,
		Signer:               signer,
	}
	if t == pec.ReceiptAvvenutaConsegna {
		m.TipoRicevuta = pec.RicevutaCompleta
		m.Postacert = Outbound()
	}
	return m
}

// DeliveryReceipt is an avvenuta-consegna receipt of the given sub-type:
// completa (with postacert.eml), breve or sintetica (without).
func DeliveryReceipt(subtype string, signer *Signer) Message {
	m := Receipt(pec.ReceiptAvvenutaConsegna, signer)
	m.Daticert.RicevutaTipo = subtype
	m.TipoRicevuta = subtype
	if subtype != pec.RicevutaCompleta {
		m.Postacert = nil
	}
	return m
}

// LatinDaticert returns envelope certification data whose subject and
// sender need accents, for ISO-8859-1 fixtures.
func LatinDaticert() *pec.Daticert {
	d := EnvelopeDaticert()
	d.Oggetto = "Città di Forlì: perché la stampante è guasta? Già segnalato all'ufficio"
	d.Mittente = "segreteria.sindaco@pec.comune.forlì.example.it"
	d.Risposte = d.Mittente
	return d
}

// Case is a named fixture. WantErr is nil for valid messages, else the
// error Parse must wrap.
type Case struct {
	Name    string
	Message Message
	WantErr error
}

// Catalogue returns one valid message of every kind and variant the
// package handles, signed by signer (nil: unsigned): the envelope, the
// anomaly, every receipt type, the three delivery sub-types, ISO-8859-1,
// quoted-printable and 8bit daticert, a receipt without
// X-Riferimento-Message-ID, the legacy x-pkcs7-signature type and LF line
// ends.
func Catalogue(signer *Signer) []Case {
	cs := []Case{
		{Name: "envelope", Message: Envelope(signer)},
		{Name: "anomaly", Message: Anomaly(signer)},
	}
	for _, t := range pec.ReceiptTypes {
		cs = append(cs, Case{Name: "receipt-" + string(t), Message: Receipt(t, signer)})
	}
	for _, sub := range []string{pec.RicevutaBreve, pec.RicevutaSintetica} {
		cs = append(cs, Case{Name: "avvenuta-consegna-" + sub, Message: DeliveryReceipt(sub, signer)})
	}

	latin := Envelope(signer)
	latin.Daticert = LatinDaticert()
	latin.DaticertCharset = "ISO-8859-1"
	cs = append(cs, Case{Name: "envelope-iso-8859-1-base64", Message: latin})

	latinQP := latin
	latinQP.Daticert = LatinDaticert()
	latinQP.DaticertEncoding = "quoted-printable"
	cs = append(cs, Case{Name: "envelope-iso-8859-1-qp", Message: latinQP})

	qpUTF8 := Envelope(signer)
	qpUTF8.Daticert = LatinDaticert()
	qpUTF8.DaticertEncoding = "quoted-printable"
	cs = append(cs, Case{Name: "envelope-utf-8-qp", Message: qpUTF8})

	eight := Receipt(pec.ReceiptAccettazione, signer)
	eight.DaticertEncoding = "8bit"
	cs = append(cs, Case{Name: "receipt-8bit-daticert", Message: eight})

	noRef := Receipt(pec.ReceiptAvvenutaConsegna, signer)
	noRef.RiferimentoMessageID = ""
	cs = append(cs, Case{Name: "receipt-without-riferimento", Message: noRef})

	legacy := Receipt(pec.ReceiptAccettazione, signer)
	legacy.LegacySignatureType = true
	cs = append(cs, Case{Name: "receipt-x-pkcs7-signature", Message: legacy})

	lf := Envelope(signer)
	lf.LF = true
	cs = append(cs, Case{Name: "envelope-lf", Message: lf})
	return cs
}

// Malformed returns messages Parse must reject, with the error each one
// must wrap: a receipt and an envelope without daticert.xml, broken and
// invalid daticert XML, an envelope without postacert.eml, X-Ricevuta
// disagreeing with daticert, an envelope carrying a receipt's daticert,
// and an unknown X-Ricevuta. Signature problems are not errors and are not
// listed here: see Tamper and PKI.Untrusted.
func Malformed(signer *Signer) []Case {
	var cs []Case
	add := func(name string, want error, m Message) {
		cs = append(cs, Case{Name: name, Message: m, WantErr: want})
	}

	m := Receipt(pec.ReceiptAccettazione, signer)
	m.DaticertXML, m.Daticert = nil, nil
	add("receipt-without-daticert", pec.ErrNoDaticert, m)

	m = Envelope(signer)
	m.Daticert = nil
	add("envelope-without-daticert", pec.ErrNoDaticert, m)

	m = Receipt(pec.ReceiptAvvenutaConsegna, signer)
	m.DaticertXML = []byte(`<?xml version="1.0" encoding="UTF-8"?><postacert tipo="avvenuta-consegna" errore="nessuno"><intestazione><mittente>` + DeskPEC + `</mittente>`)
	add("broken-xml", pec.ErrBadDaticert, m)

	m = Receipt(pec.ReceiptAccettazione, signer)
	d := ReceiptDaticert(pec.ReceiptAccettazione)
	d.Data = time.Time{}
	x, _ := DaticertXML(d, "")
	m.DaticertXML = bytes.Replace(x, []byte("<giorno>01/01/0001</giorno>"), []byte("<giorno>31/02/2026</giorno>"), 1)
	add("impossible-date", pec.ErrBadDaticert, m)

	m = Receipt(pec.ReceiptAccettazione, signer)
	x, _ = DaticertXML(ReceiptDaticert(pec.ReceiptAccettazione), "")
	m.DaticertXML = bytes.Replace(x, []byte(`tipo="esterno"`), []byte(`tipo="ordinario"`), 1)
	add("unknown-destinatari-tipo", pec.ErrBadDaticert, m)

	m = Receipt(pec.ReceiptAccettazione, signer)
	m.DaticertXML = []byte("<?xml version=\"1.0\" encoding=\"KOI-ZZ\"?><postacert tipo=\"accettazione\"/>")
	add("unknown-charset", pec.ErrBadDaticert, m)

	m = Envelope(signer)
	m.Postacert = nil
	add("envelope-without-postacert", pec.ErrNoPostacert, m)

	m = Receipt(pec.ReceiptAccettazione, signer)
	m.Receipt = pec.ReceiptAvvenutaConsegna
	add("x-ricevuta-disagrees-with-daticert", pec.ErrInconsistent, m)

	m = Envelope(signer)
	m.Daticert = ReceiptDaticert(pec.ReceiptAccettazione)
	add("envelope-with-receipt-daticert", pec.ErrInconsistent, m)

	m = Receipt(pec.ReceiptAccettazione, signer)
	m.Receipt = "ricevuta-inventata"
	add("unknown-x-ricevuta", pec.ErrInconsistent, m)
	return cs
}

// generatedNotice writes the provider's Italian notice for the message.
func (m Message) generatedNotice() string {
	d := m.Daticert
	if m.Kind == pec.KindAnomaly || d == nil {
		when := m.Date.Format("02/01/2006") + " alle ore " + m.Date.Format("15:04:05") + " (" + m.Date.Format("-0700") + ")"
		if m.Kind == pec.KindAnomaly {
			return "Anomalia nel messaggio\n\n" +
				NoticeMarker + " " + when + " è stato ricevuto\n" +
				"il messaggio \"" + m.Subject + "\" indirizzato a:\n" + m.To + "\n" +
				"Tali dati non sono stati certificati per il seguente errore:\n" +
				"messaggio non di posta certificata.\n" +
				"Il messaggio originale è incluso in allegato."
		}
		return "Notifica del gestore di posta certificata\n\n" + NoticeMarker + " " + when + "."
	}
	when := NoticeMarker + " " + d.Data.Format("02/01/2006") + " alle ore " + d.Data.Format("15:04:05") + " (" + d.Data.Format("-0700") + ")"
	var dest strings.Builder
	for _, r := range d.Destinatari {
		kind := "posta certificata"
		if r.Kind == pec.RecipientEsterno {
			kind = "posta ordinaria"
		}
		dest.WriteString(r.Address + " (\"" + kind + "\")\n")
	}
	about := "il messaggio\n\"" + d.Oggetto + "\" proveniente da \"" + d.Mittente + "\"\n"
	id := "Identificativo messaggio: " + d.Identificativo
	switch pec.ReceiptType(d.Tipo) {
	case pec.ReceiptPostaCertificata:
		return "Messaggio di posta certificata\n\n" + when + " il messaggio\n\"" + d.Oggetto +
			"\" è stato inviato da \"" + d.Mittente + "\"\nindirizzato a:\n" + dest.String() +
			"Il messaggio originale è incluso in allegato.\n" + id
	case pec.ReceiptAccettazione:
		return "Ricevuta di accettazione\n\n" + when + " " + about + "ed indirizzato a:\n" + dest.String() +
			"è stato accettato dal sistema ed inoltrato.\n" + id
	case pec.ReceiptNonAccettazione:
		return "Avviso di non accettazione\n\n" + when + " nel " + about +
			"è stato rilevato un problema che ne impedisce l'accettazione:\n" + d.ErroreEsteso +
			"\nIl messaggio non è stato accettato.\n" + id
	case pec.ReceiptPresaInCarico:
		return "Ricevuta di presa in carico\n\n" + when + " " + about +
			"è stato accettato dal sistema del gestore del destinatario.\n" + id
	case pec.ReceiptAvvenutaConsegna:
		return "Ricevuta di avvenuta consegna\n\n" + when + " " + about + "ed indirizzato a \"" + d.Consegna +
			"\"\nè stato consegnato nella casella di destinazione.\n" + id
	case pec.ReceiptPreavvisoErroreConsegna:
		return "Avviso di mancata consegna per superamento dei tempi massimi\n\n" + when + " " + about +
			"non risulta ancora consegnato a \"" + d.Consegna + "\":\n" + d.ErroreEsteso + "\n" + id
	case pec.ReceiptErroreConsegna:
		return "Avviso di mancata consegna\n\n" + when + " nel " + about + "si è verificato un errore di consegna a \"" +
			d.Consegna + "\":\n" + d.ErroreEsteso + "\nIl messaggio non è stato consegnato.\n" + id
	case pec.ReceiptRilevazioneVirus:
		return "Avviso di rilevazione virus\n\n" + when + " nel " + about +
			"è stato rilevato un virus:\n" + d.ErroreEsteso + "\nIl messaggio non è stato consegnato.\n" + id
	}
	return "Notifica del gestore di posta certificata\n\n" + when + " " + about + id
}

package parse

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type wantAtt struct {
	name, ctype, cid string
	inline           bool
	size             int    // -1: not checked
	prefix           string // expected start of Data
}

type fixture struct {
	file string
	err  error

	messageID  string
	inReplyTo  []string
	references []string
	from       Address
	replyTo    []string
	to, cc     []string
	recipients []string
	subject    string
	date       string // RFC 3339, "" = zero

	text     []string // substrings of Text
	notText  []string
	stripped string // StripQuoted(Text) must equal this, if set
	html     []string
	notHTML  []string
	noHTML   bool
	atts     []wantAtt // exact list, in order
	robot    RobotKind
	bounce   *Bounce
	headers  map[string]string
	warning  string // substring of one warning; "-" means no warnings at all
}

var fixtures = []fixture{
	{
		file:       "outlook_reply_it.eml",
		messageID:  "AM0PR09MB1234D4E5F6A7B8C9D0E1F2A3B4C5@AM0PR09MB1234.eurprd09.prod.outlook.example",
		inReplyTo:  []string{"reply-2026-000123-2@desk.example.it"},
		references: []string{"abc123@desk.example.it", "reply-2026-000123-2@desk.example.it"},
		from:       Address{Name: "Bianchi Laura", Email: "laura.bianchi@prefettura.ferrara.example.it"},
		to:         []string{"assistenza@desk.example.it"},
		recipients: []string{"assistenza@desk.example.it"},
		subject:    "R: RE: [#2026-000123] BDNA - errore di accesso",
		date:       "2026-02-03T09:12:44Z",
		text:       []string{"Grazie per l'attività svolta.", "Inviato: lunedì 2 febbraio 2026 16:40", "Può riprovare"},
		stripped: "Buongiorno,\nconfermo che dopo il reset della password l'accesso a BDNA funziona di nuovo.\n" +
			"Grazie per l'attività svolta.\n\nCordiali saluti\nLaura Bianchi\nPrefettura di Ferrara - Ufficio Antimafia\nTel. 0532 000000",
		html:    []string{"<p>Grazie per l&#39;attività svolta.</p>", `<span style="color: #1F3864">Laura Bianchi</span>`},
		notHTML: []string{"<style", "MsoNormal", "<o:p", "<html", "<head"},
		headers: map[string]string{"Thread-Index": "AQHcZ3v1q2m4w8Kx0UOmJb7n0Yw2SrS0mHqAgABhXYA=", "thread-topic": "[#2026-000123] BDNA - errore di accesso"},
		warning: "-",
	},
	{
		file:       "thunderbird_reply_it.eml",
		messageID:  "7c1e2f0a-3b4d-4e5f-8a9b-0c1d2e3f4a5b@provincia.brindisi.example.it",
		inReplyTo:  []string{"ticket-2026-000140-1@desk.example.it"},
		references: []string{"ticket-2026-000140-1@desk.example.it"},
		from:       Address{Name: "Giuseppe Verdi", Email: "g.verdi@provincia.brindisi.example.it"},
		to:         []string{"assistenza@desk.example.it"},
		recipients: []string{"assistenza@desk.example.it"},
		subject:    "Re: [#2026-000140] Stampante piano terra non stampa",
		date:       "2026-02-04T11:05:09+01:00",
		// format=flowed: soft breaks joined, quote depth kept.
		text: []string{
			`continua a segnalare "carta inceppata" anche dopo aver rimosso il foglio. Il tecnico può passare domani mattina?`,
			"\n-- \nGiuseppe Verdi\n",
			"> abbiamo registrato la sua richiesta con il numero 2026-000140. Un tecnico la contatterà al più presto.",
		},
		stripped: "Buongiorno,\nla stampante HP del piano terra continua a segnalare \"carta inceppata\" anche dopo aver rimosso il foglio. " +
			"Il tecnico può passare domani mattina?\n\nGrazie,",
		noHTML:  true,
		headers: map[string]string{"Delivered-To": "assistenza@desk.example.it", "Return-Path": "<g.verdi@provincia.brindisi.example.it>"},
		warning: "-",
	},
	{
		file:       "gmail_reply_it.eml",
		messageID:  "CAF3xq9ZpQx7n+K1vYkA=bdna-test-8Hq@mail.gmail.example",
		inReplyTo:  []string{"reply-2026-000123-2@desk.example.it"},
		references: []string{"reply-2026-000123-2@desk.example.it"},
		from:       Address{Name: "Marco Esposito", Email: "marco.esposito.pa@gmail.example"},
		to:         []string{"assistenza@desk.example.it"},
		recipients: []string{"assistenza@desk.example.it"},
		subject:    "Re: [#2026-000123] BDNA - errore di accesso",
		date:       "2026-02-02T17:01:02+01:00",
		text:       []string{`ricevo ancora l'errore "utente non abilitato"`, "> abbiamo reimpostato la password. Può riprovare ad accedere?"},
		stripped:   "Ho provato di nuovo ma ricevo ancora l'errore \"utente non abilitato\".\nAllego lo screenshot appena possibile.\n\nMarco",
		html:       []string{"<blockquote>Gentile utente,", `href="mailto:assistenza@desk.example.it"`},
		notHTML:    []string{"gmail_quote", "style="},
		warning:    "-",
	},
	{
		file:       "applemail_reply_it.eml",
		messageID:  "9E8D7C6B-5A4F-4E3D-2C1B-0A9F8E7D6C5B@provincia.brindisi.example.it",
		inReplyTo:  []string{"ticket-2026-000151-1@desk.example.it"},
		references: []string{"ticket-2026-000151-0@desk.example.it", "ticket-2026-000151-1@desk.example.it"},
		from:       Address{Name: "Anna Conti", Email: "anna.conti@provincia.brindisi.example.it"},
		to:         []string{"assistenza@desk.example.it"},
		subject:    "Re: [#2026-000151] Firma digitale - token non riconosciuto",
		date:       "2026-02-03T10:31:17+01:00",
		text:       []string{"Non capisco perché: sul vecchio PC funzionava."},
		stripped:   "Buongiorno,\nil token della firma digitale non viene riconosciuto dal nuovo portatile. Non capisco perché: sul vecchio PC funzionava.\n\nGrazie\nAnna",
		html:       []string{"<blockquote><div>Il giorno 3 feb 2026"},
		notHTML:    []string{`type="cite"`, "<body", "-webkit"},
		warning:    "-",
	},
	{
		file:      "latin1_qp.eml",
		messageID: "20260205084500.4711@comune.ferrara.example.it",
		from:      Address{Name: "Nicolò Ferrà", Email: "n.ferra@comune.ferrara.example.it"},
		subject:   "Richiesta attività per la firma digitale",
		date:      "2026-02-05T08:45:00+01:00",
		text: []string{
			"vorrei sapere perché la procedura per la firma digitale non è più disponibile\nsul portale.",
			"L'attività di rinnovo dei certificati è sospesa?",
			"Più colleghi",
		},
		noHTML:  true,
		warning: "-",
	},
	{
		file:    "cp1252_smartquotes.eml",
		from:    Address{Name: "Paolo Gallo", Email: "paolo.gallo@comune.example.it"},
		subject: "“Urgente” - rinnovo certificato firma digitale (FE)",
		text:    []string{"nella “circolare” dell’Ufficio di Gabinetto", "costa 30 € – così", "l’importo…"},
		warning: "-",
	},
	{
		// Declared ISO-8859-1 but written with Windows-1252 punctuation,
		// and an unencoded 8-bit subject.
		file:    "latin1_mislabelled_cp1252.eml",
		from:    Address{Name: "Ufficio Personale", Email: "personale@comune.example.it"},
		subject: "Attività sospesa: utenza bloccata",
		date:    "2026-02-06T14:30:00+01:00",
		text:    []string{"L’utenza del collega “Rossi” è bloccata dal 2 febbraio – può sbloccarla? Costo 0 €."},
	},
	{
		file:    "utf8_base64.eml",
		from:    Address{Name: "Giulia D’Amico", Email: "giulia.damico@comune.forli.example.it"},
		to:      []string{"assistenza@desk.example.it"},
		subject: "Gestionale protocollo lentissimo – sede di Forlì",
		text:    []string{"scrivo dalla sede di Forlì", "È urgente perché domani scade il termine per 12 pratiche (valore 1.250 €)."},
		warning: "-",
	},
	{
		file:    "html_only.eml",
		from:    Address{Name: "Sara Neri", Email: "sara.neri@prefettura.ferrara.example.it"},
		subject: "Informazioni nuovo service desk",
		// Text converted from the sanitised HTML.
		text:    []string{"informazioni sul nuovo service desk", "Prefettura di Ferrara", "https://desk.example.it/manuale", "Sara Neri"},
		notText: []string{"<", "Richiesta"}, // no tags, no <title>
		html: []string{
			"<b>informazioni sul nuovo service desk</b>",
			`<table border="1" cellpadding="2">`,
			`<a href="https://desk.example.it/manuale" rel="nofollow noreferrer noopener" target="_blank">`,
		},
		notHTML: []string{"<title", "<meta", "<!DOCTYPE", "<body"},
	},
	{
		file:    "hostile_html.eml",
		from:    Address{Name: "Sicurezza Posta", Email: "security@phish.example.com"},
		subject: "Verifica urgente della casella",
		text:    []string{"Gentile utente, verifichi la sua casella di posta."},
		html: []string{
			`<p style="color: red">Gentile utente`,
			`<a href="https://phish.example.com/login" rel="nofollow noreferrer noopener" target="_blank">Accedi al portale</a>`,
			"Logo Ente",      // alt text of a removed remote image
			"immagine rotta", // alt text of an image with a relative src
			`<img src="data:image/png;base64,iVBORw0KGgo`,
			`<span style="font-weight: bold; color: #003366">Assistenza</span>`,
			"Clicca qui", "sfondo", "cella",
		},
		notHTML: []string{
			"tracker.example.com", "evil.example.com", "vbscript", "data:text/html",
			"<iframe", "<form", "<input", "<button", "<svg", "<object", "<embed", "<video",
			"<style", "<meta", "<base", "<link", "<math", "<noscript", "expression(", "url(",
			"background=", "srcset", "Avviso di sicurezza",
		},
		warning: "-",
	},
	{
		file:    "inline_cid.eml",
		from:    Address{Name: "Ufficio Economato", Email: "economato@prefettura.ferrara.example.it"},
		subject: "Stampante secondo piano: pagine bianche",
		text:    []string{"Si segnala che la stampante di rete del secondo piano stampa pagine bianche."},
		html: []string{
			`<img src="/allegati/logo.prefettura@desk.example" alt="Logo Prefettura" width="120"/>`,
			"<p>Banner</p>", // remote image replaced by its alt text
		},
		notHTML: []string{"cid:", "cdn.example.com"},
		atts:    []wantAtt{{name: "logo.png", ctype: "image/png", cid: "logo.prefettura@desk.example", inline: true, size: 69, prefix: "\x89PNG\r\n\x1a\n"}},
		warning: "-",
	},
	{
		file:    "attachments.eml",
		from:    Address{Name: "Protocollo Generale", Email: "protocollo@comune.example.it"},
		subject: "Verbale intervento e modulistica",
		text:    []string{"In allegato il verbale dell'intervento"},
		notText: []string{"root:x:0:0"},
		noHTML:  true,
		atts: []wantAtt{
			{name: "Verbale attività n. 3 – Prefettura.pdf", ctype: "application/pdf", size: 179, prefix: "%PDF-1.4"},
			{name: "passwd", ctype: "text/plain", size: -1, prefix: "root:x:0:0"},
			{name: "Modulo richiesta attività.docx", ctype: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", size: 227, prefix: "PK\x03\x04"},
			{name: "fatturafdp.exe", ctype: "application/octet-stream", size: 32, prefix: "MZ"},
			{name: "Relazione tecnica stampante piano terra.odt", ctype: "application/vnd.oasis.opendocument.text", size: 47, prefix: "PK\x03\x04odt"},
			{name: "allegato.pdf", ctype: "application/pdf", size: 179, prefix: "%PDF-1.4"},
		},
		warning: "-",
	},
	{
		file:    "winmail_tnef.eml",
		from:    Address{Name: "Russo, Antonio", Email: "antonio.russo@prefettura.example.it"},
		to:      []string{"assistenza@desk.example.it"},
		subject: "Richiesta installazione software di firma",
		text:    []string{"postazione PREF-FE-0231"},
		atts:    []wantAtt{{name: "winmail.dat", ctype: "application/ms-tnef", size: 224, prefix: "\x78\x9f\x3e\x22"}},
		warning: "-",
	},
	{
		// mixed > (alternative > (plain, related > (html, jpeg)), docx, message/rfc822)
		file:    "nested_multipart.eml",
		from:    Address{Name: "Economato", Email: "economato@prefettura.example.it"},
		subject: "I: Segnalazione guasto fotocopiatrice",
		text:    []string{"Inoltro la segnalazione del centralino.\n\nIl contratto di assistenza è in allegato."},
		notText: []string{"E-201"}, // the forwarded message stays an attachment
		html:    []string{`<img src="/allegati/foto-guasto-01@prefettura.example.it" alt="Foto del guasto"/>`},
		notHTML: []string{"E-201"},
		atts: []wantAtt{
			{name: "allegato.jpg", ctype: "image/jpeg", cid: "foto-guasto-01@prefettura.example.it", inline: true, size: 278, prefix: "\xff\xd8\xff"},
			{name: "Contratto assistenza 2026.docx", ctype: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", size: 227, prefix: "PK"},
			{name: "Segnalazione guasto fotocopiatrice.eml", ctype: "message/rfc822", size: -1, prefix: "From: Centralino <centralino@prefettura.example.it>"},
		},
		warning: "-",
	},
	{
		file:      "out_of_office.eml",
		from:      Address{Name: "Laura Bianchi", Email: "laura.bianchi@prefettura.ferrara.example.it"},
		inReplyTo: []string{"reply-2026-000123-3@desk.example.it"},
		subject:   "Risposta automatica: [#2026-000123] BDNA - errore di accesso",
		text:      []string{"Sono fuori ufficio fino al 9 febbraio"},
		robot:     RobotAutoReply,
		headers:   map[string]string{"Auto-Submitted": "auto-replied", "X-Autoreply": "yes", "Return-Path": "<>"},
	},
	{
		// Exchange: only Auto-Submitted: auto-generated and
		// X-Auto-Response-Suppress; the subject tells it is an OOF.
		file:    "exchange_oof.eml",
		subject: "Risposta automatica: Richiesta installazione software di firma",
		text:    []string{"Sarò assente dall'ufficio fino a lunedì 23 febbraio."},
		robot:   RobotAutoReply,
		headers: map[string]string{"X-Auto-Response-Suppress": "All"},
	},
	{
		file:       "mailing_list.eml",
		from:       Address{Name: "Referente BDNA", Email: "referente.bdna@prefettura.example.it"},
		recipients: []string{"utenti-bdna@lists.example.it"},
		robot:      RobotList,
		headers:    map[string]string{"List-Id": "Utenti BDNA <utenti-bdna.lists.example.it>", "Precedence": "list"},
	},
	{
		file:    "newsletter_bulk.eml",
		robot:   RobotBulk,
		text:    []string{"Le novità sulla firma digitale"},
		html:    []string{"<h1>Newsletter PA Digitale - Febbraio 2026</h1>"},
		notHTML: []string{"news.example.com/open", "<img"},
	},
	{
		file:    "dsn_bounce.eml",
		from:    Address{Name: "Mail Delivery System", Email: "mailer-daemon@mx.desk.example.it"},
		subject: "Undelivered Mail Returned to Sender",
		date:    "2026-02-02T09:05:02+01:00",
		text:    []string{"could not\nbe delivered"},
		robot:   RobotBounce,
		bounce: &Bounce{
			OriginalMessageID: "abc123@desk.example.it",
			ReportingMTA:      "mx.desk.example.it",
			Recipients: []BounceRecipient{{
				Email:      "utente.inesistente@prefettura.ferrara.example.it",
				Action:     "failed",
				Status:     "5.1.1",
				Diagnostic: "550 5.1.1 <utente.inesistente@prefettura.ferrara.example.it>: Recipient address rejected: User unknown in virtual mailbox table",
			}},
		},
		atts: []wantAtt{
			{name: "allegato.txt", ctype: "message/delivery-status", size: -1, prefix: "Reporting-MTA: dns; mx.desk.example.it"},
			{name: "[#2026-000123] BDNA - errore di accesso.eml", ctype: "message/rfc822", size: -1, prefix: "Return-Path: <assistenza@desk.example.it>"},
		},
		headers: map[string]string{"Return-Path": "<>"},
	},
	{
		file:    "dsn_exchange_headers.eml",
		from:    Address{Email: "postmaster@prefettura.example.it"},
		subject: "Recapito non riuscito: [#2026-000150] Richiesta registrata",
		text:    []string{"La casella di mario.rossi@prefettura.example.it è piena."},
		robot:   RobotBounce,
		bounce: &Bounce{
			OriginalMessageID: "ack-2026-000150@desk.example.it",
			ReportingMTA:      "EXCH01.prefettura.example.it",
			Recipients: []BounceRecipient{
				{Email: "mario.rossi@prefettura.example.it", Action: "failed", Status: "5.2.2",
					Diagnostic: "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException"},
				{Email: "ufficio.gabinetto@prefettura.example.it", Action: "delayed", Status: "4.4.7"},
			},
		},
		atts: []wantAtt{
			{name: "allegato.txt", ctype: "message/delivery-status", size: -1},
			{name: "allegato.txt", ctype: "text/rfc822-headers", size: -1, prefix: "From: Service Desk"},
		},
	},
	{
		file:    "broken_charset.eml",
		subject: "Problema stampante più urgente",
		text: []string{
			"Buongiorno, perché la stampante non funziona? Più volte abbiamo riavviato.",
			"La città di Ferrara è senza rete dal 18/02. Già segnalato.", // mixed UTF-8 and Latin-1
		},
		warning: "x-unknown-8bit",
	},
	{file: "no_from.eml", err: ErrMalformed},
	{file: "no_header.eml", err: ErrMalformed},
	{
		file:    "truncated_multipart.eml",
		subject: "Scansione documenti non leggibile",
		text:    []string{"lo scanner di rete produce file che non si aprono."},
		atts:    []wantAtt{{name: "scansione.pdf", ctype: "application/pdf", size: -1, prefix: "%PDF-1.4"}},
		warning: "not closed",
	},
	{
		file:      "duplicate_message_id.eml",
		messageID: "dup-first@provincia.example.it",
		subject:   "Regola firewall per il nuovo gestionale",
		text:      []string{"porta 443"},
		warning:   "2 Message-ID headers",
	},
	{
		file:      "new_request_routing.eml",
		messageID: "new-req-0001@prefettura.ferrara.example.it",
		from:      Address{Name: "Rossi, Mario", Email: "mario.rossi@prefettura.ferrara.example.it"},
		replyTo:   []string{"antimafia@prefettura.ferrara.example.it"},
		to:        []string{"assistenza.antimafia@desk.example.it", "assistenza@desk.example.it"},
		cc:        []string{"progettoantimafia@desk.example.it", "mario.rossi@prefettura.ferrara.example.it"},
		recipients: []string{
			"assistenza.antimafia@desk.example.it", // X-Original-To
			"intake@desk.example.it",               // Delivered-To
			"assistenza@desk.example.it",
			"progettoantimafia@desk.example.it",
			"mario.rossi@prefettura.ferrara.example.it",
		},
		subject: "BDNA - errore di accesso",
		text:    []string{`restituisce "errore di accesso" per tutti gli operatori della Prefettura di Ferrara (FE).`},
		headers: map[string]string{"X-Original-To": "assistenza.antimafia@desk.example.it", "X-Priority": "1 (Highest)", "Importance": "High"},
		warning: "-",
	},
	{
		file:    "pec_envelope.eml",
		from:    Address{Name: "Per conto di: mario.rossi@pec.comune.example.it", Email: "posta-certificata@pec.provider.example.it"},
		replyTo: []string{"mario.rossi@pec.comune.example.it"},
		subject: "POSTA CERTIFICATA: Rinnovo certificato firma digitale",
		text:    []string{"Messaggio di posta certificata", "Il messaggio originale è incluso in allegato."},
		html:    []string{"<h3>Messaggio di posta certificata</h3>"},
		atts: []wantAtt{
			{name: "daticert.xml", ctype: "application/xml", inline: true, size: -1, prefix: `<?xml version="1.0" encoding="UTF-8"?>`},
			{name: "postacert.eml", ctype: "message/rfc822", inline: true, size: -1, prefix: "From: Mario Rossi <mario.rossi@pec.comune.example.it>"},
			{name: "smime.p7s", ctype: "application/x-pkcs7-signature", size: 200, prefix: "\x00\x01\x02"},
		},
		headers: map[string]string{
			"X-Trasporto":              "posta-certificata",
			"X-Riferimento-Message-ID": "<orig-pec-1@pec.comune.example.it>",
			"X-TipoRicevuta":           "completa",
		},
		warning: "-",
	},
	{
		file:    "pec_receipt.eml",
		subject: "CONSEGNA: [#2026-000160] Rinnovo certificato firma digitale",
		robot:   RobotAutoSubmitted,
		headers: map[string]string{"X-Ricevuta": "avvenuta-consegna", "X-Riferimento-Message-ID": "<reply-2026-000160-1@pec.desk.example.it>"},
		atts:    []wantAtt{{name: "daticert.xml", ctype: "application/xml", inline: true, size: -1, prefix: "<?xml"}},
	},
	{
		file:  "read_receipt.eml",
		robot: RobotAutoSubmitted,
		text:  []string{"Il messaggio è stato visualizzato"},
		atts:  []wantAtt{{name: "allegato.txt", ctype: "message/disposition-notification", size: -1, prefix: "Reporting-UA:"}},
	},
}

func cidURL(id string) string { return "/allegati/" + id }

func TestParseFixtures(t *testing.T) {
	tested := map[string]bool{}
	for _, fx := range fixtures {
		tested[fx.file] = true
		t.Run(strings.TrimSuffix(fx.file, ".eml"), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", fx.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(raw, Options{CIDURL: cidURL})
			if fx.err != nil {
				if !errors.Is(err, fx.err) || m != nil {
					t.Fatalf("Parse = %v, %v; want error %v", m, err, fx.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkInvariants(t, m)
			checkFixture(t, fx, m)
		})
	}
	// Every fixture in testdata is covered by the table.
	files, _ := filepath.Glob("testdata/*.eml")
	for _, f := range files {
		if !tested[filepath.Base(f)] {
			t.Errorf("fixture %s has no expectations", f)
		}
	}
}

func checkFixture(t *testing.T, fx fixture, m *Message) {
	t.Helper()
	if fx.messageID != "" && m.MessageID != fx.messageID {
		t.Errorf("MessageID = %q, want %q", m.MessageID, fx.messageID)
	}
	if fx.inReplyTo != nil && !slices.Equal(m.InReplyTo, fx.inReplyTo) {
		t.Errorf("InReplyTo = %q, want %q", m.InReplyTo, fx.inReplyTo)
	}
	if fx.references != nil && !slices.Equal(m.References, fx.references) {
		t.Errorf("References = %q, want %q", m.References, fx.references)
	}
	if fx.from != (Address{}) && m.From != fx.from {
		t.Errorf("From = %+v, want %+v", m.From, fx.from)
	}
	emails := func(as []Address) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Email)
		}
		return out
	}
	if fx.replyTo != nil && !slices.Equal(emails(m.ReplyTo), fx.replyTo) {
		t.Errorf("ReplyTo = %v, want %v", m.ReplyTo, fx.replyTo)
	}
	if fx.to != nil && !slices.Equal(emails(m.To), fx.to) {
		t.Errorf("To = %v, want %v", m.To, fx.to)
	}
	if fx.cc != nil && !slices.Equal(emails(m.Cc), fx.cc) {
		t.Errorf("Cc = %v, want %v", m.Cc, fx.cc)
	}
	if fx.recipients != nil && !slices.Equal(m.Recipients, fx.recipients) {
		t.Errorf("Recipients = %q, want %q", m.Recipients, fx.recipients)
	}
	if fx.subject != "" && m.Subject != fx.subject {
		t.Errorf("Subject = %q, want %q", m.Subject, fx.subject)
	}
	if fx.date != "" {
		want, _ := time.Parse(time.RFC3339, fx.date)
		if !m.Date.Equal(want) {
			t.Errorf("Date = %v, want %v", m.Date, want)
		}
	}
	for _, s := range fx.text {
		if !strings.Contains(m.Text, s) {
			t.Errorf("Text lacks %q:\n%s", s, m.Text)
		}
	}
	for _, s := range fx.notText {
		if strings.Contains(m.Text, s) {
			t.Errorf("Text contains %q:\n%s", s, m.Text)
		}
	}
	if fx.stripped != "" {
		if got := StripQuoted(m.Text); got != fx.stripped {
			t.Errorf("StripQuoted(Text) =\n%q\nwant\n%q", got, fx.stripped)
		}
	}
	if fx.noHTML && m.HTML != "" {
		t.Errorf("HTML = %q, want none", m.HTML)
	}
	for _, s := range fx.html {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("HTML lacks %q:\n%s", s, m.HTML)
		}
	}
	for _, s := range fx.notHTML {
		if strings.Contains(strings.ToLower(m.HTML), strings.ToLower(s)) {
			t.Errorf("HTML contains %q:\n%s", s, m.HTML)
		}
	}
	if fx.atts != nil || len(m.Attachments) > 0 {
		if len(m.Attachments) != len(fx.atts) {
			t.Errorf("%d attachments, want %d: %+v", len(m.Attachments), len(fx.atts), attNames(m))
		} else {
			for i, w := range fx.atts {
				a := m.Attachments[i]
				if a.Name != w.name || a.ContentType != w.ctype || a.ContentID != w.cid || a.Inline != w.inline {
					t.Errorf("attachment %d = {%q %q %q inline=%v}, want {%q %q %q inline=%v}",
						i, a.Name, a.ContentType, a.ContentID, a.Inline, w.name, w.ctype, w.cid, w.inline)
				}
				if w.size >= 0 && len(a.Data) != w.size {
					t.Errorf("attachment %q: %d bytes, want %d", a.Name, len(a.Data), w.size)
				}
				if !bytes.HasPrefix(a.Data, []byte(w.prefix)) {
					t.Errorf("attachment %q starts with %q, want %q", a.Name, head(a.Data), w.prefix)
				}
			}
		}
	}
	if m.Robot != fx.robot {
		t.Errorf("Robot = %q, want %q", m.Robot, fx.robot)
	}
	if fx.bounce == nil {
		if m.Bounce != nil {
			t.Errorf("Bounce = %+v, want nil", m.Bounce)
		}
	} else if m.Bounce == nil {
		t.Errorf("Bounce = nil, want %+v", fx.bounce)
	} else {
		b := m.Bounce
		if b.OriginalMessageID != fx.bounce.OriginalMessageID || b.ReportingMTA != fx.bounce.ReportingMTA ||
			!slices.Equal(b.Recipients, fx.bounce.Recipients) {
			t.Errorf("Bounce =\n%+v\nwant\n%+v", *b, *fx.bounce)
		}
	}
	for k, v := range fx.headers {
		if got := m.Header(k); got != v {
			t.Errorf("Header(%q) = %q, want %q", k, got, v)
		}
	}
	switch {
	case fx.warning == "-":
		if len(m.Warnings) > 0 {
			t.Errorf("Warnings = %q, want none", m.Warnings)
		}
	case fx.warning != "":
		if !slices.ContainsFunc(m.Warnings, func(w string) bool { return strings.Contains(w, fx.warning) }) {
			t.Errorf("Warnings = %q, want one containing %q", m.Warnings, fx.warning)
		}
	}
}

var eventHandlerRe = regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)

// checkInvariants holds for every successfully parsed message.
func checkInvariants(t *testing.T, m *Message) {
	t.Helper()
	for name, s := range map[string]string{"Subject": m.Subject, "Text": m.Text, "HTML": m.HTML, "From.Name": m.From.Name} {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", name, s)
		}
		if strings.ContainsRune(s, 0) {
			t.Errorf("%s contains NUL", name)
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n\t") || m.Subject != strings.TrimSpace(m.Subject) {
		t.Errorf("Subject not normalised: %q", m.Subject)
	}
	if strings.Contains(m.Text, "\r") {
		t.Errorf("Text has CR")
	}
	checkSafeHTML(t, m.HTML)
	if m.From.Email == "" || m.From.Email != strings.ToLower(m.From.Email) {
		t.Errorf("From.Email = %q", m.From.Email)
	}
	for _, r := range m.Recipients {
		if r != strings.ToLower(r) || !strings.Contains(r, "@") {
			t.Errorf("recipient %q", r)
		}
	}
	if len(m.Recipients) != len(slices.Compact(slices.Clone(m.Recipients))) {
		t.Errorf("duplicate recipients %q", m.Recipients)
	}
	for _, a := range m.Attachments {
		if a.Name == "" || strings.ContainsAny(a.Name, "/\\\x00") || strings.HasPrefix(a.Name, ".") || !utf8.ValidString(a.Name) {
			t.Errorf("unsafe attachment name %q", a.Name)
		}
		if a.ContentType == "" || a.ContentType != strings.ToLower(a.ContentType) {
			t.Errorf("attachment content type %q", a.ContentType)
		}
	}
}

func checkSafeHTML(t *testing.T, h string) {
	t.Helper()
	lower := strings.ToLower(h)
	for _, bad := range []string{"<script", "javascript:", "vbscript:", "<iframe", "<object", "<embed", "<form", "<style", "expression("} {
		if strings.Contains(lower, bad) {
			t.Errorf("sanitised HTML contains %q:\n%s", bad, h)
		}
	}
	if eventHandlerRe.MatchString(h) {
		t.Errorf("sanitised HTML has an event handler:\n%s", h)
	}
	if regexp.MustCompile(`(?i)<img[^>]+src="(https?:)?//`).MatchString(h) {
		t.Errorf("sanitised HTML loads a remote image:\n%s", h)
	}
}

func attNames(m *Message) []string {
	var out []string
	for _, a := range m.Attachments {
		out = append(out, a.Name+" ("+a.ContentType+")")
	}
	return out
}

func head(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

package parse

import "testing"

func TestStripQuoted(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{
			"gmail italian wrapped attribution",
			"Va bene, grazie.\n\nIl giorno lun 2 feb 2026 alle ore 16:40 Service Desk BDNA <\nassistenza@desk.example.it> ha scritto:\n\n> Gentile utente,\n> la password è stata reimpostata.\n",
			"Va bene, grazie.",
		},
		{
			"thunderbird italian",
			"Confermo, ora funziona.\n\nIl 03/02/2026 17:22, Service Desk Provincia ha scritto:\n> Gentile utente,\n> ...",
			"Confermo, ora funziona.",
		},
		{
			"apple mail italian",
			"Grazie mille.\r\n\r\nIl giorno 3 feb 2026, alle ore 10:02, Service Desk <assistenza@desk.example.it> ha scritto:\r\n\r\n> Buongiorno\r\n",
			"Grazie mille.",
		},
		{
			"in data",
			"Allego il modulo.\n\nIn data 2 febbraio 2026 10:15:03, Ufficio Protocollo ha scritto:\n> testo",
			"Allego il modulo.",
		},
		{
			"english gmail",
			"It works now.\n\nOn Mon, Feb 2, 2026 at 4:40 PM Service Desk <assistenza@desk.example.it> wrote:\n> Dear user,\n",
			"It works now.",
		},
		{
			"messaggio originale",
			"La stampante è ancora guasta.\n\n-----Messaggio originale-----\nDa: Service Desk\nInviato: lunedì 2 febbraio 2026 16:40\nOggetto: stampante\n\nAbbiamo inviato un tecnico.",
			"La stampante è ancora guasta.",
		},
		{
			"original message",
			"Still broken.\n-----Original Message-----\nFrom: Service Desk\nSent: Monday\nSubject: printer",
			"Still broken.",
		},
		{
			"outlook italian block with underscores",
			"Confermo la chiusura.\n\nLaura Bianchi\n\n________________________________\nDa: Service Desk BDNA <assistenza@desk.example.it>\nInviato: lunedì 2 febbraio 2026 16:40\nA: Bianchi Laura\nOggetto: RE: [#2026-000123] BDNA - errore di accesso\n\nGentile utente,",
			"Confermo la chiusura.\n\nLaura Bianchi",
		},
		{
			"outlook english block from html",
			"Please close the ticket.\n\n*From:* Service Desk <assistenza@desk.example.it>\n*Sent:* Monday, February 2, 2026 4:40 PM\n*To:* Laura\n*Subject:* RE: printer\n\nDear user",
			"Please close the ticket.",
		},
		{
			"new outlook with Data",
			"Ok.\n\nDa: Service Desk <assistenza@desk.example.it>\nData: lunedì 2 febbraio 2026 16:40\nA: Laura\nOggetto: RE: printer\n",
			"Ok.",
		},
		{
			"signature delimiter",
			"Il problema è risolto.\n\n-- \nMario Rossi\nComune di Ferrara",
			"Il problema è risolto.",
		},
		{
			"trailing quote block only",
			"Sì, confermo.\n\n> Può confermare la risoluzione?\n> Grazie",
			"Sì, confermo.",
		},
		{
			"bare attribution followed by quote",
			"Confermo.\n\nMario Rossi ha scritto:\n> testo precedente",
			"Confermo.",
		},
		{
			"interleaved quotes kept",
			"> Qual è il numero dell'inventario?\nPC-0231\n> E la sede?\nFerrara, via Roma\n\nGrazie",
			"> Qual è il numero dell'inventario?\nPC-0231\n> E la sede?\nFerrara, via Roma\n\nGrazie",
		},
		{
			"bottom posting keeps the new part",
			"Il giorno lun 2 feb 2026 alle ore 16:40 Service Desk <assistenza@desk.example.it> ha scritto:\n> Può confermare?\n\nSì, confermo che funziona.\n",
			"Sì, confermo che funziona.",
		},
		{
			"only a quote returns the whole text",
			"> testo citato\n> altra riga",
			"> testo citato\n> altra riga",
		},
		{
			"sentence ending with ha scritto without quote is kept",
			"Il dirigente ha scritto:\nservono due stampanti nuove.",
			"Il dirigente ha scritto:\nservono due stampanti nuove.",
		},
		{
			"ordinary Da: line is not an outlook block",
			"Da: lunedì la sede è chiusa.\nGrazie",
			"Da: lunedì la sede è chiusa.\nGrazie",
		},
		{"empty", "", ""},
		{"blank", "  \n\n ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripQuoted(tt.in); got != tt.want {
				t.Errorf("StripQuoted(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"R: RE: [#2026-000123] BDNA - errore di accesso", "[#2026-000123] BDNA - errore di accesso"},
		{"Re: Re: Re: stampante", "stampante"},
		{"RE:stampante", "stampante"},
		{"re : stampante", "stampante"},
		{"Re[2]: stampante", "stampante"},
		{"Re(3): stampante", "stampante"},
		{"Fwd: I: Inoltro: FW: Rif: R: firma digitale", "firma digitale"},
		{"fw: FWD: fwd:  firma\t digitale ", "firma digitale"},
		{"AW: WG: TR: SV: richiesta", "richiesta"},
		{"BDNA - errore di accesso", "BDNA - errore di accesso"},
		{"Informazioni nuovo service desk", "Informazioni nuovo service desk"},
		{"Rete non funzionante", "Rete non funzionante"},           // "Re" inside a word
		{"Ricevuta: consegna", "Ricevuta: consegna"},               // not a prefix
		{"Inoltrato il modulo", "Inoltrato il modulo"},             // no colon
		{"Re: [#2026-000123] RE: nota", "[#2026-000123] RE: nota"}, // only leading prefixes
		{"Re:", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeSubject(tt.in); got != tt.want {
			t.Errorf("NormalizeSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFindTicketRef(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"R: RE: [#2026-000123] BDNA - errore di accesso", "2026-000123", true},
		{"[#2026-000123]", "2026-000123", true},
		{"Re: stampante [# 2026-1234567 ]", "2026-1234567", true},
		{"[#2025-000001] e [#2026-000002]", "2025-000001", true},
		{"BDNA - errore di accesso", "", false},
		{"[2026-000123] senza cancelletto", "", false},
		{"[#abc-000123]", "", false},
		{"#2026-000123 senza parentesi", "", false},
	}
	for _, tt := range tests {
		got, ok := FindTicketRef(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FindTicketRef(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

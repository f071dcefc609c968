package mail

import (
	"context"
	"time"

	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/mail/mailbox"
	"github.com/sportello/sportello/internal/mail/route"
)

// National desk of the first seed (the BDNA service desk): its addresses,
// routing rules and office directory, as the demo loads them.
const (
	NationalDeskAddress = "assistenza@desk.example.it"
	NationalDeskPEC     = "assistenza@pec.desk.example.it"
)

// NationalDeskRetired are the national desk's retired addresses.
var NationalDeskRetired = []string{"assistenza.antimafia@desk.example.it", "progettoantimafia@desk.example.it"}

// NationalDeskRules are the national desk's routing rules: certificate
// renewals are redirected to the competent Prefecture; the BDNA acronym and
// the information subject choose their services (BDNA requests are also
// tagged "bdna"); the rest goes to triage
// with an answer asking which application is meant.
func NationalDeskRules() []route.Rule {
	return []route.Rule{
		{Name: "Rinnovo certificato digitale", When: []route.Condition{
			{Field: route.FieldText, Any: []string{"rinnov*", "renew*", "scadut*", "scadenza", "expir*"}},
			{Field: route.FieldText, Any: []string{"certificat*"}},
		}, Then: route.Action{Service: "rinnovo-certificato-bdna", Redirect: "prefettura"}},
		{Name: "Acronimo BDNA", When: []route.Condition{
			{Field: route.FieldSubject, Any: []string{"BDNA"}},
		}, Then: route.Action{Service: "bdna", Tags: []string{"bdna"}}},
		{Name: "Informazioni nuovo service desk", When: []route.Condition{
			{Field: route.FieldSubject, Any: []string{"Informazioni nuovo service desk"}},
		}, Then: route.Action{Service: "informazioni"}},
		{Name: "Smistamento", Then: route.Action{Queue: "smistamento", Reply: "ack_triage",
			Text: "Per le richieste sulla Banca Dati Nazionale Antimafia indichi BDNA nell'oggetto. / For the national anti-mafia database (BDNA) put BDNA in the subject."}},
	}
}

// NationalDeskOffices is the demo's office directory: the Prefecture of
// Ferrara, named by the seed notice. Import the full list of Prefectures
// from the IPA open data (see docs/mail.md).
func NationalDeskOffices() []route.Office {
	return []route.Office{{Code: "pref_fe", Kind: "prefettura", Province: "FE",
		Name: "Prefettura - Ufficio Territoriale del Governo di Ferrara", PEC: "protocollo.preffe@pec.interno.it"}}
}

// LoadDemo loads the national desk's addresses, rules and office directory
// for the organisation with that code. It is idempotent: rules are
// replaced only when the organisation has none, so an administrator's
// edits survive a second run.
func LoadDemo(ctx context.Context, st desk.Store, orgCode string, now time.Time) error {
	return mailbox.Update(ctx, st, func(tx mailbox.Tx) error {
		org, err := tx.OrgByCode(ctx, orgCode)
		if err != nil {
			return err
		}
		put := func(addr string, kind mailbox.AddressKind, at time.Time) error {
			return tx.PutAddress(ctx, mailbox.Address{Address: addr, OrgID: org.ID, Kind: kind, RetiredAt: at, Created: now})
		}
		if err := put(NationalDeskAddress, mailbox.KindDesk, time.Time{}); err != nil {
			return err
		}
		if err := put(NationalDeskPEC, mailbox.KindPEC, time.Time{}); err != nil {
			return err
		}
		// Retired since the new desk started (12 October 2020).
		since := time.Date(2020, 10, 11, 22, 0, 0, 0, time.UTC)
		for _, a := range NationalDeskRetired {
			if err := put(a, mailbox.KindRetired, since); err != nil {
				return err
			}
		}
		for _, o := range NationalDeskOffices() {
			if err := tx.PutOffice(ctx, &o, now); err != nil {
				return err
			}
		}
		existing, err := tx.Rules(ctx, org.ID)
		if err != nil || len(existing) > 0 {
			return err
		}
		rules := NationalDeskRules()
		// Keep only actions that fit this database (the catalogue may not
		// be loaded): an unknown service or queue is left out.
		for i := range rules {
			if s := rules[i].Then.Service; s != "" {
				if _, err := tx.ServiceByCode(ctx, org.ID, s); err != nil {
					rules[i].Then.Service = ""
				}
			}
			if q := rules[i].Then.Queue; q != "" {
				if _, err := tx.QueueByCode(ctx, org.ID, q); err != nil {
					rules[i].Then.Queue = ""
				}
			}
		}
		return tx.ReplaceRules(ctx, org.ID, rules, now)
	})
}

package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/workflow"
)

// TestServiceFields checks, on both engines, that the values of a
// service's own fields are checked against the catalogue by the desk,
// stored with the ticket and read back; a refused value writes nothing.
func TestServiceFields(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := storetest.NewFixture(t, open(t))
			wf := workflow.New(workflow.Opts{Desk: f.Desk})
			f.Desk.SetFieldChecker(wf.CheckFields)
			cat := &catalog.Catalogue{Organisation: catalog.OrgInfo{Code: "ente", Name: "Ente"}, Services: []catalog.Service{{
				Code: "stampanti", Name: "Stampanti", Description: "Assistenza alle stampanti.", Active: true, Queue: "sistemi-informativi",
				Fields: []catalog.FormField{
					{Code: "dispositivo", Label: "Dispositivo", LabelEN: "Device", Type: catalog.FieldSelect, Required: true,
						Options: []catalog.FieldOption{{Value: "rete", Label: "Stampante di rete", LabelEN: "Network printer"}}},
					{Code: "piano", Label: "Piano", Type: catalog.FieldNumber},
				},
			}}}
			if _, err := wf.ImportCatalogue(ctx, f.Admin, "", cat); err != nil {
				t.Fatal(err)
			}
			tk := f.Create(t, f.Requester, desk.NewTicket{Subject: "Stampante guasta", Service: "stampanti",
				Fields: map[string]string{"dispositivo": "rete", "piano": "2"}})
			got, err := f.Desk.Ticket(ctx, f.Requester, tk.Number)
			if err != nil {
				t.Fatal(err)
			}
			want := []desk.FieldValue{
				{Code: "dispositivo", Label: "Dispositivo", LabelEN: "Device", Type: "select", Value: "rete", Text: "Stampante di rete", TextEN: "Network printer"},
				{Code: "piano", Label: "Piano", Type: "number", Value: "2", Text: "2"},
			}
			if len(got.Fields) != 2 || got.Fields[0] != want[0] || got.Fields[1] != want[1] {
				t.Fatalf("fields = %+v", got.Fields)
			}
			tl, err := f.Desk.Timeline(ctx, f.Agent, tk.Number)
			if err != nil || len(tl.Ticket.Fields) != 2 {
				t.Fatalf("timeline fields: %v %+v", err, tl.Ticket.Fields)
			}

			before := f.Count(t, "tickets")
			for name, vals := range map[string]map[string]string{
				"missing required": {},
				"bad option":       {"dispositivo": "fax"},
				"bad number":       {"dispositivo": "rete", "piano": "secondo"},
				"unknown field":    {"dispositivo": "rete", "colore": "rosso"},
			} {
				_, err := f.Desk.CreateTicket(ctx, f.Requester, desk.NewTicket{Subject: "x", Service: "stampanti", Fields: vals})
				var de *desk.Error
				if desk.ErrorCode(err) != desk.EInvalid || !errors.As(err, &de) || len(de.Field) < 7 || de.Field[:7] != "fields." {
					t.Errorf("%s: %v", name, err)
				}
			}
			if f.Count(t, "tickets") != before {
				t.Fatal("a refused request left a ticket")
			}
			// Without a field map (an e-mail), required fields are not
			// enforced and nothing is stored.
			plain := f.Create(t, f.Agent, desk.NewTicket{Subject: "Da e-mail", Service: "stampanti", Channel: desk.ChannelEmail,
				Requester: desk.Contact{Email: "utente@example.it"}})
			if got, _ := f.Desk.Ticket(ctx, f.Agent, plain.Number); len(got.Fields) != 0 {
				t.Fatalf("plain ticket fields = %+v", got.Fields)
			}
			// Fields need a service.
			_, err = f.Desk.CreateTicket(ctx, f.Requester, desk.NewTicket{Subject: "x", Fields: map[string]string{"piano": "1"}})
			if desk.ErrorCode(err) != desk.EInvalid {
				t.Fatalf("fields without a service: %v", err)
			}
		})
	}
}

// TestPendingApprovals checks, on both engines, the approvers' list: a
// ticket whose current phase is a gate waits until it is approved; other
// organisations' approvers do not see it; agents have no such list.
func TestPendingApprovals(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := storetest.NewFixture(t, open(t))
			wf := workflow.New(workflow.Opts{Desk: f.Desk})
			f.Desk.SetHooks(wf.GuardTransition)
			cat := &catalog.Catalogue{Organisation: catalog.OrgInfo{Code: "ente", Name: "Ente"}, Services: []catalog.Service{{
				Code: "stampanti", Name: "Stampanti", Description: "D", Active: true, Queue: "sistemi-informativi",
				Phases: []catalog.Phase{
					{Code: "accettazione", Name: "Accettazione", Kind: catalog.PhaseApproval},
					{Code: "intervento", Name: "Intervento", Kind: catalog.PhaseIntervention},
				},
			}}}
			if _, err := wf.ImportCatalogue(ctx, f.Admin, "", cat); err != nil {
				t.Fatal(err)
			}
			mk := func(email, org string) desk.Actor {
				u, err := f.Desk.EnsureUser(ctx, desk.NewUser{Email: email, Name: email, Role: desk.RoleApprover, OrgCode: org})
				if err != nil {
					t.Fatal(err)
				}
				return desk.ActorFor(u)
			}
			boss, otherBoss := mk("responsabile@example.it", ""), mk("responsabile@altro.example.it", "altro-ente")
			waiting := f.Create(t, f.Requester, desk.NewTicket{Subject: "Stampante", Service: "stampanti"})
			plain := f.Create(t, f.Requester, desk.NewTicket{Subject: "Senza servizio"})
			_ = plain
			if _, err := wf.StartPhases(ctx, desk.SystemActor, waiting.Number); err != nil {
				t.Fatal(err)
			}
			list := func(a desk.Actor) []string {
				t.Helper()
				ts, err := wf.PendingApprovals(ctx, a, 50)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, k := range ts {
					out = append(out, k.Number)
				}
				return out
			}
			if got := list(boss); len(got) != 1 || got[0] != waiting.Number {
				t.Fatalf("approver's list = %v", got)
			}
			if got := list(otherBoss); len(got) != 0 {
				t.Fatalf("another organisation's approver sees %v", got)
			}
			if _, err := wf.PendingApprovals(ctx, f.Agent, 50); desk.ErrorCode(err) != desk.EForbidden {
				t.Fatalf("agent: %v", err)
			}
			if _, err := wf.Approve(ctx, boss, waiting.Number, "ok"); err != nil {
				t.Fatal(err)
			}
			if got := list(boss); len(got) != 0 {
				t.Fatalf("after approval: %v", got)
			}
		})
	}
}

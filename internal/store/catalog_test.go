package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/workflow"
)

// TestCatalogue checks the catalogue tables on both engines: a service the
// desk made outside the catalogue gains its details on import, versions
// and approvals are append-only, and phases are stored in order.
func TestCatalogue(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			f := storetest.NewFixture(t, open(t))
			wf := workflow.New(workflow.Opts{Desk: f.Desk})

			// The fixture's "stampanti" service has no details yet.
			before, err := wf.ExportCatalogue(ctx, f.Admin, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(before.Services) != 1 || before.Services[0].Code != "stampanti" || before.Services[0].Queue != "sistemi-informativi" {
				t.Fatalf("export before import: %+v", before.Services)
			}
			cat := &catalog.Catalogue{Organisation: catalog.OrgInfo{Code: "ente", Name: "Ente"}, Services: []catalog.Service{{
				Code: "stampanti", Name: "Stampanti", Description: "Assistenza alle stampanti.", Active: true, Queue: "sistemi-informativi",
				Phases: []catalog.Phase{
					{Code: "accettazione", Name: "Accettazione", Kind: catalog.PhaseApproval},
					{Code: "intervento", Name: "Intervento", Kind: catalog.PhaseIntervention},
				},
			}}}
			rep, err := wf.ImportCatalogue(ctx, f.Admin, "", cat)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rep.Updated, []string{"stampanti"}) || len(rep.Created) != 0 || len(rep.QueuesCreated) != 0 {
				t.Fatalf("report %+v", rep)
			}
			svc := f.Create(t, f.Requester, desk.NewTicket{Subject: "Stampante", Service: "stampanti"})
			p, err := wf.StartPhases(ctx, f.Requester, svc.Number)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Phases) != 2 || p.Phases[0].Seq != 1 || p.Phases[0].State != workflow.PhaseActive || !p.Phases[0].RequiresApproval {
				t.Fatalf("phases %+v", p.Phases)
			}
			if _, err := wf.Approve(ctx, f.Admin, svc.Number, "ok"); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"service_versions", "catalogue_org_versions", "approvals"} {
				if f.Count(t, table) == 0 {
					t.Fatalf("%s is empty", table)
				}
				if _, err := f.DB.SQL().Exec("DELETE FROM " + table); err == nil {
					t.Errorf("rows of %s can be deleted", table)
				}
			}
			if _, err := f.DB.SQL().Exec("UPDATE service_versions SET data = '{}'"); err == nil {
				t.Error("service versions can be changed")
			}
		})
	}
}

package workflow_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sportello/sportello/internal/catalog"
	"github.com/sportello/sportello/internal/desk"
	"github.com/sportello/sportello/internal/store/storetest"
	"github.com/sportello/sportello/internal/workflow"
)

func seed(tb testing.TB, load func() (*catalog.Catalogue, error)) *catalog.Catalogue {
	tb.Helper()
	cat, err := load()
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func exportFile(tb testing.TB, cat *catalog.Catalogue, format catalog.Format) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := catalog.Export(&b, cat, format); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestExportImportRoundTrip exports both seed catalogues, imports the files
// into an empty database of the same engine and exports again: nothing is
// lost.
func TestExportImportRoundTrip(t *testing.T) {
	for name, open := range storetest.Engines {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			src := newFixture(t, open(t))
			clk := storetest.NewClock(time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
			dst := workflow.New(workflow.Opts{Desk: storetest.NewDesk(t, open(t), clk.Now)})
			for _, tc := range []struct {
				load   func() (*catalog.Catalogue, error)
				format catalog.Format
			}{
				{catalog.ProvinciaBrindisi, catalog.FormatYAML},
				{catalog.DeskNazionale, catalog.FormatJSON},
			} {
				want := seed(t, tc.load)
				code := want.Organisation.Code
				got, err := src.wf.ExportCatalogue(ctx, desk.SystemActor, code)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: export differs from the seed:\n got %+v\nwant %+v", code, got, want)
				}
				file := exportFile(t, got, tc.format)
				rep, err := dst.ImportFile(ctx, desk.SystemActor, "", bytes.NewReader(file), tc.format)
				if err != nil {
					t.Fatal(err)
				}
				if !rep.OrgCreated || len(rep.Created) != len(want.Services) {
					t.Fatalf("%s: report %+v", code, rep)
				}
				again, err := dst.ExportCatalogue(ctx, desk.SystemActor, code)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(again, want) {
					t.Fatalf("%s: round trip lost something:\n got %+v\nwant %+v", code, again, want)
				}
				if !bytes.Equal(exportFile(t, again, tc.format), file) {
					t.Fatalf("%s: the re-exported file differs", code)
				}
			}
		})
	}
}

func TestImportIsIdempotentAndVersioned(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		versions := f.count(t, "service_versions")
		if versions != 13 { // 10 + 3 services, one version each
			t.Fatalf("%d versions after the seeds", versions)
		}
		// Loading the seeds again, or importing the same file, changes nothing.
		if err := f.wf.LoadSeeds(ctx); err != nil {
			t.Fatal(err)
		}
		cat := seed(t, catalog.ProvinciaBrindisi)
		rep, err := f.wf.ImportCatalogue(ctx, f.admin, "", cat)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Changed() || len(rep.Unchanged) != 10 {
			t.Fatalf("second import: %+v", rep)
		}
		if n := f.count(t, "service_versions"); n != versions {
			t.Fatalf("%d versions after re-importing, want %d", n, versions)
		}
		if n := f.count(t, "catalogue_org_versions"); n != 2 {
			t.Fatalf("%d organisation versions", n)
		}

		// A change is a new version that says who changed what.
		cat.Services[7].Description += "\n\nAssistenza anche per i plotter di rete."
		cat.Services[7].Collaborators = cat.Services[7].Collaborators[:2]
		retired := cat.Services[9].Code
		cat.Services = cat.Services[:9]
		rep, err = f.wf.ImportCatalogue(ctx, f.admin, workflow.OrgProvinciaBrindisi, cat)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rep.Updated, []string{"dispositivi-hardware-sito-web"}) || !slices.Equal(rep.Retired, []string{retired}) || len(rep.Created) != 0 {
			t.Fatalf("report %+v", rep)
		}
		hist, err := f.wf.ServiceHistory(ctx, f.agent, "provincia-brindisi", "dispositivi-hardware-sito-web")
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 2 || hist[1].Version != 2 || hist[1].ByName != "Amministratore" || hist[1].ByID != f.admin.UserID ||
			!slices.Equal(hist[1].Changed, []string{"collaborators", "description"}) || hist[0].ByName != "Sportello" {
			t.Fatalf("history %+v", hist)
		}
		if !strings.Contains(hist[1].Data.Description, "plotter") || strings.Contains(hist[0].Data.Description, "plotter") {
			t.Fatal("versions do not keep their data")
		}
		pub, err := f.wf.PublicCatalogue(ctx, workflow.OrgProvinciaBrindisi)
		if err != nil {
			t.Fatal(err)
		}
		if len(pub.Services) != 9 {
			t.Fatalf("%d public services after retiring one", len(pub.Services))
		}
		exp, err := f.wf.ExportCatalogue(ctx, f.admin, workflow.OrgProvinciaBrindisi)
		if err != nil {
			t.Fatal(err)
		}
		if len(exp.Services) != 10 || exp.Services[9].Active {
			t.Fatalf("export keeps the retired service, inactive: %+v", exp.Services[9])
		}
		// Reactivating is a version too; doing it twice is one.
		for range 2 {
			if err := f.wf.SetServiceActive(ctx, f.admin, workflow.OrgProvinciaBrindisi, retired, true); err != nil {
				t.Fatal(err)
			}
		}
		hist, _ = f.wf.ServiceHistory(ctx, f.admin, workflow.OrgProvinciaBrindisi, retired)
		if len(hist) != 3 || !slices.Equal(hist[2].Changed, []string{"active"}) {
			t.Fatalf("history %+v", hist)
		}
		// A ticket can be opened only on active services.
		if err := f.wf.SetServiceActive(ctx, f.admin, workflow.OrgProvinciaBrindisi, retired, false); err != nil {
			t.Fatal(err)
		}
		_, err = f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "x", Service: retired})
		wantCode(t, err, desk.EInvalid)
	})
}

func TestImportErrorsNameLineAndField(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	file := `version: 1
organisation:
  code: provincia-brindisi
  name: Provincia di Brindisi
services:
  - code: uno
    name: Primo
    description: Un servizio.
    smart_working: {a: Forse, b: Sussiste, c: Sussiste, d: Sussiste, e: Sussiste, f: Sussiste, g: Sussiste}
  - code: due
    descripton: refuso
`
	_, err := f.wf.ImportFile(ctx, f.admin, "", strings.NewReader(file), catalog.FormatYAML)
	wantCode(t, err, desk.EInvalid)
	var fes catalog.FileErrors
	if !errors.As(err, &fes) {
		t.Fatalf("%T is not catalog.FileErrors", err)
	}
	msg := desk.ErrorMessage(err)
	if msg != fes.Error() || !strings.Contains(msg, "line 11: services[1].descripton: unknown field") {
		t.Fatalf("message %q", msg)
	}
	// Shape fixed, content checked: the line and the field again.
	file = strings.Replace(file, "descripton", "description", 1)
	_, err = f.wf.ImportFile(ctx, f.admin, "", strings.NewReader(file), catalog.FormatYAML)
	wantCode(t, err, desk.EInvalid)
	if msg := desk.ErrorMessage(err); !strings.Contains(msg, "line 9: services[0].smart_working.a: invalid smart-working value \"Forse\"") ||
		!strings.Contains(msg, "services[1].name: is required") {
		t.Fatalf("message %q", msg)
	}
	// A catalogue built in code is validated too.
	bad := seed(t, catalog.ProvinciaBrindisi)
	bad.Services[0].Email = "non un indirizzo"
	_, err = f.wf.ImportCatalogue(ctx, f.admin, "", bad)
	wantCode(t, err, desk.EInvalid)
	if e := new(desk.Error); !errors.As(err, &e) || e.Field != "services[0].email" {
		t.Fatalf("field of %v", err)
	}
}

func TestCatalogueAccess(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	cat := seed(t, catalog.ProvinciaBrindisi)
	for _, a := range []desk.Actor{f.agent, f.approver, f.employee, f.outsider} {
		_, err := f.wf.ImportCatalogue(ctx, a, workflow.OrgProvinciaBrindisi, cat)
		wantCode(t, err, desk.EForbidden)
	}
	_, err := f.wf.ImportCatalogue(ctx, f.admin, "nuovo-ente", cat)
	wantCode(t, err, desk.ENotFound) // only installation administrators create organisations
	rep, err := f.wf.ImportCatalogue(ctx, f.installer, "nuovo-ente", cat)
	if err != nil || !rep.OrgCreated {
		t.Fatalf("%+v %v", rep, err)
	}
	exp, err := f.wf.ExportCatalogue(ctx, f.installer, "nuovo-ente")
	if err != nil || exp.Organisation.Code != "nuovo-ente" || exp.Organisation.Name != "Provincia di Brindisi" {
		t.Fatalf("%+v %v", exp, err)
	}
	for _, a := range []desk.Actor{f.employee, f.outsider} {
		_, err := f.wf.ExportCatalogue(ctx, a, workflow.OrgProvinciaBrindisi)
		wantCode(t, err, desk.ENotFound)
		_, err = f.wf.ServiceHistory(ctx, a, workflow.OrgProvinciaBrindisi, "firma-digitale")
		wantCode(t, err, desk.ENotFound)
	}
	err = f.wf.SetServiceActive(ctx, f.agent, workflow.OrgProvinciaBrindisi, "firma-digitale", false)
	wantCode(t, err, desk.EForbidden)
	err = f.wf.SetServiceActive(ctx, f.admin, workflow.OrgProvinciaBrindisi, "non-esiste", false)
	wantCode(t, err, desk.ENotFound)
	_, err = f.wf.PublicCatalogue(ctx, "non-esiste")
	wantCode(t, err, desk.ENotFound)
}

func TestPublicCatalogue(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	pub, err := f.wf.PublicCatalogue(ctx, "ministero-interno-dippp")
	if err != nil {
		t.Fatal(err)
	}
	if pub.Organisation.Notes != "" || pub.Organisation.TriageQueue != "" || len(pub.Services) != 3 {
		t.Fatalf("%+v", pub)
	}
	for _, s := range pub.Services {
		if s.Team != "" || s.Queue != "" {
			t.Fatalf("internal fields published: %+v", s)
		}
	}
	// The default organisation has no catalogue yet: an empty one.
	pub, err = f.wf.PublicCatalogue(ctx, "")
	if err != nil || pub.Organisation.Code != "ente" || len(pub.Services) != 0 {
		t.Fatalf("%+v %v", pub, err)
	}
}

func TestSaveService(t *testing.T) {
	f := newFixture(t, storetest.OpenSQLite(t))
	ctx := context.Background()
	s := catalog.Service{Code: "videoconferenze", Name: "Supporto alle videoconferenze", Description: "Allestimento delle sale.",
		Active: true, Queue: "sale-riunioni", Phases: []catalog.Phase{{Code: "verifica", Name: "Verifica", Kind: catalog.PhaseVerification}}}
	if err := f.wf.SaveService(ctx, f.admin, workflow.OrgProvinciaBrindisi, s); err != nil {
		t.Fatal(err)
	}
	exp, err := f.wf.ExportCatalogue(ctx, f.admin, workflow.OrgProvinciaBrindisi)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Services) != 11 || !reflect.DeepEqual(exp.Services[10], s) {
		t.Fatalf("%+v", exp.Services[len(exp.Services)-1])
	}
	s.SmartWorking = map[string]catalog.SmartWorkingValue{"a": catalog.Sussiste}
	err = f.wf.SaveService(ctx, f.admin, workflow.OrgProvinciaBrindisi, s)
	wantCode(t, err, desk.EInvalid)
	err = f.wf.SaveService(ctx, f.agent, workflow.OrgProvinciaBrindisi, s)
	wantCode(t, err, desk.EForbidden)
	// A ticket of the new service lands in its queue.
	tk, err := f.desk.CreateTicket(ctx, f.employee, desk.NewTicket{Subject: "Sala consiliare", Service: "videoconferenze"})
	if err != nil || tk.QueueCode != "sale-riunioni" {
		t.Fatalf("%+v %v", tk, err)
	}
}

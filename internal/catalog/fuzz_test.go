package catalog

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzImport feeds arbitrary bytes to Parse as YAML and as JSON (FormatAuto
// only picks one of the two). It must never panic; whatever it accepts must
// survive Export and Import in both formats unchanged and feed the
// transparency outputs without error.
func FuzzImport(f *testing.F) {
	// Small seeds: the engine minimises every input that finds new
	// coverage, which is slow for whole catalogues. One service of each
	// seed catalogue, in both formats, covers the same code.
	for _, load := range []func() (*Catalogue, error){ProvinciaBrindisi, DeskNazionale} {
		cat, err := load()
		if err != nil {
			f.Fatal(err)
		}
		cat.Services = cat.Services[2:3]
		for _, format := range []Format{FormatYAML, FormatJSON} {
			var buf bytes.Buffer
			if err := Export(&buf, cat, format); err != nil {
				f.Fatal(err)
			}
			f.Add(buf.Bytes())
		}
	}
	f.Add([]byte(minimal))
	f.Add([]byte(badYAML))
	f.Add([]byte("organisation: &o\n  code: ente\n  name: *o\n"))
	f.Add([]byte(`{"organisation": {"code": "ente", "name": "Ente"}, "services": [{"code": "a", "name": "A", "description": "x\ny ", "target_duration": "5 giorni lavorativi"}]}`))
	f.Add([]byte("organisation: {code: e, name: E}\nservices:\n  - {code: a, name: \"A\\t\", description: \"  x\\n\\n\"}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{FormatYAML, FormatJSON} {
			cat, err := Parse(data, format)
			if err != nil {
				if cat != nil {
					t.Fatal("catalogue returned with an error")
				}
				_ = err.Error()
				continue
			}
			for _, out := range []Format{FormatYAML, FormatJSON} {
				var buf bytes.Buffer
				if err := Export(&buf, cat, out); err != nil {
					t.Fatalf("Export %v: %v", out, err)
				}
				back, err := Parse(buf.Bytes(), out)
				if err != nil {
					t.Fatalf("re-import %v: %v\n%s", out, err, buf.Bytes())
				}
				if !reflect.DeepEqual(cat, back) {
					t.Fatalf("%v round trip differs:\n%#v\n%#v\n%s", out, cat, back, buf.Bytes())
				}
			}
			var sink bytes.Buffer
			if err := CSV(&sink, cat); err != nil {
				t.Fatal(err)
			}
			if err := JSON(&sink, cat); err != nil {
				t.Fatal(err)
			}
			for i := range cat.Services {
				if _, err := JSONLD(&cat.Services[i], &cat.Organisation); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

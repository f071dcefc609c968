package catalog

import (
	"embed"
	"fmt"
)

//go:embed seed/*.yaml
var seedFS embed.FS

// Seed file names, relative to the embedded seed directory.
const (
	SeedProvinciaBrindisi = "provincia-brindisi.yaml"
	SeedDeskNazionale     = "desk-nazionale.yaml"
)

// SeedFile returns the raw bytes of an embedded seed catalogue, e.g. to
// offer it for download or as an example.
func SeedFile(name string) ([]byte, error) {
	return seedFS.ReadFile("seed/" + name)
}

func loadSeed(name string) (*Catalogue, error) {
	data, err := SeedFile(name)
	if err != nil {
		return nil, err
	}
	cat, err := Parse(data, FormatYAML)
	if err != nil {
		return nil, fmt.Errorf("catalog: seed %s: %w", name, err)
	}
	return cat, nil
}

// ProvinciaBrindisi returns the catalogue of the ten procedimenti of the
// Provincia di Brindisi's Settore Sistemi Informativi e Statistici, as
// published (seed 003). Every call returns a new copy.
func ProvinciaBrindisi() (*Catalogue, error) { return loadSeed(SeedProvinciaBrindisi) }

// DeskNazionale returns the catalogue of the national first-level Service
// Desk for the users of the BDNA (seed 000): assistance, information
// requests and certificate renewals redirected to the competent
// Prefecture. Its organisation's TriageQueue is "smistamento". Every call
// returns a new copy.
func DeskNazionale() (*Catalogue, error) { return loadSeed(SeedDeskNazionale) }

package route

import (
	"bytes"
	"testing"
)

// FuzzImportCSV feeds arbitrary bytes to the office directory import that
// administrators reach by uploading a file: it must never panic, and every
// office it returns must be valid (bad rows are reported, not returned).
func FuzzImportCSV(f *testing.F) {
	for _, s := range []string{
		"code;name;province;pec\nut_fe;Prefettura - UTG - Ferrara;FE;protocollo.preffe@pec.interno.it\n",
		"Cod_amm\tDes_amm\tMail1\tTipo_Mail1\nm_it\tPrefettura di Bologna\tprotocollo.prefbo@pec.interno.it\tpec\n",
		"\xef\xbb\xbfcode,name,province,email\nx,\"Ufficio, con virgola\",RM,uff@example.it\n",
		"code,name\n\"non chiuso\n",
		"",
	} {
		f.Add([]byte(s), "", "")
	}
	f.Add([]byte("codice;denominazione;provincia;pec\na;Prefettura di Roma;RM;a@pec.it\n"), "prefettura", "Prefettura")
	f.Fuzz(func(t *testing.T, data []byte, kind, match string) {
		offices, _ := ImportCSV(bytes.NewReader(data), ImportOptions{Kind: kind, Match: match})
		for i := range offices {
			if err := offices[i].Validate(); err != nil {
				t.Fatalf("office %+v returned although invalid: %v", offices[i], err)
			}
		}
	})
}

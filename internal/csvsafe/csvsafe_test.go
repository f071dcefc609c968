package csvsafe

import "testing"

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "",
		"testo":                  "testo",
		"=HYPERLINK(\"x\")":      "'=HYPERLINK(\"x\")",
		"+39 0831 565353":        "'+39 0831 565353",
		"-2+3":                   "'-2+3",
		"@SUM(A1)":               "'@SUM(A1)",
		"\t=1":                   "'\t=1",
		"\r=1":                   "'\r=1",
		"-12.5":                  "'-12.5",
		"+7":                     "'+7",
		"12":                     "12",
		"mario@example.it":       "mario@example.it",
		"cmd|' /C calc'!A0 = sì": "cmd|' /C calc'!A0 = sì",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
	row := Row([]string{"=1", "a"})
	if row[0] != "'=1" || row[1] != "a" {
		t.Fatalf("Row: %q", row)
	}
}

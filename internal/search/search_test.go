package search

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, fts, ts string
	}{
		{"stampante", `"stampante"`, `'stampante'`},
		{"Perché NON funziona", `"perche" AND "non" AND "funziona"`, `'perche' & 'non' & 'funziona'`},
		{`"firma digitale" -toner`, `("firma" + "digitale") NOT "toner"`, `('firma' <-> 'digitale') & !'toner'`},
		{"stamp*", `"stamp"*`, `'stamp':*`},
		{"a* x", `"a" AND "x"`, `'a' & 'x'`},
		// Punctuation inside a token keeps its words adjacent, as a phrase.
		{`NEAR(a b) OR "x`, `("near" + "a") AND "b" AND "or" AND "x"`, `('near' <-> 'a') & 'b' & 'or' & 'x'`},
		{"-solo", "", ""},
		{"   ", "", ""},
		{"'; DROP TABLE tickets; --", `"drop" AND "table" AND "tickets"`, `'drop' & 'table' & 'tickets'`},
		{"l'utente", `("l" + "utente")`, `('l' <-> 'utente')`},
		{`"l'utente"`, `("l" + "utente")`, `('l' <-> 'utente')`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			q := Parse(tc.in)
			if got := q.FTS5(); got != tc.fts {
				t.Errorf("FTS5() = %s, want %s", got, tc.fts)
			}
			if got := q.TSQuery(); got != tc.ts {
				t.Errorf("TSQuery() = %s, want %s", got, tc.ts)
			}
		})
	}
}

func TestParseBoundsTerms(t *testing.T) {
	q := Parse(strings.Repeat("parola ", 100))
	if len(q.Terms) != MaxTerms {
		t.Fatalf("got %d terms, want %d", len(q.Terms), MaxTerms)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{"Perché": "perche", "ATTIVITÀ": "attivita", "più": "piu", "Città": "citta"} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse checks that any input yields engine expressions made only of
// quoted words and the operators we emit.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"stampante", `"firma digitale" -toner`, "stamp*", `a"b`, "-", "*", `""`, "ü'\"*-", "NEAR(x y)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Parse(s)
		fts, ts := q.FTS5(), q.TSQuery()
		if !utf8.ValidString(fts) || !utf8.ValidString(ts) {
			t.Fatalf("invalid UTF-8 output for %q", s)
		}
		if (fts == "") != q.Empty() || (ts == "") != q.Empty() {
			t.Fatalf("emptiness mismatch for %q: fts=%q ts=%q", s, fts, ts)
		}
		for _, term := range q.Terms {
			for _, w := range term.Words {
				if w == "" || strings.ContainsAny(w, `"'*()-:&|!<> `) {
					t.Fatalf("word %q from %q carries syntax", w, s)
				}
			}
		}
	})
}

func TestFoldConcurrent(t *testing.T) {
	done := make(chan bool)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 2000; i++ {
				if got := Fold("Perché l'attività è già più lunga"); got != "perche l'attivita e gia piu lunga" {
					t.Errorf("Fold = %q", got)
					break
				}
			}
			done <- true
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}

// Package search parses the search box's query language and renders it for
// each database's full-text engine. Users type words, "quoted phrases",
// prefixes (stamp*) and exclusions (-toner); everything else is treated as
// plain text, so no input can inject engine syntax.
package search

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Term is one element of a query.
type Term struct {
	Words  []string // one word, or several for a phrase
	Prefix bool     // last word is a prefix
	Negate bool
}

// Query is a parsed search.
type Query struct {
	Terms []Term
}

// MaxTerms bounds the work one query can ask for.
const MaxTerms = 16

// Empty reports whether the query has no positive term (and so matches
// nothing useful on its own).
func (q Query) Empty() bool {
	for _, t := range q.Terms {
		if !t.Negate {
			return false
		}
	}
	return true
}

// Parse reads a query. It never fails: malformed syntax degrades to words.
func Parse(s string) Query {
	var q Query
	s = strings.ToValidUTF8(s, " ")
	if len(s) > 1000 {
		s = s[:1000]
	}
	i := 0
	for i < len(s) && len(q.Terms) < MaxTerms {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		neg := false
		if s[i] == '-' && i+1 < len(s) && !isSpace(s[i+1]) {
			neg = true
			i++
		}
		var raw string
		phrase := false
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				raw = s[i+1:]
				i = len(s)
			} else {
				raw = s[i+1 : i+1+j]
				i += j + 2
			}
			phrase = true
		} else {
			j := i
			for j < len(s) && !isSpace(s[j]) {
				j++
			}
			raw = s[i:j]
			i = j
		}
		prefix := !phrase && strings.HasSuffix(raw, "*")
		words := Words(raw)
		if len(words) == 0 {
			continue
		}
		if prefix && len([]rune(words[len(words)-1])) < 2 {
			prefix = false
		}
		q.Terms = append(q.Terms, Term{Words: words, Prefix: prefix, Negate: neg})
	}
	return q
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// Words splits text into folded words: lower case, accents removed, letters
// and digits only. Indexing and querying both use it.
func Words(s string) []string {
	s = Fold(s)
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// folders pools the diacritic-removing transformers: a transform chain
// keeps state and must not be shared between goroutines.
var folders = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// Fold lower-cases text and removes diacritics ("Perché" → "perche").
func Fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	t := folders.Get().(transform.Transformer)
	out, _, err := transform.String(t, s)
	folders.Put(t)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FTS5 renders the query as an SQLite FTS5 MATCH expression, or "" when the
// query has no positive term. Every word is quoted, so FTS5 operators typed
// by users are inert.
func (q Query) FTS5() string {
	var pos, neg []string
	for _, t := range q.Terms {
		parts := make([]string, len(t.Words))
		for i, w := range t.Words {
			parts[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		}
		expr := strings.Join(parts, " + ")
		if t.Prefix {
			expr += "*"
		}
		if len(t.Words) > 1 {
			expr = "(" + expr + ")"
		}
		if t.Negate {
			neg = append(neg, expr)
		} else {
			pos = append(pos, expr)
		}
	}
	if len(pos) == 0 {
		return ""
	}
	out := strings.Join(pos, " AND ")
	for _, n := range neg {
		out += " NOT " + n
	}
	return out
}

// TSQuery renders the query for PostgreSQL's to_tsquery, or "" when the
// query has no positive term. Lexemes are quoted, so tsquery operators typed
// by users are inert.
func (q Query) TSQuery() string {
	var parts []string
	hasPos := false
	for _, t := range q.Terms {
		ws := make([]string, len(t.Words))
		for i, w := range t.Words {
			ws[i] = "'" + strings.ReplaceAll(w, "'", "''") + "'"
			if t.Prefix && i == len(t.Words)-1 {
				ws[i] += ":*"
			}
		}
		expr := strings.Join(ws, " <-> ")
		if len(ws) > 1 {
			expr = "(" + expr + ")"
		}
		if t.Negate {
			expr = "!" + expr
		} else {
			hasPos = true
		}
		parts = append(parts, expr)
	}
	if !hasPos {
		return ""
	}
	return strings.Join(parts, " & ")
}

package route

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Province is an Italian province (or metropolitan city, free consortium,
// autonomous province) with its two-letter vehicle-registration code.
type Province struct {
	Code string
	Name string
	// Aliases are other names found in text (official long forms, the
	// chief towns of multi-town provinces, German names).
	Aliases []string
}

// Provinces lists the 107 Italian provinces.
var Provinces = []Province{
	{"AG", "Agrigento", nil}, {"AL", "Alessandria", nil}, {"AN", "Ancona", nil},
	{"AO", "Aosta", []string{"Valle d'Aosta", "Vallée d'Aoste"}}, {"AR", "Arezzo", nil},
	{"AP", "Ascoli Piceno", []string{"Ascoli"}}, {"AT", "Asti", nil}, {"AV", "Avellino", nil},
	{"BA", "Bari", nil}, {"BT", "Barletta-Andria-Trani", []string{"Barletta", "Andria", "Trani"}},
	{"BL", "Belluno", nil}, {"BN", "Benevento", nil}, {"BG", "Bergamo", nil}, {"BI", "Biella", nil},
	{"BO", "Bologna", nil}, {"BZ", "Bolzano", []string{"Bozen", "Alto Adige", "Südtirol"}},
	{"BS", "Brescia", nil}, {"BR", "Brindisi", nil}, {"CA", "Cagliari", nil},
	{"CL", "Caltanissetta", nil}, {"CB", "Campobasso", nil}, {"CE", "Caserta", nil},
	{"CT", "Catania", nil}, {"CZ", "Catanzaro", nil}, {"CH", "Chieti", nil}, {"CO", "Como", nil},
	{"CS", "Cosenza", nil}, {"CR", "Cremona", nil}, {"KR", "Crotone", nil}, {"CN", "Cuneo", nil},
	{"EN", "Enna", nil}, {"FM", "Fermo", nil}, {"FE", "Ferrara", nil}, {"FI", "Firenze", []string{"Florence"}},
	{"FG", "Foggia", nil}, {"FC", "Forlì-Cesena", []string{"Forlì", "Cesena"}}, {"FR", "Frosinone", nil},
	{"GE", "Genova", nil}, {"GO", "Gorizia", nil}, {"GR", "Grosseto", nil}, {"IM", "Imperia", nil},
	{"IS", "Isernia", nil}, {"SP", "La Spezia", []string{"Spezia"}}, {"AQ", "L'Aquila", []string{"Aquila"}},
	{"LT", "Latina", nil}, {"LE", "Lecce", nil}, {"LC", "Lecco", nil}, {"LI", "Livorno", nil},
	{"LO", "Lodi", nil}, {"LU", "Lucca", nil}, {"MC", "Macerata", nil}, {"MN", "Mantova", nil},
	{"MS", "Massa-Carrara", []string{"Massa", "Carrara"}}, {"MT", "Matera", nil}, {"ME", "Messina", nil},
	{"MI", "Milano", nil}, {"MO", "Modena", nil}, {"MB", "Monza e della Brianza", []string{"Monza", "Brianza"}},
	{"NA", "Napoli", nil}, {"NO", "Novara", nil}, {"NU", "Nuoro", nil}, {"OR", "Oristano", nil},
	{"PD", "Padova", nil}, {"PA", "Palermo", nil}, {"PR", "Parma", nil}, {"PV", "Pavia", nil},
	{"PG", "Perugia", nil}, {"PU", "Pesaro e Urbino", []string{"Pesaro-Urbino", "Pesaro", "Urbino"}},
	{"PE", "Pescara", nil}, {"PC", "Piacenza", nil}, {"PI", "Pisa", nil}, {"PT", "Pistoia", nil},
	{"PN", "Pordenone", nil}, {"PZ", "Potenza", nil}, {"PO", "Prato", nil}, {"RG", "Ragusa", nil},
	{"RA", "Ravenna", nil}, {"RC", "Reggio Calabria", []string{"Reggio di Calabria"}},
	{"RE", "Reggio Emilia", []string{"Reggio nell'Emilia"}}, {"RI", "Rieti", nil}, {"RN", "Rimini", nil},
	{"RM", "Roma", []string{"Rome"}}, {"RO", "Rovigo", nil}, {"SA", "Salerno", nil}, {"SS", "Sassari", nil},
	{"SV", "Savona", nil}, {"SI", "Siena", nil}, {"SR", "Siracusa", nil}, {"SO", "Sondrio", nil},
	{"SU", "Sud Sardegna", []string{"Carbonia"}}, {"TA", "Taranto", nil}, {"TE", "Teramo", nil},
	{"TR", "Terni", nil}, {"TO", "Torino", []string{"Turin"}}, {"TP", "Trapani", nil}, {"TN", "Trento", nil},
	{"TV", "Treviso", nil}, {"TS", "Trieste", nil}, {"UD", "Udine", nil}, {"VA", "Varese", nil},
	{"VE", "Venezia", []string{"Venice"}}, {"VB", "Verbano-Cusio-Ossola", []string{"Verbania"}},
	{"VC", "Vercelli", nil}, {"VR", "Verona", nil}, {"VV", "Vibo Valentia", []string{"Vibo"}},
	{"VI", "Vicenza", nil}, {"VT", "Viterbo", nil},
}

// ambiguous names are ordinary words too ("fermo restando", "prato",
// "massa"): they count only after a word such as "Prefettura di".
var ambiguous = map[string]bool{"Fermo": true, "Prato": true, "Massa": true, "Lodi": true, "Como": true,
	"Latina": true, "Carrara": true, "Brianza": true, "Ascoli": true, "Vibo": true, "Aquila": true}

var (
	byCode = map[string]Province{}
	// names maps folded name words (joined by spaces) to codes, longest first.
	names []nameCode
	// codeRE finds a code in parentheses: "Comune di Cento (FE)".
	codeRE = regexp.MustCompile(`\(\s*([A-Z]{2})\s*\)`)
	// contextRE finds "provincia FE", "prov. di FE", "sigla FE".
	contextCodeRE = regexp.MustCompile(`(?i)\b(?:provincia|prov\.?|sigla)\s+(?:di\s+)?([A-Za-z]{2})\b`)
)

type nameCode struct {
	words []string
	code  string
	name  string
}

func init() {
	for _, p := range Provinces {
		byCode[p.Code] = p
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			names = append(names, nameCode{words: Words(n), code: p.Code, name: n})
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return len(names[i].words) > len(names[j].words) })
}

// ProvinceByCode returns the province with that code (any case).
func ProvinceByCode(code string) (Province, bool) {
	p, ok := byCode[strings.ToUpper(strings.TrimSpace(code))]
	return p, ok
}

// contextWords precede a province name in phrases such as "Prefettura di
// Ferrara", "provincia di Ferrara", "UTG di Ferrara", "Comune di Cento".
var linkWords = map[string]bool{"di": true, "del": true, "della": true, "dell": true, "of": true}

var contextWords = map[string]bool{"prefettura": true, "provincia": true, "prov": true, "utg": true,
	"governo": true, "citta": true, "metropolitana": true, "questura": true}

// FindProvince finds the province a text is about: a code in parentheses
// such as "(FE)" first, then "provincia FE", then a province name (after
// "Prefettura di", "provincia di"… or capitalised on its own). It returns
// the code and true, or "" and false when the text names none. When
// several are named, the first one in the text wins.
func FindProvince(text string) (string, bool) {
	for _, m := range codeRE.FindAllStringSubmatch(text, -1) {
		if _, ok := byCode[m[1]]; ok {
			return m[1], true
		}
	}
	for _, m := range contextCodeRE.FindAllStringSubmatch(text, -1) {
		if _, ok := byCode[strings.ToUpper(m[1])]; ok && (m[1] == strings.ToUpper(m[1])) {
			return strings.ToUpper(m[1]), true
		}
	}
	// Names: scan words once, remembering which original words were
	// capitalised.
	toks := tokens(text)
	words := make([]string, len(toks))
	for i, t := range toks {
		words[i] = t.folded
	}
	best, bestAt := "", len(words)+1
	for _, n := range names {
		for i := 0; i+len(n.words) <= len(words) && i < bestAt; i++ {
			if !equalWords(words[i:i+len(n.words)], n.words) {
				continue
			}
			context := i > 0 && (contextWords[words[i-1]] || (i > 1 && linkWords[words[i-1]] && contextWords[words[i-2]]))
			capital := toks[i].capital
			if context || (capital && !ambiguous[n.name]) {
				best, bestAt = n.code, i
				break
			}
		}
	}
	return best, best != ""
}

type token struct {
	folded  string
	capital bool
}

// tokens splits text into words as Words does, remembering which ones
// started with a capital letter.
func tokens(s string) []token {
	var out []token
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, token{folded: fold(string(cur)), capital: unicode.IsUpper(cur[0])})
			cur = cur[:0]
		}
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
			cur = append(cur, r)
		} else {
			flush()
		}
	}
	flush()
	return out
}

func equalWords(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

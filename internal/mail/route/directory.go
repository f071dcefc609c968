package route

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Office is an entry of the directory of offices requests may be redirected
// to, such as the Prefecture competent for a province.
type Office struct {
	ID int64 `json:"-"`
	// Code identifies the office (its IPA code when imported from IPA).
	Code string `json:"code"`
	// Kind groups offices (such as "prefettura"); Action.Redirect names it.
	Kind     string `json:"kind"`
	Province string `json:"province"` // two-letter code
	Name     string `json:"name"`
	PEC      string `json:"pec,omitempty"`
	Email    string `json:"email,omitempty"`
}

// Address is where requests are redirected: the PEC address, else the
// ordinary one.
func (o Office) Address() string {
	if o.PEC != "" {
		return o.PEC
	}
	return o.Email
}

// Validate checks an office.
func (o *Office) Validate() error {
	var errs []error
	if strings.TrimSpace(o.Code) == "" {
		errs = append(errs, errors.New("code is required"))
	}
	if strings.TrimSpace(o.Name) == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if strings.TrimSpace(o.Kind) == "" {
		errs = append(errs, errors.New("kind is required"))
	}
	if _, ok := ProvinceByCode(o.Province); !ok {
		errs = append(errs, fmt.Errorf("province %q is not an Italian province code", o.Province))
	}
	if o.Address() == "" {
		errs = append(errs, errors.New("a PEC or e-mail address is required"))
	}
	for _, a := range []string{o.PEC, o.Email} {
		if a == "" {
			continue
		}
		if p, err := mail.ParseAddress(a); err != nil || p.Address != a {
			errs = append(errs, fmt.Errorf("%q is not an e-mail address", a))
		}
	}
	return errors.Join(errs...)
}

// Competent returns the office of that kind for a province.
func Competent(offices []Office, kind, province string) (Office, bool) {
	for _, o := range offices {
		if strings.EqualFold(o.Kind, kind) && strings.EqualFold(o.Province, province) {
			return o, true
		}
	}
	return Office{}, false
}

// ImportOptions tune ImportCSV.
type ImportOptions struct {
	// Kind is given to every imported office (default "prefettura").
	Kind string
	// Match keeps only rows whose name contains this text (any case),
	// such as "Prefettura" when importing the whole IPA list.
	Match string
}

// columns lists, for each field, the header names accepted (lower case):
// Sportello's own, the IPA open-data "Enti" and "Unità organizzative"
// files, and the older IPA amministrazioni.txt.
var columns = map[string][]string{
	"code":     {"code", "codice", "codice_ipa", "cod_amm", "codice_uni_uo", "cod_uni_ou"},
	"name":     {"name", "nome", "denominazione_ente", "des_amm", "descrizione_uo", "des_ou", "denominazione"},
	"province": {"province", "provincia", "sigla_provincia", "prov"},
	"pec":      {"pec", "indirizzo_pec", "domicilio_digitale"},
	"email":    {"email", "mail", "e-mail"},
	"kind":     {"kind", "tipo"},
}

// ImportCSV reads offices from CSV with a header row. The separator
// (comma, semicolon or tab) is detected. Columns are found by name (see
// the documentation in docs/mail.md); IPA files list addresses in Mail1…Mail5
// with Tipo_Mail1…: the first "pec" one becomes the PEC address, the first
// other one the e-mail. A row without a province column gets the province
// named in the office's name ("Prefettura - UTG - Ferrara"). Rows that are
// not usable are reported, one error each, and skipped.
func ImportCSV(r io.Reader, opts ImportOptions) ([]Office, []error) {
	if opts.Kind == "" {
		opts.Kind = "prefettura"
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	head, _ := br.Peek(4096)
	cr := csv.NewReader(br)
	cr.Comma = detectComma(head)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil, []error{fmt.Errorf("read header: %w", err)}
	}
	idx := map[string]int{}
	mails := map[int]int{} // MailN column → Tipo_MailN column
	low := make([]string, len(header))
	for i, h := range header {
		low[i] = strings.ToLower(strings.TrimSpace(h))
	}
	for field, names := range columns {
		for _, n := range names {
			for i, h := range low {
				if _, done := idx[field]; !done && h == n {
					idx[field] = i
				}
			}
		}
	}
	for i, h := range low {
		if n, ok := strings.CutPrefix(h, "mail"); ok && len(n) == 1 && n[0] >= '1' && n[0] <= '9' {
			for j, t := range low {
				if t == "tipo_mail"+n {
					mails[i] = j
				}
			}
		}
	}
	if _, ok := idx["name"]; !ok {
		return nil, []error{errors.New("no name column (name, Denominazione_ente, Des_amm or Descrizione_uo)")}
	}
	if _, ok := idx["code"]; !ok {
		return nil, []error{errors.New("no code column (code, Codice_IPA, Cod_amm or Codice_uni_uo)")}
	}
	get := func(rec []string, field string) string {
		if i, ok := idx[field]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Office
	var errs []error
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			if len(errs) > 100 {
				break
			}
			continue
		}
		for i := range rec {
			rec[i] = strings.ToValidUTF8(rec[i], "")
		}
		o := Office{Code: get(rec, "code"), Name: get(rec, "name"), Province: strings.ToUpper(get(rec, "province")),
			PEC: strings.ToLower(get(rec, "pec")), Email: strings.ToLower(get(rec, "email")), Kind: get(rec, "kind")}
		if o.Kind == "" {
			o.Kind = opts.Kind
		}
		if opts.Match != "" && !strings.Contains(fold(o.Name), fold(opts.Match)) {
			continue
		}
		for mi, ti := range mails {
			if mi >= len(rec) || ti >= len(rec) || rec[mi] == "" {
				continue
			}
			addr := strings.ToLower(strings.TrimSpace(rec[mi]))
			if strings.EqualFold(strings.TrimSpace(rec[ti]), "pec") {
				if o.PEC == "" {
					o.PEC = addr
				}
			} else if o.Email == "" {
				o.Email = addr
			}
		}
		if o.Province == "" || len(o.Province) != 2 {
			if p, ok := FindProvince(o.Name); ok {
				o.Province = p
			} else if p, ok := provinceByName(o.Province); ok {
				o.Province = p
			}
		}
		if utf8.RuneCountInString(o.Name) > 300 {
			o.Name = string([]rune(o.Name)[:300])
		}
		if err := o.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("line %d (%s): %w", line, o.Code, err))
			continue
		}
		out = append(out, o)
	}
	return out, errs
}

func provinceByName(s string) (string, bool) {
	w := Words(s)
	for _, n := range names {
		if equalWords(w, n.words) {
			return n.code, true
		}
	}
	return "", false
}

func detectComma(head []byte) rune {
	first, _, _ := bytes.Cut(head, []byte("\n"))
	best, n := ',', bytes.Count(first, []byte(","))
	for _, c := range []rune{';', '\t', '|'} {
		if k := bytes.Count(first, []byte(string(c))); k > n {
			best, n = c, k
		}
	}
	return best
}

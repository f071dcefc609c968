package catalog

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// FormField is one piece of information a request for the service carries
// besides its subject and description: "its form shows what the service
// needs" (e.g. source, destination and port of a firewall rule). The portal
// and the agents' registration form render the fields; the desk validates
// the values (CheckValues) and stores them with the ticket.
type FormField struct {
	// Code identifies the field within its service (a slug); values are
	// keyed by it in forms and in the API.
	Code string `yaml:"code" json:"code"`
	// Label is the Italian label; LabelEN the English one (default Label).
	Label   string `yaml:"label" json:"label"`
	LabelEN string `yaml:"label_en,omitempty" json:"label_en,omitempty"`
	// Type is how the value is written and checked.
	Type FieldType `yaml:"type" json:"type"`
	// Required fields must be filled in on forms (see CheckValues).
	Required bool `yaml:"required,omitempty" json:"required,omitempty"`
	// Options are the choices of a select field, in order.
	Options []FieldOption `yaml:"options,omitempty" json:"options,omitempty"`
	// Help is a hint shown under the field (Italian); HelpEN in English.
	Help   string `yaml:"help,omitempty" json:"help,omitempty" catalog:"multiline"`
	HelpEN string `yaml:"help_en,omitempty" json:"help_en,omitempty" catalog:"multiline"`
}

// FieldOption is one choice of a select field. Value is what is stored; Label
// (Italian, default Value) and LabelEN (default Label) are shown.
type FieldOption struct {
	Value   string `yaml:"value" json:"value"`
	Label   string `yaml:"label,omitempty" json:"label,omitempty"`
	LabelEN string `yaml:"label_en,omitempty" json:"label_en,omitempty"`
}

// FieldType is the kind of a field's value.
type FieldType string

// The field types.
const (
	FieldText     FieldType = "text"     // one line
	FieldTextarea FieldType = "textarea" // several lines
	FieldSelect   FieldType = "select"   // one of Options
	FieldDate     FieldType = "date"     // YYYY-MM-DD
	FieldEmail    FieldType = "email"    // a bare address
	FieldNumber   FieldType = "number"   // a decimal number
)

// FieldTypes returns every valid field type.
func FieldTypes() []FieldType {
	return []FieldType{FieldText, FieldTextarea, FieldSelect, FieldDate, FieldEmail, FieldNumber}
}

// Valid reports whether t is one of the field types.
func (t FieldType) Valid() bool { return slices.Contains(FieldTypes(), t) }

// Limits on fields and their values.
const (
	MaxFields       = 30
	MaxOptions      = 100
	MaxValueLine    = 1000
	MaxValueText    = 10000
	maxNumberLength = 40
)

var numberRE = regexp.MustCompile(`^-?[0-9]+([.,][0-9]+)?$`)

// LabelIn returns the field's label in lang ("en" or Italian).
func (f FormField) LabelIn(lang string) string {
	if lang == "en" && f.LabelEN != "" {
		return f.LabelEN
	}
	return f.Label
}

// HelpIn returns the field's hint in lang ("en" or Italian).
func (f FormField) HelpIn(lang string) string {
	if lang == "en" && f.HelpEN != "" {
		return f.HelpEN
	}
	return f.Help
}

// LabelIn returns the option's label in lang ("en" or Italian).
func (o FieldOption) LabelIn(lang string) string {
	if lang == "en" && o.LabelEN != "" {
		return o.LabelEN
	}
	if o.Label != "" {
		return o.Label
	}
	return o.Value
}

func typeList() string {
	ts := FieldTypes()
	ss := make([]string, len(ts))
	for i, t := range ts {
		ss[i] = string(t)
	}
	return strings.Join(ss, ", ")
}

// validateFields checks a service's field definitions; p is the path of
// the service.
func validateFields(p string, fields []FormField, ps *problems) {
	if len(fields) > MaxFields {
		ps.add(join(p, "fields"), "too many fields (%d; at most %d)", len(fields), MaxFields)
	}
	codes := map[string]int{}
	for i, f := range fields {
		fp := fmt.Sprintf("%s[%d]", join(p, "fields"), i)
		requireCode(ps, fp+".code", f.Code)
		if f.Code != "" {
			if j, dup := codes[f.Code]; dup {
				ps.add(fp+".code", "duplicate field code %q (also fields[%d])", f.Code, j)
			} else {
				codes[f.Code] = i
			}
		}
		if strings.TrimSpace(f.Label) == "" {
			ps.add(fp+".label", "is required")
		}
		switch {
		case f.Type == "":
			ps.add(fp+".type", "is required (one of %s)", typeList())
		case !f.Type.Valid():
			ps.add(fp+".type", "invalid field type %q (one of %s)", string(f.Type), typeList())
		}
		if f.Type == FieldSelect && len(f.Options) == 0 {
			ps.add(fp+".options", "a select field needs options")
		}
		if f.Type != FieldSelect && f.Type.Valid() && len(f.Options) > 0 {
			ps.add(fp+".options", "only a select field has options")
		}
		if len(f.Options) > MaxOptions {
			ps.add(fp+".options", "too many options (%d; at most %d)", len(f.Options), MaxOptions)
		}
		seen := map[string]int{}
		for j, o := range f.Options {
			op := fmt.Sprintf("%s.options[%d]", fp, j)
			if strings.TrimSpace(o.Value) == "" {
				ps.add(op+".value", "is required")
				continue
			}
			if o.Value != strings.TrimSpace(o.Value) {
				ps.add(op+".value", "has spaces at the start or end")
			}
			if k, dup := seen[o.Value]; dup {
				ps.add(op+".value", "duplicate option %q (also options[%d])", o.Value, k)
			} else {
				seen[o.Value] = j
			}
		}
	}
}

// FieldValue is a checked value of a field, with the labels it was entered
// under, so that it reads the same after the catalogue changes.
type FieldValue struct {
	Code    string    `json:"code"`
	Label   string    `json:"label"`
	LabelEN string    `json:"label_en,omitempty"`
	Type    FieldType `json:"type"`
	// Value is the canonical value: trimmed; a date as YYYY-MM-DD; a
	// number with a point; a select option's value.
	Value string `json:"value"`
	// Text and TextEN are what is shown: a select option's label, else
	// the value itself.
	Text   string `json:"text"`
	TextEN string `json:"text_en,omitempty"`
}

// FieldProblem is a value refused by CheckValues; Field is the field's
// code; Required is set when a required field was left empty.
type FieldProblem struct {
	Field    string
	Msg      string
	Required bool
}

// ErrRequired is wrapped by the desk errors of required fields left empty.
var ErrRequired = errors.New("required field is empty")

func (p FieldProblem) Error() string { return "fields." + p.Field + ": " + p.Msg }

// CheckValues checks the values given for a service's fields and returns
// them in the fields' order, canonical, with empty optional fields left
// out. Values for unknown codes are refused. Required fields must be
// filled unless enforceRequired is false (a request that came as free
// text, such as an e-mail, cannot carry them). The first problem found is
// returned.
func CheckValues(fields []FormField, values map[string]string, enforceRequired bool) ([]FieldValue, *FieldProblem) {
	known := map[string]bool{}
	for _, f := range fields {
		known[f.Code] = true
	}
	var unknown []string
	for k := range values {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, &FieldProblem{Field: unknown[0], Msg: fmt.Sprintf("unknown field %q", unknown[0])}
	}
	var out []FieldValue
	for _, f := range fields {
		raw := strings.ReplaceAll(strings.ToValidUTF8(values[f.Code], "\uFFFD"), "\x00", "")
		raw = strings.TrimSpace(raw)
		if raw == "" {
			if f.Required && enforceRequired {
				return nil, &FieldProblem{Field: f.Code, Msg: fmt.Sprintf("%s is required", f.Label), Required: true}
			}
			continue
		}
		v := FieldValue{Code: f.Code, Label: f.Label, LabelEN: f.LabelEN, Type: f.Type, Value: raw, Text: raw}
		bad := func(format string, args ...any) *FieldProblem {
			return &FieldProblem{Field: f.Code, Msg: f.Label + ": " + fmt.Sprintf(format, args...)}
		}
		switch f.Type {
		case FieldTextarea:
			if utf8.RuneCountInString(raw) > MaxValueText {
				return nil, bad("longer than %d characters", MaxValueText)
			}
			raw = strings.ReplaceAll(raw, "\r\n", "\n")
			v.Value, v.Text = raw, raw
		case FieldSelect:
			i := slices.IndexFunc(f.Options, func(o FieldOption) bool { return o.Value == raw })
			if i < 0 {
				return nil, bad("%q is not one of the choices", clipValue(raw))
			}
			o := f.Options[i]
			v.Text, v.TextEN = o.LabelIn("it"), o.LabelIn("en")
			if v.TextEN == v.Text {
				v.TextEN = ""
			}
		case FieldDate:
			d, err := time.Parse("2006-01-02", raw)
			if err != nil {
				if d, err = time.Parse("02/01/2006", raw); err != nil {
					return nil, bad("%q is not a date (YYYY-MM-DD or DD/MM/YYYY)", clipValue(raw))
				}
			}
			v.Value = d.Format("2006-01-02")
			v.Text = d.Format("02/01/2006")
		case FieldEmail:
			a, err := mail.ParseAddress(raw)
			if err != nil || a.Address != raw || !strings.Contains(raw[strings.LastIndexByte(raw, '@')+1:], ".") {
				return nil, bad("%q is not an e-mail address", clipValue(raw))
			}
			v.Value, v.Text = strings.ToLower(raw), strings.ToLower(raw)
		case FieldNumber:
			if len(raw) > maxNumberLength || !numberRE.MatchString(raw) {
				return nil, bad("%q is not a number", clipValue(raw))
			}
			v.Value, v.Text = strings.Replace(raw, ",", ".", 1), raw
		default: // text
			raw = strings.Join(strings.Fields(raw), " ")
			if utf8.RuneCountInString(raw) > MaxValueLine {
				return nil, bad("longer than %d characters", MaxValueLine)
			}
			v.Value, v.Text = raw, raw
		}
		out = append(out, v)
	}
	return out, nil
}

func clipValue(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		return string(r[:40]) + "…"
	}
	return s
}

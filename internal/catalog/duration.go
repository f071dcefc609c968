package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DurationUnit is the unit of a Duration.
type DurationUnit string

// The units. Service-level targets run in office time (business days or
// hours, on the office's calendar); legal deadlines run in calendar days.
const (
	BusinessDays  DurationUnit = "business_days"
	BusinessHours DurationUnit = "business_hours"
	CalendarDays  DurationUnit = "calendar_days"
)

// Duration is a small typed span such as "5 giorni lavorativi". The zero
// value means "no target". In files it is written as text, in Italian
// ("5 giorni lavorativi", "8 ore lavorative", "30 giorni di calendario");
// ParseDuration also reads the English forms ("5 business days").
type Duration struct {
	Amount int
	Unit   DurationUnit
}

// maxDurationAmount bounds Amount: ten years of calendar days.
const maxDurationAmount = 3660

// IsZero reports whether d is unset.
func (d Duration) IsZero() bool { return d == Duration{} }

// String returns the Italian form, e.g. "5 giorni lavorativi", or "" for
// the zero value.
func (d Duration) String() string {
	if d.IsZero() {
		return ""
	}
	one := d.Amount == 1
	var unit string
	switch d.Unit {
	case BusinessDays:
		unit = pick(one, "giorno lavorativo", "giorni lavorativi")
	case BusinessHours:
		unit = pick(one, "ora lavorativa", "ore lavorative")
	case CalendarDays:
		unit = pick(one, "giorno di calendario", "giorni di calendario")
	default:
		unit = string(d.Unit)
	}
	return strconv.Itoa(d.Amount) + " " + unit
}

func pick(one bool, singular, plural string) string {
	if one {
		return singular
	}
	return plural
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d Duration) validate() error {
	if d.IsZero() {
		return nil
	}
	switch d.Unit {
	case BusinessDays, BusinessHours, CalendarDays:
	default:
		return fmt.Errorf("invalid duration unit %q", string(d.Unit))
	}
	if d.Amount <= 0 || d.Amount > maxDurationAmount {
		return fmt.Errorf("duration amount %d out of range 1–%d", d.Amount, maxDurationAmount)
	}
	return nil
}

var durationUnits = map[string]DurationUnit{
	"giorno lavorativo":    BusinessDays,
	"giorni lavorativi":    BusinessDays,
	"ora lavorativa":       BusinessHours,
	"ore lavorative":       BusinessHours,
	"giorno di calendario": CalendarDays,
	"giorni di calendario": CalendarDays,
	"giorno":               CalendarDays,
	"giorni":               CalendarDays,
	"giorni naturali":      CalendarDays,
	"business day":         BusinessDays,
	"business days":        BusinessDays,
	"working day":          BusinessDays,
	"working days":         BusinessDays,
	"business hour":        BusinessHours,
	"business hours":       BusinessHours,
	"working hour":         BusinessHours,
	"working hours":        BusinessHours,
	"calendar day":         CalendarDays,
	"calendar days":        CalendarDays,
	"day":                  CalendarDays,
	"days":                 CalendarDays,
}

// ParseDuration reads "N unit" where unit is one of "giorni lavorativi",
// "ore lavorative", "giorni di calendario" (or "giorni"), their singulars,
// or the English "business days", "business hours", "calendar days". The
// empty string gives the zero Duration.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Duration{}, nil
	}
	num, rest, ok := strings.Cut(s, " ")
	if !ok {
		return Duration{}, errors.New(`invalid duration: write a number and a unit, e.g. "5 giorni lavorativi" or "8 ore lavorative"`)
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return Duration{}, fmt.Errorf("invalid duration %q: %q is not a whole number", s, num)
	}
	unit, ok := durationUnits[strings.Join(strings.Fields(strings.ToLower(rest)), " ")]
	if !ok {
		return Duration{}, fmt.Errorf(`invalid duration %q: unknown unit %q (giorni lavorativi, ore lavorative, giorni di calendario)`, s, rest)
	}
	d := Duration{Amount: n, Unit: unit}
	if err := d.validate(); err != nil {
		return Duration{}, err
	}
	return d, nil
}

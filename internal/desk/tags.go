package desk

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of a ticket's tags.
const (
	MaxTags   = 20
	MaxTagLen = 40
)

// NormTag lower-cases and trims one tag and checks it: 1 to MaxTagLen
// letters, digits, '-', '_' or '.', starting with a letter or digit. Tags
// are single words so that they can be listed space-separated and matched
// exactly.
func NormTag(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" {
		return "", FieldError("tags", "empty tag")
	}
	if utf8.RuneCountInString(t) > MaxTagLen {
		return "", FieldError("tags", "tag %q is longer than %d characters", s, MaxTagLen)
	}
	for i, r := range t {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && (r == '-' || r == '_' || r == '.'))
		if !ok {
			return "", FieldError("tags", "tag %q may hold only letters, digits, '-', '_' and '.', starting with a letter or digit", s)
		}
	}
	return t, nil
}

// NormTags normalises a set of tags (see NormTag): sorted, without
// duplicates, at most MaxTags. A nil or empty input gives nil.
func NormTags(in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		t, err := NormTag(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxTags {
		return nil, FieldError("tags", "a ticket has at most %d tags", MaxTags)
	}
	return out, nil
}

// JoinTags renders a tag set as stored and shown in history: space-separated.
func JoinTags(tags []string) string { return strings.Join(tags, " ") }

// SplitTags parses what JoinTags wrote.
func SplitTags(s string) []string { return strings.Fields(s) }

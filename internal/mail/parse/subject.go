package parse

import (
	"regexp"
	"strings"
)

// replyPrefixRe matches one reply or forward prefix: Re:, R:, RE:, Fwd:,
// Fw:, I:, Inoltro:, Rif:, also numbered ("Re[2]:", "Re(2):"), plus the
// common German, French, Spanish and Nordic ones.
var replyPrefixRe = regexp.MustCompile(`(?i)^\s*(re|r|fwd|fw|i|inoltro|rif|risp|aw|wg|tr|rv|sv|vs|antw)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*`)

// ticketRefRe matches a ticket reference such as "[#2026-000123]".
var ticketRefRe = regexp.MustCompile(`\[\s*#\s*(\d{4}-\d{1,12})\s*\]`)

// NormalizeSubject strips any number of reply and forward prefixes
// ("R: RE: Fwd: …", case-insensitive, also "Re[2]:") and normalises white
// space, so that "R: RE: [#2026-000123] BDNA - errore di accesso" becomes
// "[#2026-000123] BDNA - errore di accesso".
func NormalizeSubject(s string) string {
	s = cleanLine(s)
	for {
		loc := replyPrefixRe.FindStringIndex(s)
		if loc == nil || loc[1] == 0 {
			break
		}
		s = s[loc[1]:]
	}
	return strings.TrimSpace(s)
}

// FindTicketRef extracts the first ticket reference from a subject:
// "R: [#2026-000123] BDNA" gives "2026-000123", true.
func FindTicketRef(subject string) (string, bool) {
	m := ticketRefRe.FindStringSubmatch(subject)
	if m == nil {
		return "", false
	}
	return m[1], true
}

package parse

import (
	"regexp"
	"strings"
)

var (
	// Reply attributions that start a quoted history. They may be wrapped
	// over up to three lines (Gmail breaks before the address) and must
	// contain a digit (the date), to spare ordinary sentences.
	//   Il giorno lun 2 feb 2026 alle ore 10:15 Mario Rossi <m.rossi@example.it> ha scritto:
	//   Il 02/02/2026 10:15, Mario Rossi ha scritto:
	//   In data 2 febbraio 2026 10:15, Mario Rossi ha scritto:
	//   On Mon, Feb 2, 2026 at 10:15 AM Mario Rossi <m.rossi@example.it> wrote:
	attributionRe = regexp.MustCompile(`(?i)^(il giorno|il|in data|on|le)\s.*\d.*\s(ha scritto|wrote|a écrit)\s*:\s*$`)
	// A bare attribution ("Mario Rossi ha scritto:"), accepted only when
	// quoted lines follow.
	bareAttributionRe = regexp.MustCompile(`(?i)\S.*\s(ha scritto|wrote)\s*:\s*$`)
	// -----Messaggio originale----- / -----Original Message-----
	originalMessageRe = regexp.MustCompile(`(?i)^-{2,}\s*(messaggio originale|original message|messaggio di origine)\s*-{2,}$`)
	// Outlook header blocks, also as converted from HTML ("*Da:* …").
	outlookFromRe    = regexp.MustCompile(`(?i)^\*?\s*(da|from)\s*:\s*\*?\s*\S`)
	outlookSentRe    = regexp.MustCompile(`(?i)^\*?\s*(inviato|inviato il|data|sent|date)\s*:\s*\*?\s*\S`)
	outlookSubjectRe = regexp.MustCompile(`(?i)^\*?\s*(oggetto|subject)\s*:`)
	underscoreRe     = regexp.MustCompile(`^_{10,}$`)
)

// StripQuoted returns only the new part of a reply. It cuts the text at the
// first of:
//   - a reply attribution in Italian or English ("Il giorno … ha scritto:",
//     "Il … ha scritto:", "On … wrote:"), even when wrapped over lines;
//   - "-----Messaggio originale-----" or "-----Original Message-----";
//   - an Outlook header block ("Da: … Inviato: … A: … Oggetto:",
//     "From: … Sent: … To: … Subject:"), with the line of underscores
//     Outlook puts above it;
//   - the signature delimiter "-- " (or "--");
//
// and drops a block of "> " quoted lines at the end. Quoted lines
// interleaved with new text are kept.
//
// If nothing is left above the cut (a bottom-posted reply), the text with
// quoted lines and attributions removed is returned instead, and if that is
// empty too, the whole trimmed input: StripQuoted never returns "" for input
// with content. Line endings become LF.
func StripQuoted(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	cut := findCut(lines)
	head := trimQuotedTail(lines[:cut])
	if s := joinTrim(head); s != "" {
		return s
	}
	// Bottom posting or nothing new: keep what is not quoted.
	var rest []string
	for i := 0; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if strings.HasPrefix(t, ">") {
			continue
		}
		if n := attributionAt(lines, i); n > 0 {
			i += n - 1
			continue
		}
		if isSignatureDelimiter(lines[i]) {
			break
		}
		rest = append(rest, lines[i])
	}
	if s := joinTrim(rest); s != "" {
		return s
	}
	return strings.TrimSpace(text)
}

// findCut returns the index of the first line of quoted history or
// signature, or len(lines).
func findCut(lines []string) int {
	for i, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case isSignatureDelimiter(line):
			return i
		case originalMessageRe.MatchString(t):
			return i
		case attributionAt(lines, i) > 0:
			return i
		case outlookFromRe.MatchString(t) && outlookBlock(lines, i):
			// Include the separator line Outlook puts above the block.
			for j := i - 1; j >= 0; j-- {
				u := strings.TrimSpace(lines[j])
				if u == "" {
					continue
				}
				if underscoreRe.MatchString(u) {
					return j
				}
				break
			}
			return i
		case isBareAttribution(t) && quotedFollows(lines, i+1):
			return i
		}
	}
	return len(lines)
}

// attributionAt returns how many lines (1–3) form a reply attribution
// starting at line i, or 0.
func attributionAt(lines []string, i int) int {
	t := strings.TrimSpace(lines[i])
	if t == "" || strings.HasPrefix(t, ">") {
		return 0
	}
	joined := t
	for n := 1; n <= 3 && i+n <= len(lines); n++ {
		if n > 1 {
			next := strings.TrimSpace(lines[i+n-1])
			if next == "" {
				return 0
			}
			joined += " " + next
		}
		// Cheap test first: every attribution ends with a colon.
		if strings.HasSuffix(joined, ":") && attributionRe.MatchString(joined) {
			return n
		}
	}
	return 0
}

// outlookBlock reports whether the "From:" line at i is followed, within a
// few lines, by a date/sent line and a subject line.
func outlookBlock(lines []string, i int) bool {
	sent, subject := false, false
	for j, n := i+1, 0; j < len(lines) && n < 6; j++ {
		t := strings.TrimSpace(lines[j])
		if t == "" {
			continue
		}
		n++
		if outlookSentRe.MatchString(t) {
			sent = true
		}
		if outlookSubjectRe.MatchString(t) {
			subject = true
		}
	}
	return sent && subject
}

func isBareAttribution(t string) bool {
	return strings.HasSuffix(t, ":") && bareAttributionRe.MatchString(t)
}

func quotedFollows(lines []string, i int) bool {
	for ; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == "" {
			continue
		}
		return strings.HasPrefix(t, ">")
	}
	return false
}

func isSignatureDelimiter(line string) bool {
	return line == "-- " || line == "--" || line == "-- \r"
}

// trimQuotedTail drops trailing blank and "> " quoted lines, and a bare
// attribution right above them.
func trimQuotedTail(lines []string) []string {
	end := len(lines)
	quoted := false
	for end > 0 {
		t := strings.TrimSpace(lines[end-1])
		if t == "" {
			end--
			continue
		}
		if strings.HasPrefix(t, ">") {
			quoted = true
			end--
			continue
		}
		break
	}
	if quoted && end > 0 && isBareAttribution(strings.TrimSpace(lines[end-1])) {
		end--
	}
	return lines[:end]
}

func joinTrim(lines []string) string {
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

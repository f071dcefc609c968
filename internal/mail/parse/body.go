package parse

import (
	"bufio"
	"bytes"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/inbucket/html2text"
	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
)

// defaultName is the base name of attachments that have none.
const defaultName = "allegato"

// maxForwardedName bounds, in characters, the subject used to name an
// attached message.
const maxForwardedName = 100

// maxNameBytes bounds attachment names (common file system limit).
const maxNameBytes = 255

// extensions gives default names their extension.
var extensions = map[string]string{
	"application/pdf":                         ".pdf",
	"application/xml":                         ".xml",
	"application/zip":                         ".zip",
	"application/pkcs7-signature":             ".p7s",
	"application/x-pkcs7-signature":           ".p7s",
	"application/pkcs7-mime":                  ".p7m",
	"application/x-pkcs7-mime":                ".p7m",
	"application/msword":                      ".doc",
	"application/vnd.ms-excel":                ".xls",
	"application/vnd.oasis.opendocument.text": ".odt",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       ".xlsx",
	"image/png":                        ".png",
	"image/jpeg":                       ".jpg",
	"image/gif":                        ".gif",
	"image/webp":                       ".webp",
	"image/bmp":                        ".bmp",
	"image/tiff":                       ".tif",
	"text/plain":                       ".txt",
	"text/html":                        ".html",
	"text/csv":                         ".csv",
	"text/xml":                         ".xml",
	"text/calendar":                    ".ics",
	"text/rfc822-headers":              ".txt",
	"message/rfc822":                   ".eml",
	"message/global":                   ".eml",
	"message/delivery-status":          ".txt",
	"message/disposition-notification": ".txt",
}

// bodyCollector walks the MIME tree, separating body text and HTML from
// attachments.
type bodyCollector struct {
	texts []string
	htmls []string
	atts  []Attachment
	w     *warnings
}

// altState makes a multipart/alternative contribute a single text and a
// single HTML body, whatever its nesting.
type altState struct{ text, html bool }

func readBody(m *Message, root *enmime.Part, opts Options, w *warnings) {
	c := &bodyCollector{w: w}
	c.walk(root, nil)
	m.Attachments = c.atts

	if len(c.htmls) > 0 {
		m.HTML = sanitize(strings.Join(c.htmls, "\n"), opts.CIDURL, opts.RemoteImages)
	}
	text := strings.Join(c.texts, "\n\n")
	if strings.TrimSpace(text) == "" && m.HTML != "" {
		// HTML-only mail (or an empty text part): convert the sanitised
		// HTML, so nothing removed from it (scripts, styles, hidden
		// tracking markup) reaches the text either.
		text = htmlToText(m.HTML)
	}
	m.Text = strings.TrimRight(text, " \t\n")
}

func (c *bodyCollector) walk(p *enmime.Part, alt *altState) {
	if p == nil {
		return
	}
	ctype := strings.ToLower(p.ContentType)
	if strings.HasPrefix(ctype, "multipart/") && p.FirstChild == nil && len(bytes.TrimSpace(p.Content)) > 0 {
		// A multipart without a boundary, read as a single part: keep its
		// content as text rather than lose it.
		c.w.addf("part %s: %s without parts: read as text", p.PartID, ctype)
		ctype = "text/plain"
	}
	if strings.HasPrefix(ctype, "multipart/") {
		if ctype == "multipart/alternative" && alt == nil {
			alt = &altState{}
		}
		for ch := p.FirstChild; ch != nil; ch = ch.NextSibling {
			c.walk(ch, alt)
		}
		return
	}
	body := !strings.EqualFold(p.Disposition, "attachment") && p.FileName == ""
	switch {
	case body && (ctype == "text/plain" || ctype == ""):
		if alt != nil {
			if alt.text {
				return // another rendition of the same text
			}
			alt.text = true
		}
		c.texts = append(c.texts, c.partText(p))
	case body && ctype == "text/html":
		if alt != nil {
			if alt.html {
				return
			}
			alt.html = true
		}
		c.htmls = append(c.htmls, c.partText(p))
	default:
		c.atts = append(c.atts, makeAttachment(p))
	}
}

// partText returns the decoded content of a text part as clean UTF-8,
// decoding text/plain format=flowed.
func (c *bodyCollector) partText(p *enmime.Part) string {
	s := string(p.Content)
	if !utf8.ValidString(s) {
		c.w.addf("part %s: content is not valid %s: decoded as Windows-1252", p.PartID, charsetName(p))
	}
	s = cleanText(s)
	if params := ctParams(p); strings.EqualFold(params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
	}
	return s
}

// ctParams returns the parameters of the part's Content-Type header
// (enmime does not keep them for parsed parts).
func ctParams(p *enmime.Part) map[string]string {
	_, params, _, err := mediatype.Parse(p.Header.Get("Content-Type"))
	if err != nil || params == nil {
		return map[string]string{}
	}
	return params
}

func charsetName(p *enmime.Part) string {
	if p.Charset == "" {
		return "UTF-8"
	}
	return p.Charset
}

func makeAttachment(p *enmime.Part) Attachment {
	ctype := strings.ToLower(p.ContentType)
	if ctype == "" || strings.HasPrefix(ctype, "multipart/") {
		ctype = "application/octet-stream"
	}
	cid := cleanLine(p.ContentID)
	disp := strings.ToLower(p.Disposition)
	name := p.FileName
	if strings.TrimSpace(name) == "" && (ctype == "message/rfc822" || ctype == "message/global") {
		name = forwardedName(p.Content)
	}
	return Attachment{
		Name:        SafeFileName(name, ctype),
		ContentType: ctype,
		ContentID:   cid,
		Inline:      disp == "inline" || (disp == "" && cid != ""),
		Data:        p.Content,
	}
}

// forwardedName names an attached message after its subject.
func forwardedName(content []byte) string {
	h, err := enmime.ReadHeader(bufio.NewReader(bytes.NewReader(content)), discardErrors{})
	if err != nil {
		return ""
	}
	subject := decodeHeaderText(h.Get("Subject"), nil)
	if subject == "" {
		return ""
	}
	if r := []rune(subject); len(r) > maxForwardedName {
		subject = string(r[:maxForwardedName])
	}
	return subject + ".eml"
}

// SafeFileName turns an attachment name from a message into one that is
// safe to store and offer for download: the last path element only, no
// control or bidirectional-override characters, no characters reserved on
// Windows, no leading dots, at most 255 bytes. An empty result becomes
// "allegato" with an extension for ctype (winmail.dat for TNEF).
func SafeFileName(name, ctype string) string {
	name = fixUTF8(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), isBidiControl(r), r == '\ufeff', r == utf8.RuneError:
			return -1
		case strings.ContainsRune(`:*?"<>|`, r):
			return '_'
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	if len(name) > maxNameBytes {
		ext := path.Ext(name)
		if len(ext) > 16 || !utf8.ValidString(ext) {
			ext = ""
		}
		cut := maxNameBytes - len(ext)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + ext
	}
	if name == "" {
		if ctype == "application/ms-tnef" || ctype == "application/vnd.ms-tnef" {
			return "winmail.dat"
		}
		return defaultName + extensions[strings.ToLower(ctype)]
	}
	return name
}

// htmlToText converts (sanitised) HTML to readable plain text.
func htmlToText(h string) string {
	t, err := html2text.FromString(h, html2text.Options{})
	if err != nil {
		return ""
	}
	return cleanText(t)
}

// unflow decodes RFC 3676 format=flowed text: soft line breaks (a line
// ending in a space) are joined, space-stuffing is removed, quote depth is
// respected and the signature separator "-- " is kept as a hard line.
func unflow(s string, delsp bool) string {
	lines := strings.Split(s, "\n")
	var out []string
	var cur strings.Builder
	curDepth := -1
	flush := func() {
		if curDepth >= 0 {
			out = append(out, cur.String())
		}
		cur.Reset()
		curDepth = -1
	}
	for _, line := range lines {
		depth := 0
		for depth < len(line) && line[depth] == '>' {
			depth++
		}
		content := line[depth:]
		content = strings.TrimPrefix(content, " ") // space-stuffing
		if curDepth >= 0 && depth != curDepth {
			flush()
		}
		if curDepth < 0 {
			curDepth = depth
			if depth > 0 {
				cur.WriteString(strings.Repeat(">", depth) + " ")
			}
		}
		soft := strings.HasSuffix(content, " ") && content != "-- "
		if soft && delsp {
			content = content[:len(content)-1]
		}
		cur.WriteString(content)
		if !soft {
			flush()
		}
	}
	flush()
	return strings.Join(out, "\n")
}

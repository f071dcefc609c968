package pec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"path"
	"strings"
)

// Limits that keep hostile input from costing more than linear work.
const (
	maxDepth = 16   // nesting of multipart entities
	maxParts = 1000 // entities visited in one message
)

// header is a parsed header block with canonical keys (textproto
// canonicalisation), values unfolded and trimmed, in message order.
type header map[string][]string

// get returns the first value of key, or "".
func (h header) get(key string) string {
	if v := h[textproto.CanonicalMIMEHeaderKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// entity is one MIME entity located inside the raw message. Its slices
// alias the caller's bytes: nothing is copied or rewritten, so the exact
// bytes covered by a signature stay available.
type entity struct {
	header header
	raw    []byte // header block + blank line + body, exactly as in the message
	body   []byte // body, still transfer-encoded
}

// parseEntity splits raw into header block and body. It is deliberately
// lenient (garbage header lines are skipped, a missing blank line means an
// empty body) and never fails: strictness belongs to the callers, which
// know what they need from the entity.
func parseEntity(raw []byte) *entity {
	e := &entity{header: header{}, raw: raw}
	var (
		lastKey string
		pos     int
	)
	for pos < len(raw) {
		end := bytes.IndexByte(raw[pos:], '\n')
		next := len(raw)
		if end >= 0 {
			end += pos
			next = end + 1
		} else {
			end = len(raw)
		}
		line := raw[pos:end]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 { // blank line: the body starts after it
			e.body = raw[next:]
			return e
		}
		pos = next
		if line[0] == ' ' || line[0] == '\t' { // folded continuation
			if lastKey != "" {
				vals := e.header[lastKey]
				cont := strings.TrimSpace(string(line))
				if cont != "" {
					if vals[len(vals)-1] == "" {
						vals[len(vals)-1] = cont
					} else {
						vals[len(vals)-1] += " " + cont
					}
				}
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			lastKey = "" // not a header line (mbox "From ", junk): skip it
			continue
		}
		key := strings.TrimSpace(string(line[:colon]))
		if key == "" || strings.ContainsAny(key, " \t") {
			lastKey = ""
			continue
		}
		key = textproto.CanonicalMIMEHeaderKey(key)
		e.header[key] = append(e.header[key], strings.TrimSpace(string(line[colon+1:])))
		lastKey = key
	}
	e.body = raw[len(raw):]
	return e
}

// mediaType returns the lower-case media type of the entity and its
// parameters. A missing or unparseable Content-Type is text/plain, as
// RFC 2045 prescribes; parameters that cannot be parsed are dropped.
func (e *entity) mediaType() (string, map[string]string) {
	ct := e.header.get("Content-Type")
	if ct == "" {
		return "text/plain", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if mt == "" {
		// ParseMediaType gives up on some real-world oddities; keep the
		// bare type so the structure can still be recognised.
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
		if !strings.Contains(mt, "/") {
			return "text/plain", nil
		}
	}
	if err != nil && params == nil {
		params = fallbackParams(ct)
	}
	return mt, params
}

// fallbackParams extracts name=value pairs from a header value that
// mime.ParseMediaType rejected (duplicate parameters, stray characters).
// The first occurrence of a name wins.
func fallbackParams(v string) map[string]string {
	params := map[string]string{}
	for _, field := range strings.Split(v, ";")[1:] {
		name, value, ok := strings.Cut(field, "=")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.Trim(strings.TrimSpace(value), `"`)
		if _, seen := params[name]; !seen && name != "" {
			params[name] = value
		}
	}
	return params
}

// filename returns the lower-cased base name of the entity, taken from the
// Content-Disposition filename parameter or the Content-Type name parameter.
func (e *entity) filename() string {
	var name string
	if cd := e.header.get("Content-Disposition"); cd != "" {
		_, params, err := mime.ParseMediaType(cd)
		if err != nil && params == nil {
			params = fallbackParams(cd)
		}
		name = params["filename"]
	}
	if name == "" {
		_, params := e.mediaType()
		name = params["name"]
	}
	if strings.HasPrefix(name, "=?") {
		if dec, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = dec
		}
	}
	name = strings.ReplaceAll(strings.TrimSpace(name), `\`, "/")
	if name == "" {
		return ""
	}
	return strings.ToLower(path.Base(name))
}

// decodedBody undoes the Content-Transfer-Encoding. Identity encodings
// (7bit, 8bit, binary, absent or unknown) return the body slice itself.
func (e *entity) decodedBody() ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(e.header.get("Content-Transfer-Encoding"))) {
	case "base64":
		return decodeBase64(e.body)
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(e.body)))
		if err != nil {
			return nil, fmt.Errorf("quoted-printable: %w", err)
		}
		return out, nil
	default:
		return e.body, nil
	}
}

// decodeBase64 decodes MIME base64, ignoring line breaks and other
// whitespace and tolerating missing padding.
func decodeBase64(b []byte) ([]byte, error) {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			clean = append(clean, c)
		}
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err == nil {
		return out[:n], nil
	}
	trimmed := bytes.TrimRight(clean, "=")
	out = make([]byte, base64.RawStdEncoding.DecodedLen(len(trimmed)))
	n, err2 := base64.RawStdEncoding.Decode(out, trimmed)
	if err2 == nil {
		return out[:n], nil
	}
	return nil, fmt.Errorf("base64: %w", err)
}

var errNoDelimiter = errors.New("no boundary delimiter found")

// splitMultipart cuts a multipart body into the raw bytes of its parts,
// following RFC 2046 §5.1.1: a delimiter line is "--" + boundary followed
// only by optional whitespace; the line break before a delimiter belongs to
// the delimiter, not to the preceding part. The preamble and epilogue are
// dropped. A missing close delimiter is tolerated (the last part runs to
// the end of the body); closed reports whether it was present.
func splitMultipart(body []byte, boundary string) (parts [][]byte, closed bool, err error) {
	if boundary == "" {
		return nil, false, errors.New("multipart without boundary parameter")
	}
	delim := []byte("--" + boundary)
	start := -1 // start of the current part, -1 while in the preamble
	pos := 0
	for pos < len(body) {
		lineStart := pos
		end := bytes.IndexByte(body[pos:], '\n')
		if end < 0 {
			pos = len(body)
			end = len(body)
		} else {
			end += pos
			pos = end + 1
		}
		line := body[lineStart:end]
		if !bytes.HasPrefix(line, delim) {
			continue
		}
		rest := line[len(delim):]
		isClose := bytes.HasPrefix(rest, []byte("--"))
		if !isClose && len(bytes.Trim(rest, " \t\r")) != 0 {
			continue // a longer boundary that merely shares the prefix
		}
		if start >= 0 {
			partEnd := lineStart
			if partEnd > start && body[partEnd-1] == '\n' {
				partEnd--
				if partEnd > start && body[partEnd-1] == '\r' {
					partEnd--
				}
			}
			parts = append(parts, body[start:partEnd])
			if len(parts) > maxParts {
				return nil, false, fmt.Errorf("more than %d parts", maxParts)
			}
		}
		if isClose {
			return parts, true, nil
		}
		start = pos
	}
	if start < 0 {
		return nil, false, errNoDelimiter
	}
	parts = append(parts, body[start:])
	return parts, false, nil
}

// children returns the parsed sub-entities of a multipart entity, or an
// error when the multipart structure cannot be recognised.
func (e *entity) children() ([]*entity, error) {
	_, params := e.mediaType()
	raws, _, err := splitMultipart(e.body, params["boundary"])
	if err != nil {
		return nil, err
	}
	out := make([]*entity, len(raws))
	for i, r := range raws {
		out[i] = parseEntity(r)
	}
	return out, nil
}

// isMultipart reports whether the entity's media type is multipart/*.
func (e *entity) isMultipart() bool {
	mt, _ := e.mediaType()
	return strings.HasPrefix(mt, "multipart/")
}

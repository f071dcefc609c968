package catalog

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// The catalogue file format is described in FORMAT.md. In short: one YAML
// or JSON document with the keys version (optional, 1), organisation,
// criteria and services; the keys of the nested objects are the yaml tags
// of the types in catalog.go.

// FormatVersion is the version of the file format that Export writes and
// Import accepts.
const FormatVersion = 1

// MaxFileSize bounds what Import reads.
const MaxFileSize = 8 << 20

// Format is a file format.
type Format int

// The formats.
const (
	// FormatAuto detects the format from the content: JSON when the first
	// character that is not white space is '{' or '[', YAML otherwise.
	FormatAuto Format = iota
	FormatYAML
	FormatJSON
)

func (f Format) String() string {
	switch f {
	case FormatYAML:
		return "yaml"
	case FormatJSON:
		return "json"
	}
	return "auto"
}

// FormatFor returns the format a file name's extension implies: FormatJSON
// for .json, FormatYAML for .yaml and .yml, FormatAuto otherwise.
func FormatFor(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return FormatJSON
	case ".yaml", ".yml":
		return FormatYAML
	}
	return FormatAuto
}

// FileError is one problem in a catalogue file. Line and Column count from
// 1 (0 when unknown); Field is the path of the field, such as
// "services[2].smart_working.f" (indices count from 0).
type FileError struct {
	Line   int
	Column int
	Field  string
	Msg    string
}

func (e *FileError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// FileErrors lists every problem found in a file, in file order. Import
// always returns its errors as FileErrors.
type FileErrors []*FileError

func (es FileErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the single errors, for errors.Is and errors.As.
func (es FileErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// maxErrors bounds how many problems one file reports.
const maxErrors = 100

// ImportFile reads a catalogue file, choosing the format by extension and
// falling back to detection.
func ImportFile(path string) (*Catalogue, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Import(f, FormatFor(path))
}

// Import reads a whole catalogue in the given format and validates it. On
// any problem it returns nil and FileErrors naming the line and the field
// of each problem: syntax errors, unknown or duplicate keys, values of the
// wrong type, and everything Catalogue.Validate finds.
func Import(r io.Reader, format Format) (*Catalogue, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, FileErrors{{Msg: fmt.Sprintf("file too large (more than %d bytes)", MaxFileSize)}}
	}
	return Parse(data, format)
}

// Parse is Import on a byte slice.
func Parse(data []byte, format Format) (*Catalogue, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if format == FormatAuto {
		format = sniff(data)
	}
	var root *node
	var err *FileError
	switch format {
	case FormatJSON:
		root, err = parseJSON(data)
	case FormatYAML:
		root, err = parseYAML(data)
	default:
		return nil, fmt.Errorf("catalog: unknown format %d", format)
	}
	if err != nil {
		return nil, FileErrors{err}
	}
	if root == nil || root.kind == nullNode {
		return nil, FileErrors{{Line: 1, Msg: "the file is empty"}}
	}

	d := &decoder{lines: map[string]int{}}
	var doc fileDoc
	d.decode(root, reflect.ValueOf(&doc).Elem(), "")
	if d.full {
		return nil, d.result()
	}
	if doc.Version != 0 && doc.Version != FormatVersion {
		d.errorAt("version", "unsupported format version %d (this program reads version %d)", doc.Version, FormatVersion)
		return nil, d.result()
	}
	if _, ok := d.lines["organisation"]; !ok && len(d.errs) == 0 {
		d.errorAt("organisation", "is required")
	}
	cat := &Catalogue{Organisation: doc.Organisation, Criteria: doc.Criteria, Services: doc.Services}
	if len(d.errs) == 0 {
		// Validation problems are only meaningful once the shape is right.
		var ps problems
		cat.validate(&ps)
		for _, p := range ps.list {
			d.errorAt(p.Field, "%s", p.Msg)
		}
	}
	if len(d.errs) > 0 {
		return nil, d.result()
	}
	return cat, nil
}

// fileDoc is the top level of a file.
type fileDoc struct {
	Version      int         `yaml:"version,omitempty" json:"version,omitempty"`
	Organisation OrgInfo     `yaml:"organisation" json:"organisation"`
	Criteria     []Criterion `yaml:"criteria,omitempty" json:"criteria,omitempty"`
	Services     []Service   `yaml:"services" json:"services"`
}

// Export writes the whole catalogue in the given format (FormatAuto means
// YAML). What Export writes, Import reads back into a deeply equal
// Catalogue, provided the catalogue is valid; empty lists and maps come
// back as nil.
func Export(w io.Writer, cat *Catalogue, format Format) error {
	if cat == nil {
		return errors.New("catalog: Export of a nil catalogue")
	}
	doc := fileDoc{Version: FormatVersion, Organisation: cat.Organisation, Criteria: cat.Criteria, Services: cat.Services}
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case FormatYAML, FormatAuto:
		n, err := yamlNode(reflect.ValueOf(doc))
		if err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(n); err != nil {
			return err
		}
		return enc.Close()
	}
	return fmt.Errorf("catalog: unknown format %d", format)
}

// yamlNode builds the YAML tree of a value, following the yaml tags of
// its type (omitempty included). Building the tree here, rather than with
// the yaml package's encoder, lets it choose each string's style so that
// the text reads back exactly: a literal block only for multi-line text a
// block represents exactly (no leading blank, no trailing blanks, no tabs
// or carriage returns), double quotes for anything else that a plain
// scalar could not carry. Short lists of short strings are written inline.
func yamlNode(v reflect.Value) (*yaml.Node, error) {
	if v.Kind() == reflect.Struct {
		if m, ok := v.Interface().(encoding.TextMarshaler); ok {
			text, err := m.MarshalText()
			if err != nil {
				return nil, err
			}
			return strNode(string(text)), nil
		}
	}
	switch v.Kind() {
	case reflect.String:
		return strNode(v.String()), nil
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}, nil
	case reflect.Int:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}, nil
	case reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		width := 0
		for i := 0; i < v.Len(); i++ {
			c, err := yamlNode(v.Index(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
			if c.Kind != yaml.ScalarNode || c.Style != 0 {
				width = 1 << 30
			}
			width += len(c.Value) + 2
		}
		if width < 72 {
			n.Style = yaml.FlowStyle
		}
		return n, nil
	case reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			c, err := yamlNode(v.MapIndex(k))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, strNode(k.String()), c)
		}
		return n, nil
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			key := yamlKey(f)
			if key == "" {
				continue
			}
			fv := v.Field(i)
			if strings.Contains(f.Tag.Get("yaml"), ",omitempty") && (fv.IsZero() || (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0) {
				continue
			}
			c, err := yamlNode(fv)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, strNode(key), c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("catalog: cannot encode %s", v.Type())
}

// yaml11Bool lists the words YAML 1.1 parsers read as booleans; they are
// quoted so that other tools read them as text too.
var yaml11Bool = map[string]bool{"y": true, "n": true, "yes": true, "no": true, "on": true, "off": true}

func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.Contains(s, "\n") && blockSafe(s):
		n.Style = yaml.LiteralStyle
	case strings.Contains(s, "\n") || !plainSafe(s) || yaml11Bool[strings.ToLower(s)]:
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func blockSafe(s string) bool {
	if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") || strings.ContainsAny(s, "\t\r") {
		return false
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasSuffix(line, " ") {
			return false
		}
	}
	return true
}

func plainSafe(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r > 0x7e && r < 0xa0 || r == '\u2028' || r == '\u2029' || r == '\uFEFF' {
			return false
		}
	}
	return true
}

func sniff(data []byte) Format {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return FormatJSON
	}
	return FormatYAML
}

// ---------------------------------------------------------------------------
// The format-neutral tree both parsers produce.

type nodeKind int

const (
	nullNode nodeKind = iota
	scalarNode
	mappingNode
	sequenceNode
)

func (k nodeKind) String() string {
	switch k {
	case scalarNode:
		return "a single value"
	case mappingNode:
		return "a mapping of keys to values"
	case sequenceNode:
		return "a list"
	}
	return "null"
}

type node struct {
	kind      nodeKind
	tag       string // for scalars: str, int, float, bool
	value     string
	line, col int
	keys      []*node // mapping keys (scalars), parallel to vals
	vals      []*node
	items     []*node // sequence items
}

// maxDepth bounds nesting; the schema is five levels deep.
const maxDepth = 64

// ---------------------------------------------------------------------------
// YAML

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parseYAML(data []byte) (root *node, ferr *FileError) {
	defer func() {
		if r := recover(); r != nil {
			root, ferr = nil, &FileError{Msg: fmt.Sprintf("malformed YAML (%v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &FileError{Line: extra.Line, Msg: "the file holds more than one YAML document"}
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(err)
	}
	c := &yamlConverter{memo: map[*yaml.Node]*node{}, busy: map[*yaml.Node]bool{}}
	return c.convert(&doc, 0)
}

func yamlError(err error) *FileError {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FileError{Line: line, Msg: "YAML syntax: " + m[2]}
	}
	return &FileError{Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

type yamlConverter struct {
	memo map[*yaml.Node]*node // converted anchors, shared by their aliases
	busy map[*yaml.Node]bool  // nodes being converted, to catch cycles
}

func (c *yamlConverter) convert(y *yaml.Node, depth int) (*node, *FileError) {
	if depth > maxDepth {
		return nil, &FileError{Line: y.Line, Column: y.Column, Msg: "nesting too deep"}
	}
	if n, ok := c.memo[y]; ok {
		return n, nil
	}
	if c.busy[y] {
		return nil, &FileError{Line: y.Line, Column: y.Column, Msg: "an alias refers to a node that contains it"}
	}
	c.busy[y] = true
	defer delete(c.busy, y)

	n := &node{line: y.Line, col: y.Column}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return nil, nil
		}
		return c.convert(y.Content[0], depth+1)
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, &FileError{Line: y.Line, Column: y.Column, Msg: "unknown alias"}
		}
		target, err := c.convert(y.Alias, depth+1)
		if err != nil {
			return nil, err
		}
		return target, nil
	case yaml.ScalarNode:
		switch y.ShortTag() {
		case "!!null":
			n.kind = nullNode
		case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
			n.kind, n.tag, n.value = scalarNode, strings.TrimPrefix(y.ShortTag(), "!!"), y.Value
		case "!!binary":
			return nil, &FileError{Line: y.Line, Column: y.Column, Msg: "binary values are not supported"}
		default:
			return nil, &FileError{Line: y.Line, Column: y.Column, Msg: fmt.Sprintf("unsupported tag %s", y.Tag)}
		}
	case yaml.SequenceNode:
		n.kind = sequenceNode
		for _, item := range y.Content {
			cn, err := c.convert(item, depth+1)
			if err != nil {
				return nil, err
			}
			if cn == nil {
				cn = &node{line: item.Line, col: item.Column}
			}
			n.items = append(n.items, cn)
		}
	case yaml.MappingNode:
		n.kind = mappingNode
		var merges []*node
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				mv, err := c.convert(v, depth+1)
				if err != nil {
					return nil, err
				}
				switch {
				case mv != nil && mv.kind == mappingNode:
					merges = append(merges, mv)
				case mv != nil && mv.kind == sequenceNode && allMappings(mv.items):
					merges = append(merges, mv.items...)
				default:
					return nil, &FileError{Line: k.Line, Column: k.Column, Msg: "a merge key (<<) needs a mapping or a list of mappings"}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				kk, err := c.convert(k, depth+1)
				if err != nil {
					return nil, err
				}
				if kk == nil || kk.kind != scalarNode {
					return nil, &FileError{Line: k.Line, Column: k.Column, Msg: "keys must be plain names"}
				}
				k = &yaml.Node{Kind: yaml.ScalarNode, Value: kk.value, Line: k.Line, Column: k.Column}
			}
			cv, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			if cv == nil {
				cv = &node{line: v.Line, col: v.Column}
			}
			n.keys = append(n.keys, &node{kind: scalarNode, tag: "str", value: k.Value, line: k.Line, col: k.Column})
			n.vals = append(n.vals, cv)
		}
		// Merged keys fill in what the mapping does not set; earlier
		// mappings in a merge list win over later ones.
		for _, m := range merges {
			for i, k := range m.keys {
				if !slices.ContainsFunc(n.keys, func(x *node) bool { return x.value == k.value }) {
					n.keys = append(n.keys, k)
					n.vals = append(n.vals, m.vals[i])
				}
			}
		}
	default:
		return nil, &FileError{Line: y.Line, Column: y.Column, Msg: "unsupported YAML node"}
	}
	c.memo[y] = n
	return n, nil
}

func allMappings(ns []*node) bool {
	for _, n := range ns {
		if n.kind != mappingNode {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// JSON

// lineIndex turns byte offsets into lines and columns.
type lineIndex []int // offsets at which lines start

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (li lineIndex) pos(off int64) (line, col int) {
	i := sort.Search(len(li), func(i int) bool { return int64(li[i]) > off }) - 1
	if i < 0 {
		i = 0
	}
	return i + 1, int(off) - li[i] + 1
}

type jsonParser struct {
	data []byte
	dec  *json.Decoder
	li   lineIndex
}

func parseJSON(data []byte) (*node, *FileError) {
	p := &jsonParser{data: data, dec: json.NewDecoder(bytes.NewReader(data)), li: newLineIndex(data)}
	p.dec.UseNumber()
	root, ferr := p.value(0)
	if ferr != nil {
		return nil, ferr
	}
	if root == nil {
		return nil, nil
	}
	start := p.tokenStart()
	if _, err := p.dec.Token(); !errors.Is(err, io.EOF) {
		line, col := p.li.pos(start)
		return nil, &FileError{Line: line, Column: col, Msg: "JSON syntax: unexpected data after the end of the document"}
	}
	return root, nil
}

// tokenStart returns the offset of the next token: the decoder's offset is
// the end of the previous one, so skip white space and separators.
func (p *jsonParser) tokenStart() int64 {
	off := p.dec.InputOffset()
	for off < int64(len(p.data)) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	return off
}

func (p *jsonParser) syntaxError(err error, at int64) *FileError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		at = se.Offset
		if at > 0 {
			at-- // Offset counts the offending byte
		}
	} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		at = int64(len(p.data))
		line, col := p.li.pos(at)
		return &FileError{Line: line, Column: col, Msg: "JSON syntax: unexpected end of file"}
	}
	line, col := p.li.pos(at)
	msg := err.Error()
	return &FileError{Line: line, Column: col, Msg: "JSON syntax: " + msg}
}

func (p *jsonParser) value(depth int) (*node, *FileError) {
	start := p.tokenStart()
	line, col := p.li.pos(start)
	if depth > maxDepth {
		return nil, &FileError{Line: line, Column: col, Msg: "nesting too deep"}
	}
	tok, err := p.dec.Token()
	if err != nil {
		if depth == 0 && errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, p.syntaxError(err, start)
	}
	n := &node{line: line, col: col}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.kind = mappingNode
			for p.dec.More() {
				ks := p.tokenStart()
				kt, err := p.dec.Token()
				if err != nil {
					return nil, p.syntaxError(err, ks)
				}
				key, ok := kt.(string)
				if !ok {
					kl, kc := p.li.pos(ks)
					return nil, &FileError{Line: kl, Column: kc, Msg: "JSON syntax: expected a key"}
				}
				kl, kc := p.li.pos(ks)
				v, ferr := p.value(depth + 1)
				if ferr != nil {
					return nil, ferr
				}
				n.keys = append(n.keys, &node{kind: scalarNode, tag: "str", value: key, line: kl, col: kc})
				n.vals = append(n.vals, v)
			}
		case '[':
			n.kind = sequenceNode
			for p.dec.More() {
				v, ferr := p.value(depth + 1)
				if ferr != nil {
					return nil, ferr
				}
				n.items = append(n.items, v)
			}
		default:
			return nil, &FileError{Line: line, Column: col, Msg: fmt.Sprintf("JSON syntax: unexpected %q", rune(t))}
		}
		es := p.tokenStart()
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			return nil, p.syntaxError(err, es)
		}
	case string:
		n.kind, n.tag, n.value = scalarNode, "str", t
	case json.Number:
		n.kind, n.value = scalarNode, t.String()
		n.tag = "float"
		if _, err := strconv.ParseInt(t.String(), 10, 64); err == nil {
			n.tag = "int"
		}
	case bool:
		n.kind, n.tag, n.value = scalarNode, "bool", strconv.FormatBool(t)
	case nil:
		n.kind = nullNode
	}
	return n, nil
}

// ---------------------------------------------------------------------------
// Decoding the tree into the types, strictly.

// maxVisits bounds the work of decoding, so that aliases cannot multiply a
// small file into a huge catalogue.
const maxVisits = 200_000

type decoder struct {
	errs   FileErrors
	lines  map[string]int // field path -> line, for validation problems
	cols   map[string]int
	visits int
	full   bool // too many errors or visits: stop
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (d *decoder) add(n *node, field, format string, args ...any) {
	if d.full {
		return
	}
	if len(d.errs) >= maxErrors {
		d.errs = append(d.errs, &FileError{Msg: "too many errors; stopping"})
		d.full = true
		return
	}
	e := &FileError{Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.line, n.col
	}
	d.errs = append(d.errs, e)
}

// errorAt reports a problem on a field path, located at the closest line
// recorded for the path or one of its parents.
func (d *decoder) errorAt(field, format string, args ...any) {
	p := field
	for {
		if line, ok := d.lines[p]; ok {
			d.add(&node{line: line, col: d.cols[p]}, field, format, args...)
			return
		}
		if p == "" {
			d.add(nil, field, format, args...)
			return
		}
		p = parentPath(p)
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func (d *decoder) result() error {
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if a.Line == 0 || b.Line == 0 {
			return a.Line != 0 && b.Line == 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return d.errs
}

// fieldIndex maps the yaml keys of a struct type to field indices.
var fieldIndex sync.Map // reflect.Type -> map[string]int

func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldIndex.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if k := yamlKey(t.Field(i)); k != "" {
			m[k] = i
		}
	}
	fieldIndex.Store(t, m)
	return m
}

func (d *decoder) decode(n *node, v reflect.Value, path string) {
	if d.full {
		return
	}
	d.visits++
	if d.visits > maxVisits {
		d.add(n, "", "the document is too large or expands too many aliases")
		d.full = true
		return
	}
	if d.cols == nil {
		d.cols = map[string]int{}
	}
	if _, ok := d.lines[path]; !ok {
		d.lines[path], d.cols[path] = n.line, n.col
	}
	if n.kind == nullNode {
		v.SetZero()
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		if n.kind != scalarNode {
			d.add(n, path, "expected text, found %s", n.kind)
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.value)); err != nil {
			d.add(n, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.String:
		if n.kind != scalarNode {
			d.add(n, path, "expected text, found %s", n.kind)
			return
		}
		v.SetString(n.value)
	case reflect.Bool:
		if n.kind != scalarNode || n.tag != "bool" {
			d.add(n, path, "expected true or false, found %s", describe(n))
			return
		}
		v.SetBool(strings.EqualFold(n.value, "true"))
	case reflect.Int:
		i, err := strconv.Atoi(n.value)
		if n.kind != scalarNode || n.tag != "int" || err != nil {
			d.add(n, path, "expected a whole number, found %s", describe(n))
			return
		}
		v.SetInt(int64(i))
	case reflect.Slice:
		if n.kind != sequenceNode {
			d.add(n, path, "expected a list, found %s", describe(n))
			return
		}
		if len(n.items) == 0 {
			v.SetZero()
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.items), len(n.items))
		for i, item := range n.items {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.kind != mappingNode {
			d.add(n, path, "expected a mapping, found %s", describe(n))
			return
		}
		if len(n.keys) == 0 {
			v.SetZero()
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.keys))
		seen := map[string]bool{}
		for i, k := range n.keys {
			fp := join(path, k.value)
			if seen[k.value] {
				d.add(k, fp, "duplicate key %q", k.value)
				continue
			}
			seen[k.value] = true
			d.lines[fp], d.cols[fp] = k.line, k.col
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(n.vals[i], ev, fp)
			m.SetMapIndex(reflect.ValueOf(k.value).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.Struct:
		if n.kind != mappingNode {
			d.add(n, path, "expected a mapping, found %s", describe(n))
			return
		}
		if s, ok := v.Addr().Interface().(*Service); ok {
			s.Active = true // services are active unless the file says otherwise
		}
		fields := fieldsOf(v.Type())
		seen := map[string]bool{}
		for i, k := range n.keys {
			fp := join(path, k.value)
			idx, ok := fields[k.value]
			if !ok {
				d.add(k, fp, "unknown field %q%s", k.value, suggest(k.value, fields))
				continue
			}
			if seen[k.value] {
				d.add(k, fp, "duplicate key %q", k.value)
				continue
			}
			seen[k.value] = true
			d.lines[fp], d.cols[fp] = k.line, k.col
			d.decode(n.vals[i], v.Field(idx), fp)
		}
	default:
		d.add(n, path, "unsupported field type %s", v.Type())
	}
}

func describe(n *node) string {
	if n.kind == scalarNode {
		v := n.value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	}
	return n.kind.String()
}

// suggest proposes the closest known key for a misspelt one.
func suggest(key string, fields map[string]int) string {
	best, bestD := "", 3
	for f := range fields {
		if d := editDistance(strings.ToLower(key), f); d < bestD || d == bestD && best != "" && f < best {
			best, bestD = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

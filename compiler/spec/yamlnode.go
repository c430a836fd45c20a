package spec

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/etk-build/etk/compiler/diag"
	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a spec file; larger ones are refused, not parsed.
const MaxFileSize = 8 << 20

// maxNodes bounds the nodes a walk visits, so that alias-heavy documents
// (a "billion laughs") cannot blow up through the walkers below.
const maxNodes = 1 << 20

// maxDepth bounds how deep the recursive walkers (merge keys, values) go:
// an alias inside the node it refers to (`&a {<<: *a}`, `&a [*a]`) is a
// cycle, and following it would overflow the stack before the visit
// budget runs out.
const maxDepth = 1000

// doc is a parsed YAML document with its file name, for positioned
// diagnostics.
type doc struct {
	file   string
	src    []byte
	diags  *diag.List
	visits int
	depth  int
	deep   bool // reported errTooDeep
	// dups remembers, per mapping, the repeated keys to drop: a mapping
	// is walked more than once, its repetitions reported once.
	dups map[*yaml.Node]map[int]bool
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses src as one YAML document. It returns nil (and records a
// diagnostic) on a syntax error; an empty document gives an empty mapping.
func parseYAML(file string, src []byte, diags *diag.List) *yaml.Node {
	if len(src) > MaxFileSize {
		diags.Errorf(diag.Pos{File: file}, "file is %d bytes, larger than the %d allowed for a spec", len(src), MaxFileSize)
		return nil
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		line := bytes.Count(src[:i], []byte("\n")) + 1
		diags.Errorf(diag.Pos{File: file, Line: line}, "binary data (NUL byte) in a YAML file")
		return nil
	}
	if d := diag.InvalidUTF8(file, src); d != nil {
		diags.Add(d)
		return nil
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		diags.Add(yamlError(file, src, err))
		return nil
	}
	// A second document is most likely a stray "---": say so rather than
	// silently ignoring half a file. Only files with a separator pay for
	// the second parse.
	if bytes.Contains(src, []byte("\n---")) {
		dec := yaml.NewDecoder(bytes.NewReader(src))
		var first, extra yaml.Node
		if dec.Decode(&first) == nil && dec.Decode(&extra) == nil {
			diags.Errorf(diag.Pos{File: file, Line: extra.Line, Col: extra.Column}, "more than one YAML document in a spec file")
		}
	}
	n := &root
	if n.Kind == 0 { // nothing but comments or white space
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	}
	return n
}

// yamlError turns a yaml.v3 error into a positioned diagnostic.
func yamlError(file string, src []byte, err error) *diag.Diagnostic {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		line = yamlErrorLine(line, m[2])
		return &diag.Diagnostic{Pos: diag.Pos{File: file, Line: line, Col: 1}, Msg: "invalid YAML: " + m[2], Detail: diag.Excerpt(src, line, 1)}
	}
	msg = trimYAMLPrefix(msg)
	line, col := 1, 1
	// yaml.v3 does not say where an unknown alias is; find its first use.
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		name, _ = strings.CutSuffix(name, "' referenced")
		if i := bytes.Index(src, []byte("*"+name)); i >= 0 {
			line = bytes.Count(src[:i], []byte("\n")) + 1
			col = i - bytes.LastIndexByte(src[:i], '\n')
		}
	}
	return &diag.Diagnostic{Pos: diag.Pos{File: file, Line: line, Col: col}, Msg: "invalid YAML: " + msg, Detail: diag.Excerpt(src, line, col)}
}

// yamlErrorLine corrects the line of a yaml.v3 error: its parser errors
// ("did not find expected key") count lines from 0, its scanner errors
// ("mapping values are not allowed in this context") from 1.
func yamlErrorLine(line int, msg string) int {
	for _, p := range []string{"did not find expected ", "found undefined tag handle", "found incompatible YAML document", "found duplicate %"} {
		if strings.HasPrefix(msg, p) {
			return line + 1
		}
	}
	return line
}

func trimYAMLPrefix(s string) string {
	if len(s) > 6 && s[:6] == "yaml: " {
		return s[6:]
	}
	return s
}

func (d *doc) pos(n *yaml.Node) diag.Pos {
	if n == nil {
		return diag.Pos{File: d.file}
	}
	return diag.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *doc) errorf(n *yaml.Node, format string, args ...any) {
	d.diags.Errorf(d.pos(n), format, args...)
}

// budget counts a visit and reports false once the walk is too large.
func (d *doc) budget(n *yaml.Node) bool {
	d.visits++
	if d.visits == maxNodes {
		d.errorf(n, "document too large or too deeply aliased")
	}
	return d.visits < maxNodes
}

// enter counts one level of recursion and reports false (once, as an
// error at n) past maxDepth; call leave when it returns true.
func (d *doc) enter(n *yaml.Node) bool {
	if d.depth >= maxDepth {
		if !d.deep {
			d.deep = true
			d.errorf(n, "%s", errTooDeep)
		}
		return false
	}
	d.depth++
	return true
}

func (d *doc) leave() { d.depth-- }

func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

type pair struct{ key, value *yaml.Node }

// pairs returns the key/value pairs of a mapping, with `<<` merge keys
// expanded the YAML way: explicit keys win over merged ones, and among
// merged mappings the first one wins.
func (d *doc) pairs(n *yaml.Node) []pair {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	if !d.enter(n) {
		return nil
	}
	defer d.leave()
	hasMerge := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "") {
			hasMerge = true
			break
		}
	}
	drop, checked := d.dups[n]
	if !checked {
		drop = d.checkDuplicates(n)
		if d.dups == nil {
			d.dups = map[*yaml.Node]map[int]bool{}
		}
		d.dups[n] = drop
	}
	if !hasMerge {
		out := make([]pair, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !d.budget(n.Content[i]) {
				return nil
			}
			if drop[i] {
				continue
			}
			out = append(out, pair{n.Content[i], n.Content[i+1]})
		}
		return out
	}
	var own, merged []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !d.budget(k) {
			return nil
		}
		if drop[i] {
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "") {
			v = resolve(v)
			switch {
			case v == nil:
			case v.Kind == yaml.MappingNode:
				merged = append(merged, d.pairs(v)...)
			case v.Kind == yaml.SequenceNode:
				for _, m := range v.Content {
					merged = append(merged, d.pairs(m)...)
				}
			default:
				d.errorf(v, "merge key << needs a mapping or a list of mappings")
			}
			continue
		}
		own = append(own, pair{k, v})
		seen[k.Value] = true
	}
	out := own
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			out = append(out, p)
		}
	}
	return out
}

// checkDuplicates reports keys written twice in one mapping and returns
// the indexes (into n.Content) of the later copies, which are dropped. luet
// accepts repeated keys and keeps the last one: a key repeated with the same
// value loses nothing and is a warning; with another value, the first one
// would be lost without a word, so it is an error.
func (d *doc) checkDuplicates(n *yaml.Node) map[int]bool {
	keys := n.Content
	var drop map[int]bool
	report := func(i, j int) {
		k, prev := keys[i], keys[j]
		if drop == nil {
			drop = map[int]bool{}
		}
		drop[i] = true
		if d.equal(keys[i+1], keys[j+1]) {
			d.diags.Warnf(d.pos(k), "key %q is repeated with the same value as at line %d; the repetition is ignored", k.Value, prev.Line)
			return
		}
		d.errorf(k, "key %q is already defined at line %d, with another value (luet would silently keep this one and lose the first): remove one", k.Value, prev.Line)
	}
	if len(keys) <= 32 {
		for i := 2; i < len(keys); i += 2 {
			for j := 0; j < i; j += 2 {
				if dupKey(keys[i], keys[j]) {
					report(i, j)
					break
				}
			}
		}
		return drop
	}
	first := map[string]int{}
	for i := 0; i < len(keys); i += 2 {
		k := keys[i]
		if k.Kind != yaml.ScalarNode || k.Value == "<<" {
			continue
		}
		if j, ok := first[k.Value]; ok {
			report(i, j)
			continue
		}
		first[k.Value] = i
	}
	return drop
}

func dupKey(a, b *yaml.Node) bool {
	return a.Kind == yaml.ScalarNode && b.Kind == yaml.ScalarNode && a.Value == b.Value && a.Value != "<<"
}

// equal reports whether two nodes hold the same data: the same kinds, tags
// and scalars, aliases followed, positions and comments aside. It counts
// against the visit budget, so that comparing aliased bombs stays bounded.
func (d *doc) equal(a, b *yaml.Node) bool {
	a, b = resolve(a), resolve(b)
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Kind != b.Kind || len(a.Content) != len(b.Content) {
		return false
	}
	if !d.budget(a) {
		return false
	}
	switch a.Kind {
	case yaml.ScalarNode:
		return a.ShortTag() == b.ShortTag() && a.Value == b.Value
	case yaml.MappingNode, yaml.SequenceNode, yaml.DocumentNode:
		if !d.enter(a) {
			return false
		}
		defer d.leave()
		for i := range a.Content {
			if !d.equal(a.Content[i], b.Content[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// kind names a node kind for messages.
func kind(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "an unknown node"
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// str decodes a scalar as its literal text (so `1.10` stays "1.10").
func (d *doc) str(n *yaml.Node, field string) (string, bool) {
	n = resolve(n)
	if isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: want a string, got %s", field, kind(n))
		return "", false
	}
	return n.Value, true
}

func (d *doc) boolean(n *yaml.Node, field string) (bool, bool) {
	n = resolve(n)
	if isNull(n) {
		return false, true
	}
	var b bool
	// yaml.v3 takes luet's YAML 1.1 booleans (yes, no, on, off) here.
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		d.errorf(n, "%s: want true or false, got %s", field, describe(n))
		return false, false
	}
	return b, true
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return kind(n)
}

// strList decodes a list of scalars; a single scalar is accepted as a list
// of one, as luet does.
func (d *doc) strList(n *yaml.Node, field string) []string {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list of strings, got %s", field, kind(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		if !d.budget(item) {
			return out
		}
		if s, ok := d.str(item, field+" entry"); ok && !isNull(item) {
			out = append(out, s)
		}
	}
	return out
}

// strMap decodes a mapping of scalars (labels, annotations).
func (d *doc) strMap(n *yaml.Node, field string) map[string]string {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping, got %s", field, kind(n))
		return nil
	}
	out := map[string]string{}
	for _, p := range d.pairs(n) {
		if s, ok := d.str(p.value, fmt.Sprintf("%s.%s", field, p.key.Value)); ok {
			out[p.key.Value] = s
		}
	}
	return out
}

// ref decodes {category, name, version}.
func (d *doc) ref(n *yaml.Node, field string) (Ref, bool) {
	r := Ref{Pos: d.pos(n)}
	if resolve(n) == nil || resolve(n).Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping with name, category and version, got %s", field, kind(n))
		return r, false
	}
	ok := true
	for _, p := range d.pairs(n) {
		var good bool
		switch p.key.Value {
		case "name":
			r.Name, good = d.str(p.value, field+".name")
		case "category":
			r.Category, good = d.str(p.value, field+".category")
		case "version":
			r.Version, good = d.str(p.value, field+".version")
		default:
			// luet accepts any package field here and ignores it.
			good = true
		}
		ok = ok && good
	}
	if r.Name == "" && ok {
		d.errorf(n, "%s: missing name", field)
		return r, false
	}
	return r, ok
}

func (d *doc) refList(n *yaml.Node, field string) []Ref {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list, got %s", field, kind(n))
		return nil
	}
	out := make([]Ref, 0, len(n.Content))
	for _, item := range n.Content {
		if !d.budget(item) {
			return out
		}
		if r, ok := d.ref(item, field+" entry"); ok {
			out = append(out, r)
		}
	}
	return out
}

// value converts a node to the Go value yaml.v3 would decode it to for an
// interface{} target (maps as map[string]any), without the reflection of
// Node.Decode for the common tags; anything unusual falls back to Decode.
func (d *doc) value(n *yaml.Node) (any, error) {
	n = resolve(n)
	if n == nil {
		return nil, nil
	}
	if !d.budget(n) {
		return nil, errTooLarge
	}
	if !d.enter(n) {
		return nil, errTooDeep
	}
	defer d.leave()
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return n.Value, nil
		case "!!null":
			return nil, nil
		case "!!bool", "!!int", "!!float":
			var v any
			err := n.Decode(&v)
			return v, err
		}
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := d.value(c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		ps := d.pairs(n)
		out := make(map[string]any, len(ps))
		for _, p := range ps {
			if p.key.Kind != yaml.ScalarNode || (p.key.ShortTag() != "!!str" && p.key.ShortTag() != "!!int") {
				var v any
				err := n.Decode(&v)
				return v, err
			}
			v, err := d.value(p.value)
			if err != nil {
				return nil, err
			}
			out[p.key.Value] = v
		}
		return out, nil
	}
	var v any
	err := n.Decode(&v)
	return v, err
}

var (
	errTooLarge = errorString("document too large or too deeply aliased")
	errTooDeep  = errorString("nested too deeply, or an alias refers to a node that contains it")
)

type errorString string

func (e errorString) Error() string { return string(e) }

package values

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/etk-build/etk/compiler/diag"
	"go.yaml.in/yaml/v3"
)

// Values is a tree of template values, as decoded from YAML.
type Values = map[string]any

// maxFileSize bounds a values file.
const maxFileSize = 8 << 20

// Load reads a values file: a YAML mapping (an empty file is no values).
func Load(fsys fs.FS, name, display string) (Values, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		// Name the file as the user wrote it, not as fs.FS saw it.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("values file %s: does not exist: %w", display, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("values file %s: %w", display, err)
	}
	return Parse(display, src)
}

// Parse decodes values from YAML source; file names positions in errors.
func Parse(file string, src []byte) (Values, error) {
	if len(src) > maxFileSize {
		return nil, &diag.Diagnostic{Pos: diag.Pos{File: file}, Msg: "values file too large"}
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		line := bytes.Count(src[:i], []byte("\n")) + 1
		return nil, &diag.Diagnostic{Pos: diag.Pos{File: file, Line: line}, Msg: "binary data (NUL byte) in a values file"}
	}
	if d := diag.InvalidUTF8(file, src); d != nil {
		return nil, d
	}
	var node yaml.Node
	if err := yaml.Unmarshal(src, &node); err != nil {
		return nil, positioned(file, src, err)
	}
	if len(node.Content) == 0 {
		return Values{}, nil
	}
	root := node.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return Values{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &diag.Diagnostic{Pos: diag.Pos{File: file, Line: root.Line, Col: root.Column}, Msg: "values must be a mapping"}
	}
	var v Values
	if err := root.Decode(&v); err != nil {
		return nil, positioned(file, src, err)
	}
	return Normalize(v).(Values), nil
}

func positioned(file string, src []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.Index(rest, ":"); i > 0 {
			if n, e := strconv.Atoi(rest[:i]); e == nil {
				line, msg = n, strings.TrimSpace(rest[i+1:])
				// yaml.v3's parser errors count lines from 0, its scanner
				// errors from 1.
				for _, p := range []string{"did not find expected ", "found undefined tag handle", "found incompatible YAML document", "found duplicate %"} {
					if strings.HasPrefix(msg, p) {
						line++
						break
					}
				}
			}
		}
	}
	return &diag.Diagnostic{Pos: diag.Pos{File: file, Line: line, Col: 1}, Msg: "invalid YAML: " + msg, Detail: diag.Excerpt(src, line, 1)}
}

// Normalize turns map[any]any (YAML's non-string keys) into map[string]any
// all the way down, so that templates and merges see one map type.
func Normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = Normalize(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = Normalize(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = Normalize(e)
		}
		return t
	}
	return v
}

// Merge returns layers merged left to right: later layers win; mappings
// merge key by key, everything else (lists included) is replaced. The inputs
// are not modified.
func Merge(layers ...Values) Values {
	out := Values{}
	for _, l := range layers {
		mergeInto(out, l)
	}
	return out
}

func mergeInto(dst, src Values) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merged := make(map[string]any, len(dm)+len(sm))
				mergeInto(merged, dm)
				mergeInto(merged, sm)
				dst[k] = merged
				continue
			}
			cp := make(map[string]any, len(sm))
			mergeInto(cp, sm)
			dst[k] = cp
			continue
		}
		dst[k] = v
	}
}

// ParseSet parses --set expressions "a.b.c=value" into values. The value is
// YAML-typed (true, 3, [a, b]) unless it is quoted; an empty value is "".
func ParseSet(exprs []string) (Values, error) {
	out := Values{}
	for _, e := range exprs {
		key, raw, ok := strings.Cut(e, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--set %q: want key=value", e)
		}
		var val any = ""
		if raw != "" {
			if err := yaml.Unmarshal([]byte(raw), &val); err != nil {
				val = raw
			}
			val = Normalize(val)
		}
		path := strings.Split(key, ".")
		m := out
		for i, p := range path {
			if p == "" {
				return nil, fmt.Errorf("--set %q: empty key segment", e)
			}
			if i == len(path)-1 {
				m[p] = val
				break
			}
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
	}
	return out, nil
}

// Keys lists the top-level keys, sorted.
func Keys(v Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/etk-build/etk/compiler/spec"
)

// IndexFormat versions Index.
const IndexFormat = "etk-index/v1"

// Index lists the packages of a repository: what a client resolves
// against and downloads from. It is published as index.json.
type Index struct {
	// Format is IndexFormat; Encode fills it in when empty.
	Format string `json:"format"`
	// Name is the repository's name.
	Name string `json:"name"`
	// Tree is the compile tree (rendered specs and values), so that a
	// derivative repository can build on top of this one; optional.
	Tree *Blob `json:"tree,omitempty"`
	// Packages are sorted by ID, which is unique.
	Packages []Package `json:"packages"`
}

// Package is one package of an index: its runtime description, copied
// from its metadata.json, and the blobs to fetch.
type Package struct {
	// ID is "category/name@version".
	ID          string     `json:"id"`
	Category    string     `json:"category,omitempty"`
	Name        string     `json:"name"`
	Version     string     `json:"version"`
	Hidden      bool       `json:"hidden,omitempty"`
	Description string     `json:"description,omitempty"`
	Requires    []spec.Ref `json:"requires,omitempty"`
	Conflicts   []spec.Ref `json:"conflicts,omitempty"`
	Provides    []spec.Ref `json:"provides,omitempty"`
	// Key is the package's build key.
	Key string `json:"key"`
	// Artefact is nil for a package with nothing to build.
	Artefact *Blob `json:"artefact,omitempty"`
	// Metadata is the package's metadata.json.
	Metadata Blob `json:"metadata"`
	// Source, when set, is the repository (URL) that holds the artefact:
	// an upstream whose package a derivative reuses without copying it.
	// The digest above still decides what is accepted.
	Source string `json:"source,omitempty"`
}

// PackageName is "category/name" (or "name" without a category).
func (p *Package) PackageName() string { return spec.JoinName(p.Category, p.Name) }

// Encode returns the canonical JSON of x: packages sorted by ID, fields in
// a fixed order, one package per line, a trailing newline; the same index
// gives the same bytes. One line per package keeps the file greppable and
// makes a diff of two indexes show the packages that changed. Encode
// refuses an index DecodeIndex would refuse. x is not modified.
func (x *Index) Encode() ([]byte, error) {
	w := *x
	if w.Format == "" {
		w.Format = IndexFormat
	}
	w.Packages = slices.Clone(x.Packages)
	slices.SortStableFunc(w.Packages, func(a, b Package) int { return strings.Compare(a.ID, b.ID) })
	if err := w.validate(); err != nil {
		return nil, fmt.Errorf("encode index: %w", err)
	}

	var buf bytes.Buffer
	buf.Grow(len(w.Packages) * 600)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// value writes v compactly, without the newline Encode ends it with.
	value := func(v any) error {
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode index: %w", err)
		}
		buf.Truncate(buf.Len() - 1)
		return nil
	}
	buf.WriteString("{\n  \"format\": ")
	if err := value(w.Format); err != nil {
		return nil, err
	}
	buf.WriteString(",\n  \"name\": ")
	if err := value(w.Name); err != nil {
		return nil, err
	}
	if w.Tree != nil {
		buf.WriteString(",\n  \"tree\": ")
		if err := value(w.Tree); err != nil {
			return nil, err
		}
	}
	buf.WriteString(",\n  \"packages\": [")
	for i := range w.Packages {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		if err := value(&w.Packages[i]); err != nil {
			return nil, err
		}
	}
	if len(w.Packages) > 0 {
		buf.WriteString("\n  ")
	}
	buf.WriteString("]\n}\n")
	return buf.Bytes(), nil
}

// DecodeIndex decodes an index strictly: unknown fields, another format,
// packages out of order or listed twice, and inconsistent packages are
// ErrMalformed errors.
func DecodeIndex(data []byte) (*Index, error) {
	var x Index
	if err := decodeJSON("decode index", data, &x); err != nil {
		return nil, err
	}
	if err := x.validate(); err != nil {
		return nil, fmt.Errorf("decode index: %w", err)
	}
	return &x, nil
}

// validate checks an index whose packages should be sorted, and reports
// every problem found.
func (x *Index) validate() error {
	var errs problems
	if x.Format != IndexFormat {
		errs.add("format %q, want %q (an index of another etk version?)", clip(x.Format), IndexFormat)
	}
	if x.Name == "" {
		errs.add("no repository name")
	}
	if x.Tree != nil {
		if err := x.Tree.validate(); err != nil {
			errs.add("tree: %v", err)
		} else if x.Tree.Size > MaxTreeSize {
			errs.add("tree: %d bytes, more than the %s a compile tree may be", x.Tree.Size, humanBytes(MaxTreeSize))
		}
	}
	for i := range x.Packages {
		p := &x.Packages[i]
		where := fmt.Sprintf("packages[%d] %q", i, clip(p.ID))
		if i > 0 {
			switch prev := x.Packages[i-1].ID; {
			case prev == p.ID:
				errs.add("%s: listed twice", where)
			case prev > p.ID:
				errs.add("%s: not sorted by id (after %q)", where, clip(prev))
			}
		}
		p.validate(where, &errs)
	}
	return errs.err()
}

func (p *Package) validate(where string, errs *problems) {
	if p.Name == "" {
		errs.add("%s: no name", where)
	}
	if p.Version == "" {
		errs.add("%s: no version", where)
	}
	if want := p.PackageName() + "@" + p.Version; p.ID != want {
		errs.add("%s: id does not match category, name and version (%q)", where, clip(want))
	}
	if p.Key == "" {
		errs.add("%s: no key", where)
	}
	if p.Artefact != nil {
		if err := p.Artefact.validate(); err != nil {
			errs.add("%s: artefact: %v", where, err)
		}
	}
	if err := p.Metadata.validate(); err != nil {
		errs.add("%s: metadata: %v", where, err)
	} else if p.Metadata.Size > MaxMetadataSize {
		errs.add("%s: metadata: %d bytes, more than the %s a metadata.json may be", where, p.Metadata.Size, humanBytes(MaxMetadataSize))
	}
	refs := []struct {
		field string
		refs  []spec.Ref
	}{{"requires", p.Requires}, {"conflicts", p.Conflicts}, {"provides", p.Provides}}
	for _, f := range refs {
		for j, r := range f.refs {
			if r.Name == "" {
				errs.add("%s: %s[%d]: no name", where, f.field, j)
			}
		}
	}
}

// problems collects the problems of a document, to report them at once.
type problems []string

// maxProblems bounds a report: past a few, the rest are usually the same.
const maxProblems = 20

func (ps *problems) add(format string, args ...any) {
	*ps = append(*ps, fmt.Sprintf(format, args...))
}

func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	msg := strings.Join(ps[:min(len(ps), maxProblems)], "\n\t")
	if len(ps) > maxProblems {
		msg += fmt.Sprintf("\n\t(and %d more)", len(ps)-maxProblems)
	}
	if len(ps) > 1 {
		msg = fmt.Sprintf("%d problems:\n\t%s", len(ps), msg)
	}
	return &kindError{kind: ErrMalformed, msg: msg}
}

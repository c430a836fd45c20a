package compiletree

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/etk-build/etk/repository/index"
	"github.com/klauspost/compress/zstd"
	"go.yaml.in/yaml/v3"
)

// MediaType is the compile tree blob's media type.
const MediaType = index.MediaTypeTree

// Limits of what Read accepts: a compile tree is untrusted until its
// digest is checked, and even then a repository may be hostile.
const (
	MaxFileSize     = 64 << 20
	MaxExpandedSize = 1 << 30
	MaxFiles        = 1 << 20
)

const metaFile = "tree.yaml"

// Tree is one package tree of a compile tree.
type Tree struct {
	// Origin is the repository whose project the tree belongs to; empty
	// means the repository that published the compile tree.
	Origin string `yaml:"origin,omitempty"`
	// Revision is the revision of Origin the tree was taken from (0 for
	// the publishing repository's own trees).
	Revision int64 `yaml:"revision,omitempty"`
	// Overlay marks a tree whose packages replace every version of the
	// same category/name from the trees before it.
	Overlay bool `yaml:"overlay,omitempty"`
	// FS holds the tree's files.
	FS fs.FS `yaml:"-"`
}

// Meta is the provenance a compile tree records.
type Meta struct {
	// Trees are the trees, in order (FS unset).
	Trees []Tree `yaml:"trees"`
	// Extends is the extends graph behind the trees: a repository name
	// to the names of the repositories it extends directly ("" is the
	// publishing repository).
	Extends map[string][]string `yaml:"extends,omitempty"`
}

// CompileTree is a decoded compile tree.
type CompileTree struct {
	Trees   []Tree
	Values  map[string]any
	Extends map[string][]string
}

// Write encodes trees and values. Only regular files are kept; folders
// starting with "." are skipped.
func Write(trees []Tree, values map[string]any, extends map[string][]string) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	epoch := time.Unix(0, 0)
	add := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	meta := Meta{Extends: extends}
	for _, t := range trees {
		meta.Trees = append(meta.Trees, Tree{Origin: t.Origin, Revision: t.Revision, Overlay: t.Overlay})
	}
	mb, err := yaml.Marshal(meta)
	if err != nil {
		return nil, err
	}
	if err := add(metaFile, 0o644, mb); err != nil {
		return nil, err
	}
	vals, err := yaml.Marshal(values)
	if err != nil {
		return nil, err
	}
	if err := add("values.yaml", 0o644, vals); err != nil {
		return nil, err
	}
	for i, t := range trees {
		err := fs.WalkDir(t.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != "." && d.Name()[0] == '.' {
					return fs.SkipDir
				}
				return nil
			}
			info, err := d.Info()
			if err != nil || !info.Mode().IsRegular() {
				return err
			}
			data, err := fs.ReadFile(t.FS, p)
			if err != nil {
				return err
			}
			return add(fmt.Sprintf("trees/%d/%s", i, p), int64(info.Mode().Perm()), data)
		})
		if err != nil {
			return nil, fmt.Errorf("compile tree %d: %w", i, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Read decodes a compile tree, bounded by the limits above and ctx. name
// says what is read, for errors.
func Read(ctx context.Context, name string, data []byte) (*CompileTree, error) {
	zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderMaxMemory(MaxExpandedSize))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	files := map[string]*file{}
	ct := &CompileTree{}
	var meta *Meta
	var total int64
	seen := map[int]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		p := path.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || strings.HasPrefix(p, "../") || path.IsAbs(p) || p == ".." {
			continue
		}
		if h.Size > MaxFileSize {
			return nil, fmt.Errorf("%s: %s is %d bytes, more than the %d allowed", name, p, h.Size, MaxFileSize)
		}
		if total += h.Size; total > MaxExpandedSize {
			return nil, fmt.Errorf("%s: expands past the %d bytes allowed", name, int64(MaxExpandedSize))
		}
		if len(files) >= MaxFiles {
			return nil, fmt.Errorf("%s: more than %d files", name, MaxFiles)
		}
		b, err := io.ReadAll(io.LimitReader(tr, MaxFileSize+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, p, err)
		}
		switch p {
		case metaFile:
			meta = &Meta{}
			if err := yaml.Unmarshal(b, meta); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, metaFile, err)
			}
			continue
		case "values.yaml":
			if err := yaml.Unmarshal(b, &ct.Values); err != nil {
				return nil, fmt.Errorf("%s: values: %w", name, err)
			}
			continue
		}
		parts := strings.SplitN(p, "/", 3)
		if len(parts) != 3 || parts[0] != "trees" {
			continue
		}
		n, err := strconv.Atoi(parts[1])
		if err != nil || n < 0 || n > 1<<16 {
			continue
		}
		seen[n] = true
		files[p] = &file{data: b, mode: fs.FileMode(h.Mode) & fs.ModePerm}
	}
	var idx []int
	for n := range seen {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	mem := newFS(files)
	for i, n := range idx {
		sub, err := fs.Sub(mem, fmt.Sprintf("trees/%d", n))
		if err != nil {
			return nil, err
		}
		t := Tree{FS: sub}
		if meta != nil && i < len(meta.Trees) {
			t.Origin, t.Revision, t.Overlay = meta.Trees[i].Origin, meta.Trees[i].Revision, meta.Trees[i].Overlay
		}
		ct.Trees = append(ct.Trees, t)
	}
	if meta != nil {
		ct.Extends = meta.Extends
	}
	return ct, nil
}

// Cycle returns the path of an extends cycle through from in graph (a
// repository name to those it extends), or nil.
func Cycle(graph map[string][]string, from string) []string {
	var stack []string
	on := map[string]bool{}
	done := map[string]bool{}
	var visit func(string) []string
	visit = func(n string) []string {
		if on[n] {
			i := 0
			for stack[i] != n {
				i++
			}
			return append(append([]string(nil), stack[i:]...), n)
		}
		if done[n] {
			return nil
		}
		on[n] = true
		stack = append(stack, n)
		deps := append([]string(nil), graph[n]...)
		sort.Strings(deps)
		for _, d := range deps {
			if c := visit(d); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		on[n] = false
		done[n] = true
		return nil
	}
	return visit(from)
}

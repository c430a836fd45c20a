package synth

import (
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing/fstest"
	"time"
)

// Indexed wraps m so that listing a directory costs its own size and a
// missing file is answered at once: fstest.MapFS scans every file of the map
// for both, which makes walking a 10,000-package tree quadratic and a
// benchmark of it a benchmark of MapFS.
func Indexed(m fstest.MapFS) fs.FS {
	x := &indexedFS{MapFS: m, dirs: map[string][]fs.DirEntry{}}
	seen := map[string]bool{}
	for name, f := range m {
		dir, base := path.Dir(name), path.Base(name)
		x.dirs[dir] = append(x.dirs[dir], entry{base, f.Mode &^ fs.ModeDir, int64(len(f.Data))})
		for p := dir; p != "." && !seen[p]; p = path.Dir(p) {
			seen[p] = true
			x.dirs[path.Dir(p)] = append(x.dirs[path.Dir(p)], entry{path.Base(p), fs.ModeDir | 0o755, 0})
		}
	}
	for _, entries := range x.dirs {
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	}
	return x
}

type indexedFS struct {
	fstest.MapFS
	dirs map[string][]fs.DirEntry
}

func (x *indexedFS) exists(name string) bool {
	if _, ok := x.MapFS[name]; ok {
		return true
	}
	_, ok := x.dirs[name]
	return ok || name == "."
}

func (x *indexedFS) Open(name string) (fs.File, error) {
	if !x.exists(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return x.MapFS.Open(name)
}

func (x *indexedFS) ReadFile(name string) ([]byte, error) {
	if !x.exists(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return x.MapFS.ReadFile(name)
}

func (x *indexedFS) Stat(name string) (fs.FileInfo, error) {
	if f, ok := x.MapFS[name]; ok {
		return entry{path.Base(name), f.Mode, int64(len(f.Data))}, nil
	}
	if _, ok := x.dirs[name]; ok || name == "." {
		return entry{path.Base(name), fs.ModeDir | 0o755, 0}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

func (x *indexedFS) Lstat(name string) (fs.FileInfo, error) { return x.Stat(name) }

func (x *indexedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if e, ok := x.dirs[name]; ok {
		return slices.Clone(e), nil
	}
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
}

// Sub keeps the index for the subtree.
func (x *indexedFS) Sub(dir string) (fs.FS, error) {
	m := fstest.MapFS{}
	prefix := dir + "/"
	for name, f := range x.MapFS {
		if strings.HasPrefix(name, prefix) {
			m[strings.TrimPrefix(name, prefix)] = f
		}
	}
	return Indexed(m), nil
}

// entry is both the fs.DirEntry and the fs.FileInfo of a file or folder.
type entry struct {
	name string
	mode fs.FileMode
	size int64
}

func (e entry) Name() string               { return e.name }
func (e entry) IsDir() bool                { return e.mode.IsDir() }
func (e entry) Type() fs.FileMode          { return e.mode.Type() }
func (e entry) Info() (fs.FileInfo, error) { return e, nil }
func (e entry) Size() int64                { return e.size }
func (e entry) Mode() fs.FileMode          { return e.mode }
func (e entry) ModTime() time.Time         { return time.Time{} }
func (e entry) Sys() any                   { return nil }

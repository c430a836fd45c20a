package compiletree

import (
	"bytes"
	"io"
	"io/fs"
	"path"
	"sort"
	"time"
)

// memFS is a read-only file system over the files of a compile tree.
type memFS struct {
	files map[string]*file
	dirs  map[string][]string // dir -> sorted child names
}

type file struct {
	data []byte
	mode fs.FileMode
}

func newFS(files map[string]*file) *memFS {
	m := &memFS{files: files, dirs: map[string][]string{".": nil}}
	children := map[string]map[string]bool{}
	for p := range files {
		for p != "." {
			dir, base := path.Dir(p), path.Base(p)
			if children[dir] == nil {
				children[dir] = map[string]bool{}
			}
			children[dir][base] = true
			p = dir
		}
	}
	for d, names := range children {
		list := make([]string, 0, len(names))
		for n := range names {
			list = append(list, n)
		}
		sort.Strings(list)
		m.dirs[d] = list
	}
	return m
}

func (m *memFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if f, ok := m.files[name]; ok {
		return &openFile{info: info{path.Base(name), f}, r: bytes.NewReader(f.data)}, nil
	}
	if _, ok := m.dirs[name]; ok {
		return &openDir{m: m, name: name}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (m *memFS) entry(dir, name string) fs.DirEntry {
	p := path.Join(dir, name)
	if f, ok := m.files[p]; ok {
		return info{name, f}
	}
	return info{name: name}
}

type info struct {
	name string
	f    *file // nil for a folder
}

func (i info) Name() string { return i.name }
func (i info) Size() int64 {
	if i.f == nil {
		return 0
	}
	return int64(len(i.f.data))
}
func (i info) Mode() fs.FileMode {
	if i.f == nil {
		return fs.ModeDir | 0o755
	}
	return i.f.mode
}
func (i info) ModTime() time.Time         { return time.Unix(0, 0) }
func (i info) IsDir() bool                { return i.f == nil }
func (i info) Sys() any                   { return nil }
func (i info) Type() fs.FileMode          { return i.Mode().Type() }
func (i info) Info() (fs.FileInfo, error) { return i, nil }
func (i info) String() string             { return fs.FormatFileInfo(i) }

type openFile struct {
	info info
	r    *bytes.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *openFile) Close() error               { return nil }

type openDir struct {
	m    *memFS
	name string
	off  int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return info{name: path.Base(d.name)}, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}
func (d *openDir) Close() error { return nil }

func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	names := d.m.dirs[d.name]
	rest := names[d.off:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && len(rest) > n {
		rest = rest[:n]
	}
	d.off += len(rest)
	out := make([]fs.DirEntry, len(rest))
	for i, name := range rest {
		out[i] = d.m.entry(d.name, name)
	}
	return out, nil
}

var _ fs.ReadDirFile = (*openDir)(nil)

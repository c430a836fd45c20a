//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/klauspost/compress/zstd"
)

var epoch = time.Unix(1700000000, 0)

// ent is one tar entry of a hand-made archive: nothing checks or sorts
// it, so tests can write what the artefact writer never would.
type ent struct {
	hdr  tar.Header
	body string
}

func file(name string, mode int64, body string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: epoch}, body: body}
}

func dir(name string, mode int64) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: epoch}}
}

func symlink(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch}}
}

func hardlink(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644, ModTime: epoch}}
}

func node(name string, typ byte, major, minor int64) ent {
	return ent{hdr: tar.Header{Typeflag: typ, Name: name, Mode: 0o600, Devmajor: major, Devminor: minor, ModTime: epoch}}
}

// whiteout is ".wh.<base>" beside name, or the opaque marker in the
// directory name when base is ".wh..opq".
func whiteout(name string) ent {
	d, b := filepath.Split(name)
	return file(d+".wh."+b, 0o644, "")
}

// tarball writes the entries as given.
func tarball(tb testing.TB, ents ...ent) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func compress(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// pack is a zstd tar of the entries, bypassing the artefact writer.
func pack(tb testing.TB, ents ...ent) []byte { return compress(tb, tarball(tb, ents...)) }

func pkg(name, version string) Package {
	return Package{ID: "test/" + name + "@" + version, Category: "test", Name: name, Version: version, Key: "key-" + version}
}

// env is a root beside a sentinel directory, "outside", holding one
// file that nothing may change.
type env struct {
	dir, outside string
	root         *Root
}

const victim = "secret"

func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{dir: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{e.dir, e.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(e.outside, "victim"), []byte(victim), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(e.dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e.root = r
	return e
}

// plant puts symlinks out of the root in it: a (absolute), b (relative),
// c (far up).
func (e *env) plant(t testing.TB) {
	t.Helper()
	for name, target := range map[string]string{"a": e.outside, "b": "../outside", "c": "../../../../../../.."} {
		if err := os.Symlink(target, filepath.Join(e.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// checkOutside fails unless the sentinel holds just its victim.
func (e *env) checkOutside(t testing.TB) {
	t.Helper()
	got := snapshot(t, e.outside)
	want := map[string]string{"victim": "file 644 " + digest(victim)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outside the root changed: %v", got)
	}
}

func (e *env) install(t testing.TB, p Package, ents ...ent) error {
	t.Helper()
	a := pack(t, ents...)
	return e.root.Install(context.Background(), described(t, p, a), bytes.NewReader(a))
}

// described is p with the metadata of the artefact a: what List says,
// or, for an artefact List refuses, what its headers say as they are, so
// that Install meets the same bad entry.
func described(tb testing.TB, p Package, a []byte) Package {
	tb.Helper()
	p.Artefact = describe(tb, a)
	return p
}

func describe(tb testing.TB, a []byte) *artifact.Metadata {
	tb.Helper()
	if m, err := artifact.List(bytes.NewReader(a)); err == nil {
		return m
	}
	m := &artifact.Metadata{Format: artifact.Format, Compression: artifact.Compression, Files: []artifact.File{}}
	zr, err := zstd.NewReader(bytes.NewReader(a))
	if err != nil {
		return m
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return m
		}
		name := "/" + strings.TrimSuffix(hdr.Name, "/")
		d, base := path.Split(name)
		if t, ok := strings.CutPrefix(base, ".wh."); ok {
			if t == ".wh..opq" {
				m.Opaque = append(m.Opaque, path.Clean(d))
			} else {
				m.Deletions = append(m.Deletions, d+t)
			}
			continue
		}
		f := artifact.File{Path: name, Mode: uint32(hdr.Mode), UID: hdr.Uid, GID: hdr.Gid, Devmajor: hdr.Devmajor, Devminor: hdr.Devminor}
		switch hdr.Typeflag {
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			f.Type, f.Size, f.Digest = artifact.TypeFile, hdr.Size, digest(string(b))
			m.InstalledSize += hdr.Size
		case tar.TypeDir:
			f.Type = artifact.TypeDir
		case tar.TypeSymlink:
			f.Type, f.Link = artifact.TypeSymlink, hdr.Linkname
		case tar.TypeLink:
			f.Type, f.Link = artifact.TypeHardlink, "/"+hdr.Linkname
		case tar.TypeChar:
			f.Type = artifact.TypeChar
		case tar.TypeBlock:
			f.Type = artifact.TypeBlock
		case tar.TypeFifo:
			f.Type = artifact.TypeFifo
		}
		if f.Type != artifact.TypeChar && f.Type != artifact.TypeBlock {
			f.Devmajor, f.Devminor = 0, 0
		}
		m.Files = append(m.Files, f)
	}
}

func (e *env) mustInstall(t testing.TB, p Package, ents ...ent) {
	t.Helper()
	if err := e.install(t, p, ents...); err != nil {
		t.Fatal(err)
	}
}

func (e *env) write(t testing.TB, name, body string) {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *env) read(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) exists(name string) bool {
	_, err := os.Lstat(filepath.Join(e.dir, name))
	return err == nil
}

func (e *env) installed(t testing.TB) []InstalledPackage {
	t.Helper()
	ps, err := e.root.Installed()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// snapshot describes every path under dir (not following symlinks) but
// directories' mtimes, which writing under them changes.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := fmt.Sprintf("%o", info.Sys().(*syscall.Stat_t).Mode&0o7777)
		switch {
		case d.IsDir():
			out[rel] = "dir " + mode
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "symlink " + target
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %s %s", mode, digest(string(b)))
		default:
			out[rel] = fmt.Sprintf("%s %s", info.Mode().Type(), mode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutDB drops the database from a snapshot.
func withoutDB(s map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range s {
		if k != "var" && k != "var/lib" && !strings.HasPrefix(k, "var/lib/etk") {
			out[k] = v
		}
	}
	return out
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

// errAny, as an expected error, accepts any error.
var errAny = errors.New("any error")

func checkErr(t testing.TB, got, want error) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Fatalf("got error %v, want none", got)
	case want != nil && got == nil:
		t.Fatalf("got no error, want %v", want)
	case want != nil && want != errAny && !errors.Is(got, want):
		t.Fatalf("got error %v, want %v", got, want)
	}
}

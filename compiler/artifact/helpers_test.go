package artifact_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"os"
	"path"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/etk-build/etk/compiler/artifact"
)

// ent is one entry of a test layer.
type ent struct {
	hdr  tar.Header
	body string
}

func file(name, body string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func dir(name string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755}}
}

func symlink(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

func hardlink(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644}}
}

func whiteout(name string) ent {
	d, base := path.Split(name)
	return file(d+".wh."+base, "")
}

func opaque(d string) ent { return file(d+"/.wh..wh..opq", "") }

// with returns e changed by fn.
func (e ent) with(fn func(h *tar.Header)) ent {
	fn(&e.hdr)
	return e
}

func mode(m int64) func(*tar.Header) { return func(h *tar.Header) { h.Mode = m } }

func owner(uid, gid int) func(*tar.Header) {
	return func(h *tar.Header) { h.Uid, h.Gid, h.Uname, h.Gname = uid, gid, "someone", "somegroup" }
}

// layerBytes writes entries as an uncompressed layer tar with noisy
// metadata (times, owner names) that must not reach an artefact.
func layerBytes(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, e := range entries {
		h := e.hdr
		h.ModTime = time.Unix(1700000000+int64(i), 123)
		h.AccessTime = h.ModTime
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("layer entry %q: %v", h.Name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func open(b []byte) artifact.Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

func layer(t testing.TB, entries ...ent) artifact.Opener { return open(layerBytes(t, entries...)) }

type writeFunc func(context.Context, []artifact.Opener, artifact.Spec, io.Writer) (*artifact.Metadata, error)

// build runs fn, checks that it left no spool behind and that List reads
// back the same metadata, and returns the metadata and the bytes.
func build(t testing.TB, fn writeFunc, spec artifact.Spec, layers ...artifact.Opener) (*artifact.Metadata, []byte, error) {
	t.Helper()
	if spec.TempDir == "" {
		spec.TempDir = t.TempDir()
	}
	var out bytes.Buffer
	m, err := fn(context.Background(), layers, spec, &out)
	noSpool(t, spec.TempDir)
	if err != nil {
		return nil, nil, err
	}
	got, lerr := artifact.List(bytes.NewReader(out.Bytes()))
	if lerr != nil {
		t.Fatalf("List: %v", lerr)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("List differs from the written metadata (-written +listed):\n%s", diff)
	}
	if err := artifact.Verify(bytes.NewReader(out.Bytes()), m.Digest); err != nil {
		t.Errorf("Verify: %v", err)
	}
	checkExpect(t, m, out.Bytes())
	return m, out.Bytes(), nil
}

func mustBuild(t testing.TB, fn writeFunc, spec artifact.Spec, layers ...artifact.Opener) (*artifact.Metadata, []byte) {
	t.Helper()
	m, b, err := build(t, fn, spec, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return m, b
}

func noSpool(t testing.TB, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("spool left behind in %s: %v", dir, left)
	}
}

// rawHeaders decompresses an artefact and returns its tar headers.
func rawHeaders(t testing.TB, b []byte) []*tar.Header {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var hs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func names(hs []*tar.Header) []string {
	var ns []string
	for _, h := range hs {
		ns = append(ns, h.Name)
	}
	return ns
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Expected Files.
func fFile(p, body string, mode uint32) artifact.File {
	return artifact.File{Path: p, Type: artifact.TypeFile, Mode: mode, Size: int64(len(body)), Digest: sum(body)}
}

func fDir(p string) artifact.File {
	return artifact.File{Path: p, Type: artifact.TypeDir, Mode: 0o755}
}

// checkExpect asserts that what the writer wrote passes Walk against its
// own metadata, and that its tar stays within TarBound: the bounds must
// never refuse a real artefact.
func checkExpect(t testing.TB, m *artifact.Metadata, b []byte) {
	t.Helper()
	if _, err := artifact.Walk(context.Background(), bytes.NewReader(b), nil, artifact.Expect(m)); err != nil {
		t.Errorf("Walk with Expect of its own metadata: %v", err)
	}
	bound, err := artifact.TarBound(m)
	if err != nil {
		t.Fatalf("TarBound: %v", err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	n, err := io.Copy(io.Discard, zr)
	if err != nil {
		t.Fatal(err)
	}
	if n > bound {
		t.Errorf("tar of %d bytes, more than TarBound %d", n, bound)
	}
}

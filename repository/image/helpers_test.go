package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"

	"github.com/etk-build/etk/compiler/artifact"
)

// epoch is the SOURCE_DATE_EPOCH of the test artefacts.
var epoch = time.Unix(1700000000, 0)

// ent is one entry of a hand-made build layer.
type ent struct {
	hdr  tar.Header
	body string
}

func file(name, body string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func exe(name, body string) ent {
	e := file(name, body)
	e.hdr.Mode = 0o755
	return e
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

func xattr(e ent, k, v string) ent {
	e.hdr.PAXRecords = map[string]string{"SCHILY.xattr." + k: v}
	return e
}

// layerBytes writes entries as an uncompressed build layer, with noise
// (times, owner names) that the artefact drops.
func layerBytes(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, e := range entries {
		h := e.hdr
		h.ModTime = time.Unix(1600000000+int64(i), 0)
		h.Uname, h.Gname = "builder", "builder"
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

func openBytes(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

type writeFunc func(context.Context, []artifact.Opener, artifact.Spec, io.Writer) (*artifact.Metadata, error)

// makeArtefact runs the real artefact writer over hand-made build layers.
func makeArtefact(t testing.TB, fn writeFunc, layers ...[]ent) []byte {
	t.Helper()
	var openers []artifact.Opener
	for _, l := range layers {
		openers = append(openers, openBytes(layerBytes(t, l...)))
	}
	var out bytes.Buffer
	if _, err := fn(context.Background(), openers, artifact.Spec{Epoch: epoch, TempDir: t.TempDir()}, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func delta(t testing.TB, layers ...[]ent) []byte { return makeArtefact(t, artifact.Delta, layers...) }
func full(t testing.TB, layers ...[]ent) []byte  { return makeArtefact(t, artifact.Full, layers...) }

// pkg is a package whose artefact is b, keyed by b's digest.
func pkg(id string, b []byte) Layer {
	return Layer{ID: id, Key: sum(b), Artefact: openBytes(b), Metadata: describe(b)}
}

// describe is what the signed metadata says of the artefact b: what
// List reads, or, for bytes List refuses, an empty listing.
func describe(b []byte) *artifact.Metadata {
	if m, err := artifact.List(bytes.NewReader(b)); err == nil {
		return m
	}
	return &artifact.Metadata{Format: artifact.Format, Compression: artifact.Compression}
}

func virtual(id string) Layer { return Layer{ID: id, Key: sum([]byte(id))} }

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// untar decompresses an artefact.
func untar(t testing.TB, b []byte) []byte {
	t.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// entries lists a tar as "name type mode [-> link] [= body]" lines.
func entries(t testing.TB, r io.Reader) []string {
	t.Helper()
	tr := tar.NewReader(r)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%s %c %o", h.Name, h.Typeflag, h.Mode)
		if h.Linkname != "" {
			s += " -> " + h.Linkname
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			s += " = " + string(b)
		}
		out = append(out, s)
	}
}

// layerEntries lists the entries of an image layer.
func layerEntries(t testing.TB, l v1.Layer) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	es := entries(t, rc)
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	return es
}

// convertBytes runs the artefact-to-layer conversion.
func convertBytes(t testing.TB, art []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := convert(context.Background(), pkg("t", art), &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func mustBuild(t testing.TB, cfg Config) v1.Image {
	t.Helper()
	img, err := Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func layerDigests(t testing.TB, img v1.Image) []string {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var ds []string
	for _, l := range m.Layers {
		ds = append(ds, l.Digest.String())
	}
	return ds
}

func digest(t testing.TB, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(b, nil)
}

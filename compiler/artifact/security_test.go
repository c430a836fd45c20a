package artifact_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/etk-build/etk/compiler/artifact"
)

func TestHostileLayerNames(t *testing.T) {
	for _, e := range []ent{
		file("../etc/passwd", "x"),
		file("/etc/passwd", "x"),
		file("a/../../b", "x"),
		file("a/../b", "x"),
		file("usr/..", "x"),
		dir("../up"),
		file("a/.wh..", ""),
		file("a/.wh...", ""),
		hardlink("a", "../../etc/shadow"),
		hardlink("a", "/etc/shadow"),
		symlink("ok", "../../anything"), // a symlink target is data: kept below
	} {
		t.Run(e.hdr.Name+" "+e.hdr.Linkname, func(t *testing.T) {
			for _, fn := range []writeFunc{artifact.Delta, artifact.Full} {
				_, _, err := build(t, fn, artifact.Spec{}, layer(t, dir("a"), e))
				if e.hdr.Typeflag == tar.TypeSymlink {
					if err != nil {
						t.Errorf("symlink with an outside target refused: %v", err)
					}
					continue
				}
				if !errors.Is(err, artifact.ErrUnsafePath) {
					t.Fatalf("error %v, want ErrUnsafePath", err)
				}
				if !strings.Contains(err.Error(), "layer 0") || !strings.Contains(err.Error(), e.hdr.Name) {
					t.Errorf("error %q does not name layer 0 and %q", err, e.hdr.Name)
				}
			}
		})
	}
}

// artefactOf compresses a tar made of headers the way an attacker likes.
func artefactOf(t *testing.T, hs ...*tar.Header) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, h := range hs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(make([]byte, h.Size)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw, _ := zstd.NewWriter(&out)
	zw.Write(tb.Bytes())
	zw.Close()
	return out.Bytes()
}

func TestListRefusesBadArtefacts(t *testing.T) {
	reg := func(name string) *tar.Header { return &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644} }
	for _, tc := range []struct {
		name string
		hs   []*tar.Header
		want error
	}{
		{"dot dot", []*tar.Header{reg("../x")}, artifact.ErrUnsafePath},
		{"absolute", []*tar.Header{reg("/x")}, artifact.ErrUnsafePath},
		{"not clean", []*tar.Header{reg("a//b")}, artifact.ErrUnsafePath},
		{"hardlink outside", []*tar.Header{{Typeflag: tar.TypeLink, Name: "a", Linkname: "../etc/shadow"}}, artifact.ErrUnsafePath},
		{"hardlink forward", []*tar.Header{{Typeflag: tar.TypeLink, Name: "a", Linkname: "b"}, reg("b")}, artifact.ErrBadArtefact},
		{"hardlink to a directory", []*tar.Header{{Typeflag: tar.TypeDir, Name: "d/"}, {Typeflag: tar.TypeLink, Name: "e", Linkname: "d"}}, artifact.ErrBadArtefact},
		{"out of order", []*tar.Header{reg("b"), reg("a")}, artifact.ErrBadArtefact},
		{"duplicate", []*tar.Header{reg("a"), reg("a")}, artifact.ErrBadArtefact},
		{"child before parent", []*tar.Header{reg("a/b"), {Typeflag: tar.TypeDir, Name: "a/"}}, artifact.ErrBadArtefact},
		{"whiteout after sibling", []*tar.Header{reg("a"), reg(".wh.b")}, artifact.ErrBadArtefact},
		{"whiteout with content", []*tar.Header{{Typeflag: tar.TypeReg, Name: ".wh.b", Size: 1}}, artifact.ErrBadArtefact},
		{"empty whiteout", []*tar.Header{reg(".wh.")}, artifact.ErrBadArtefact},
		{"type bits in mode", []*tar.Header{{Typeflag: tar.TypeReg, Name: "a", Mode: 0o100644}}, artifact.ErrBadArtefact},
		{"unsupported type", []*tar.Header{{Typeflag: 'Z', Name: "a"}}, artifact.ErrBadArtefact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := artifact.List(bytes.NewReader(artefactOf(t, tc.hs...)))
			if !errors.Is(err, tc.want) {
				t.Errorf("List: %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("not zstd", func(t *testing.T) {
		if _, err := artifact.List(strings.NewReader("plain text")); err == nil {
			t.Error("List read plain text")
		}
	})
	t.Run("data after the archive", func(t *testing.T) {
		var out bytes.Buffer
		zw, _ := zstd.NewWriter(&out)
		zw.Write(make([]byte, 2048))
		zw.Write([]byte("trailer"))
		zw.Close()
		if _, err := artifact.List(&out); !errors.Is(err, artifact.ErrBadArtefact) {
			t.Errorf("List: %v, want ErrBadArtefact", err)
		}
	})
}

func TestVerify(t *testing.T) {
	m, b := mustBuild(t, artifact.Delta, artifact.Spec{}, layer(t, dir("etc"), file("etc/a", "content"), whiteout("etc/b")))
	if err := artifact.Verify(bytes.NewReader(b), m.Digest); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	other := "sha256:" + strings.Repeat("0", 64)
	if err := artifact.Verify(bytes.NewReader(b), other); !errors.Is(err, artifact.ErrDigestMismatch) {
		t.Errorf("Verify with another digest: %v, want ErrDigestMismatch", err)
	}
	for _, i := range []int{0, len(b) / 2, len(b) - 1} {
		bad := bytes.Clone(b)
		bad[i] ^= 0x40
		if err := artifact.Verify(bytes.NewReader(bad), m.Digest); !errors.Is(err, artifact.ErrDigestMismatch) {
			t.Errorf("Verify with byte %d flipped: %v, want ErrDigestMismatch", i, err)
		}
	}
	if err := artifact.Verify(bytes.NewReader(b[:len(b)-3]), m.Digest); !errors.Is(err, artifact.ErrDigestMismatch) {
		t.Errorf("Verify truncated: %v, want ErrDigestMismatch", err)
	}
	for _, d := range []string{"", "md5:00", "sha256:xyz", m.Digest[:20]} {
		if err := artifact.Verify(bytes.NewReader(b), d); err == nil {
			t.Errorf("Verify accepted digest %q", d)
		}
	}
}

func TestWalk(t *testing.T) {
	_, b := mustBuild(t, artifact.Delta, artifact.Spec{},
		layer(t, dir("etc"), file("etc/a", "content"), hardlink("etc/c", "etc/a"), whiteout("etc/b"), opaque("var")))
	var got []string
	_, err := artifact.Walk(context.Background(), bytes.NewReader(b), func(f artifact.File, content io.Reader) error {
		body, err := io.ReadAll(content)
		got = append(got, f.Type+" "+f.Path+" "+string(body))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "dir /etc |whiteout /etc/b |file /etc/a content|hardlink /etc/c |opaque /var |"
	if s := strings.Join(got, "|") + "|"; s != want {
		t.Errorf("Walk saw %q, want %q", s, want)
	}
	stop := errors.New("stop")
	if _, err := artifact.Walk(context.Background(), bytes.NewReader(b), func(artifact.File, io.Reader) error { return stop }); err != stop {
		t.Errorf("Walk returned %v, want the callback's error", err)
	}
}

// sparseLayer is a layer of one old-GNU sparse file: 512 bytes of tar
// that claim realSize bytes.
func sparseLayer(t *testing.T, realSize int64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "big", Size: 512, Mode: 0o644, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	tw.Write(make([]byte, 512))
	tw.Close()
	h := buf.Bytes()[:512]
	h[156] = tar.TypeGNUSparse
	copy(h[386:], fmt.Sprintf("%011o\x00%011o\x00", 0, 512)) // one data block at 0
	copy(h[483:], fmt.Sprintf("%011o\x00", realSize))
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	return buf.Bytes()
}

func TestSparseRefused(t *testing.T) {
	b := sparseLayer(t, 1<<33)
	if h, err := tar.NewReader(bytes.NewReader(b)).Next(); err != nil || h.Size != 1<<33 {
		t.Fatalf("crafted sparse header reads as %+v, %v", h, err)
	}
	_, _, err := build(t, artifact.Full, artifact.Spec{}, open(b))
	if !errors.Is(err, artifact.ErrBadLayer) || !strings.Contains(err.Error(), "sparse") {
		t.Errorf("error %v, want ErrBadLayer for a sparse file", err)
	}
}

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

// TestExpect pairs the metadata of one artefact with the bytes of
// another, as a signer who lies (or a swapped blob) would: Walk with
// Expect must refuse each before handing fn the entry that differs.
func TestExpect(t *testing.T) {
	art := func(entries ...ent) (*artifact.Metadata, []byte) {
		return mustBuild(t, artifact.Full, artifact.Spec{}, layer(t, entries...))
	}
	big := strings.Repeat("\x00", 4<<20)
	goodM, goodB := art(dir("a"), file("a/x", "12345678"))
	_, bigB := art(dir("a"), file("a/x", big))
	_, extraB := art(dir("a"), file("a/x", "12345678"), file("a/y", "unlisted"))
	_, suidB := art(dir("a"), file("a/x", "12345678").with(mode(0o4755)))
	_, otherB := art(dir("a"), file("a/x", "87654321"))
	_, devB := art(dir("a"), file("a/x", "12345678"), ent{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "a/z", Mode: 0o666, Devmajor: 8}})
	delM, delB := mustBuild(t, artifact.Delta, artifact.Spec{}, layer(t, dir("a"), file("a/x", "12345678"), whiteout("a/gone")))
	_, delNoneB := mustBuild(t, artifact.Delta, artifact.Spec{}, layer(t, dir("a"), file("a/x", "12345678"), whiteout("a/other")))

	// A tar that ends right, followed by 64 MiB of zeros: a few hundred
	// compressed bytes that List accepts as padding.
	zeros := func() []byte {
		zr, _ := zstd.NewReader(bytes.NewReader(goodB))
		tarBytes, _ := io.ReadAll(zr)
		zr.Close()
		var out bytes.Buffer
		zw, _ := zstd.NewWriter(&out)
		zw.Write(tarBytes)
		zw.Write(make([]byte, 64<<20))
		zw.Close()
		return out.Bytes()
	}()
	if _, err := artifact.List(bytes.NewReader(zeros)); err != nil {
		t.Fatalf("the zero-padded artefact should be valid without metadata: %v", err)
	}

	with := func(m *artifact.Metadata, fn func(*artifact.Metadata)) *artifact.Metadata {
		c := *m
		c.Files = append([]artifact.File(nil), m.Files...)
		fn(&c)
		return &c
	}
	tests := []struct {
		name    string
		m       *artifact.Metadata
		b       []byte
		want    string   // in the error
		handled []string // what fn saw before the refusal
	}{
		{"own metadata", goodM, goodB, "", []string{"/a", "/a/x"}},
		{"installed_size lie", with(goodM, func(m *artifact.Metadata) { m.InstalledSize = 1 }), goodB, "installed_size 1", nil},
		{"file bigger than listed", with(goodM, func(m *artifact.Metadata) { m.Size = 0; m.Digest = "" }), bigB, "/a/x: size 4194304, metadata 8", []string{"/a"}},
		{"unlisted file", with(goodM, func(m *artifact.Metadata) { m.Size = 0; m.Digest = "" }), extraB, "/a/y is not in the metadata", []string{"/a", "/a/x"}},
		{"unlisted device", with(goodM, func(m *artifact.Metadata) { m.Size = 0; m.Digest = "" }), devB, "/a/z is not in the metadata", []string{"/a", "/a/x"}},
		{"setuid not listed", with(goodM, func(m *artifact.Metadata) { m.Size = 0; m.Digest = "" }), suidB, "mode 4755, metadata 0644", []string{"/a"}},
		{"other content", with(goodM, func(m *artifact.Metadata) { m.Size = 0; m.Digest = "" }), otherB, "/a/x: content sha256:", []string{"/a", "/a/x"}},
		{"listed file missing", with(goodM, func(m *artifact.Metadata) {
			m.Files = append(m.Files, artifact.File{Path: "/b", Type: artifact.TypeDir, Mode: 0o755})
		}), goodB, "lacks what the metadata lists: /b", []string{"/a", "/a/x"}},
		{"zeros after the end", with(goodM, func(m *artifact.Metadata) { m.Size = 0; m.Digest = "" }), zeros, "expands past", []string{"/a", "/a/x"}},
		{"more compressed bytes", with(goodM, func(m *artifact.Metadata) { m.Size = 10 }), goodB, "compressed bytes", nil},
		{"other digest", with(goodM, func(m *artifact.Metadata) { m.Digest = "sha256:" + strings.Repeat("0", 64) }), goodB, "its metadata says", []string{"/a", "/a/x"}},
		{"unlisted deletion", with(delM, func(m *artifact.Metadata) { m.Size = 0; m.Digest = "" }), delNoneB, "deletion of /a/other", []string{"/a"}},
		{"own deletions", delM, delB, "", []string{"/a", "/a/gone", "/a/x"}},
		{"another format", with(goodM, func(m *artifact.Metadata) { m.Format = "etk-artefact/v0" }), goodB, "format", nil},
		{"size on a directory", with(goodM, func(m *artifact.Metadata) { m.Files[0].Size = 1 << 40 }), goodB, "with size", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handled []string
			_, err := artifact.Walk(context.Background(), bytes.NewReader(tt.b), func(f artifact.File, content io.Reader) error {
				handled = append(handled, f.Path)
				_, err := io.Copy(io.Discard, content)
				return err
			}, artifact.Expect(tt.m))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && !errors.Is(err, artifact.ErrMismatch):
				t.Fatalf("error %v, want ErrMismatch", err)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Join(handled, " ") != strings.Join(tt.handled, " ") {
				t.Errorf("fn saw %v, want %v", handled, tt.handled)
			}
		})
	}
}

// TestDecompressBound reads an artefact through Decompress with metadata
// that promises less than it holds.
func TestDecompressBound(t *testing.T) {
	m, _ := mustBuild(t, artifact.Full, artifact.Spec{}, layer(t, file("x", "12345678")))
	_, big := mustBuild(t, artifact.Full, artifact.Spec{}, layer(t, file("x", strings.Repeat("y", 1<<20))))
	lie := *m
	lie.Size = 0
	rc, err := artifact.Decompress(bytes.NewReader(big), &lie)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	bound, _ := artifact.TarBound(m)
	if !errors.Is(err, artifact.ErrMismatch) || n > bound {
		t.Errorf("read %d bytes (bound %d), error %v; want ErrMismatch within the bound", n, bound, err)
	}
}

// TestTarBoundHeaders builds artefacts whose headers need more than a
// USTAR block (long, split and non-ASCII names, long targets, big ids,
// xattrs): build checks each against TarBound.
func TestTarBoundHeaders(t *testing.T) {
	long := strings.Repeat("d", 120)
	deep := strings.Repeat("abcdefghi/", 20) + strings.Repeat("f", 90)
	// Many of each, so that the record rounding cannot hide an
	// underestimate.
	var many []ent
	for i := range 40 {
		many = append(many, file(fmt.Sprintf("caf\u00e9%02d", i), "x"), symlink(fmt.Sprintf("s%02d", i), strings.Repeat("t", 101)),
			file(fmt.Sprintf("u%02d", i), "x").with(owner(1<<22, 1)))
	}
	mustBuild(t, artifact.Full, artifact.Spec{}, layer(t, many...))
	mustBuild(t, artifact.Full, artifact.Spec{}, layer(t,
		dir(long), file(long+"/"+strings.Repeat("n", 150), "x"),
		file("caf\u00e9", "x"), symlink("s", strings.Repeat("t", 300)),
		file("owned", "x").with(owner(1<<22, 1<<22)),
		file("x", "x").with(func(h *tar.Header) {
			h.PAXRecords = map[string]string{"SCHILY.xattr.user." + strings.Repeat("k", 200): strings.Repeat("v", 3000)}
		}),
	))
	var ents []ent
	parts := strings.Split(deep, "/")
	for i := 1; i < len(parts); i++ {
		ents = append(ents, dir(strings.Join(parts[:i], "/")))
	}
	ents = append(ents, file(deep, "deep"), whiteout(strings.Join(parts[:19], "/")+"/"+strings.Repeat("w", 99)))
	mustBuild(t, artifact.Delta, artifact.Spec{}, layer(t, ents...))
}

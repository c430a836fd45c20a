//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/google/go-cmp/cmp"
)

func TestDevicePolicy(t *testing.T) {
	ents := []ent{dir("dev/", 0o755), node("dev/sda", tar.TypeBlock, 8, 0), file("dev/x", 0o644, "x")}
	for _, tt := range []struct {
		name  string
		allow []string
		want  error
	}{
		{"not allowed", nil, ErrNotAllowed},
		{"another package allowed", []string{"test/other"}, ErrNotAllowed},
		{"allowed by name", []string{"test/dev"}, nil},
		{"allowed by id", []string{"test/dev@1"}, nil},
		{"all allowed", []string{"*"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.allow != nil {
				opts = append(opts, AllowDevices(tt.allow...))
			}
			e := newEnv(t, opts...)
			err := e.install(t, pkg("dev", "1"), ents...)
			checkErr(t, err, tt.want)
			if err != nil {
				// Refused before anything, the database too, is written.
				if got := snapshot(t, e.dir); len(got) != 0 {
					t.Errorf("a refused install wrote %v", got)
				}
				if !strings.Contains(err.Error(), "/dev/sda (block 8,0)") {
					t.Errorf("error %q does not name the device", err)
				}
			}
		})
	}
}

func TestModeWarnings(t *testing.T) {
	var logged bytes.Buffer
	e := newEnv(t, Logger(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	e.mustInstall(t, pkg("modes", "1"),
		dir("pub/", 0o777), dir("tmp/", 0o1777),
		symlink("tmp/link", "open"), file("tmp/open", 0o666, "x"), file("tmp/suid", 0o4755, "x"))
	want := []string{
		"/pub: world-writable directory without the sticky bit (mode 0777)",
		"/tmp/open: world-writable file (mode 0666)",
	}
	if diff := cmp.Diff(want, e.installed(t)[0].Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, s := range append(want, `msg="setuid or setgid file" package=test/modes@1 path=/tmp/suid mode=4755`) {
		if !strings.Contains(logged.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, logged.String())
		}
	}
	if got := snapshot(t, e.dir)["tmp/suid"]; !strings.HasPrefix(got, "file 4755 ") {
		t.Errorf("setuid file installed as %q", got)
	}
}

// TestMetadataMismatch installs artefacts that are not what the metadata
// given with them says: each is refused and leaves the root as it was.
func TestMetadataMismatch(t *testing.T) {
	small := pack(t, file("x", 0o644, "12345678"))
	lie := func(fn func(m *artifact.Metadata)) func(t *testing.T) *artifact.Metadata {
		return func(t *testing.T) *artifact.Metadata {
			m := describe(t, small)
			m.Size, m.Digest = 0, ""
			fn(m)
			return m
		}
	}
	for _, tt := range []struct {
		name string
		meta func(t *testing.T) *artifact.Metadata
		data []byte
		want error
	}{
		{"bigger file", lie(func(*artifact.Metadata) {}), pack(t, file("x", 0o644, strings.Repeat("x", 1<<20))), artifact.ErrMismatch},
		{"unlisted file", lie(func(*artifact.Metadata) {}), pack(t, file("x", 0o644, "12345678"), file("y", 0o644, "y")), artifact.ErrMismatch},
		{"unlisted setuid", lie(func(*artifact.Metadata) {}), pack(t, file("x", 0o4755, "12345678")), artifact.ErrMismatch},
		{"other content", lie(func(*artifact.Metadata) {}), pack(t, file("x", 0o644, "87654321")), artifact.ErrMismatch},
		{"inconsistent metadata", lie(func(m *artifact.Metadata) { m.InstalledSize = 1 }), small, artifact.ErrMismatch},
		{"more than the disk", lie(func(m *artifact.Metadata) {
			m.Files[0].Size, m.InstalledSize = 1<<60, 1<<60
		}), small, ErrNoSpace},
		{"no metadata", func(*testing.T) *artifact.Metadata { return nil }, small, ErrBadPackage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustInstall(t, pkg("base", "1"), file("base", 0o644, "base"))
			before, db := snapshot(t, e.dir), e.installed(t)
			p := pkg("x", "1")
			p.Artefact = tt.meta(t)
			// Not seekable too: the copy is bounded by the metadata's size.
			for _, r := range []io.Reader{bytes.NewReader(tt.data), struct{ *bytes.Reader }{bytes.NewReader(tt.data)}} {
				err := e.root.Install(context.Background(), p, r)
				checkErr(t, err, tt.want)
				if diff := cmp.Diff(before, snapshot(t, e.dir)); diff != "" {
					t.Errorf("root changed (-before +after):\n%s", diff)
				}
				if diff := cmp.Diff(db, e.installed(t)); diff != "" {
					t.Errorf("database changed (-before +after):\n%s", diff)
				}
			}
		})
	}
}

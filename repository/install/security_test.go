//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/google/go-cmp/cmp"
)

// hostile archives, each tried in a clean root and in one with planted
// symlinks a -> <outside>, b -> ../outside and c -> ../../.. (see plant).
var hostile = []struct {
	name           string
	ents           []ent
	clean, planted error // nil: installs; errAny: any error
}{
	{"absolute name", []ent{file("/etc/passwd", 0o644, "x")}, artifact.ErrUnsafePath, artifact.ErrUnsafePath},
	{"dot-dot name", []ent{file("../outside/pwned", 0o644, "x")}, artifact.ErrUnsafePath, artifact.ErrUnsafePath},
	{"dot-dot inside", []ent{file("x/../../outside/pwned", 0o644, "x")}, artifact.ErrUnsafePath, artifact.ErrUnsafePath},
	{"unclean name", []ent{file("./x", 0o644, "x")}, artifact.ErrBadArtefact, artifact.ErrBadArtefact},
	{"symlink to outside, then under it", []ent{symlink("a", "/"), file("a/pwned", 0o644, "x")}, ErrUnsafePath, ErrUnsafePath},
	{"symlink up, then under it", []ent{symlink("a", "../../../../.."), file("a/tmp/pwned", 0o644, "x")}, ErrUnsafePath, ErrUnsafePath},
	{"relative symlink to the sentinel, then under it", []ent{symlink("s", "../outside"), file("s/victim", 0o644, "x")}, ErrUnsafePath, ErrUnsafePath},
	{"through a planted absolute symlink", []ent{file("a/victim", 0o644, "x")}, nil, ErrUnsafePath},
	{"through a planted relative symlink", []ent{file("b/victim", 0o644, "x")}, nil, ErrUnsafePath},
	{"through a planted climbing symlink", []ent{dir("c/", 0o755), file("c/pwned", 0o644, "x")}, nil, nil},
	{"directory entry over a planted symlink", []ent{dir("a/", 0o755), file("a/victim", 0o644, "x")}, nil, nil},
	{"file over a planted symlink", []ent{file("a", 0o644, "x")}, nil, nil},
	{"hardlink out", []ent{hardlink("h", "../outside/victim")}, artifact.ErrUnsafePath, artifact.ErrUnsafePath},
	{"hardlink to the root's file", []ent{hardlink("h", "etc/shadow")}, artifact.ErrBadArtefact, artifact.ErrBadArtefact},
	{"hardlink through a planted symlink", []ent{hardlink("h", "a/victim")}, artifact.ErrBadArtefact, artifact.ErrBadArtefact},
	{"hardlink to the archive's symlink", []ent{symlink("s", "../outside/victim"), hardlink("t", "s")}, nil, nil},
	{"whiteout through a planted symlink", []ent{whiteout("a/victim"), whiteout("b/victim")}, nil, nil},
	{"opaque through a planted symlink", []ent{whiteout("a/.wh..opq"), whiteout("b/.wh..opq")}, nil, nil},
	{"whiteout climbing", []ent{file(".wh..", 0o644, "")}, artifact.ErrBadArtefact, artifact.ErrBadArtefact},
	{"opaque root", []ent{whiteout(".wh..opq")}, ErrUnsafePath, ErrUnsafePath},
	{"into the database", []ent{file("var/lib/etk/installed/test_x.json", 0o644, "{}")}, ErrReserved, ErrReserved},
	{"symlink over the database's parent", []ent{symlink("var", "../outside")}, ErrReserved, ErrReserved},
	{"file under a file", []ent{file("f", 0o644, "x"), file("f/g", 0o644, "x")}, errAny, errAny},
	{"setuid kept as is", []ent{file("plain", 0o755, "x"), file("suid", 0o6755, "x")}, nil, nil},
	{"huge device numbers", []ent{node("dev", tar.TypeBlock, 1<<40, 1)}, errAny, errAny},
}

func TestHostileArchives(t *testing.T) {
	for _, tt := range hostile {
		for _, planted := range []bool{false, true} {
			name, want := tt.name+"/clean", tt.clean
			if planted {
				name, want = tt.name+"/planted", tt.planted
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t)
				if planted {
					e.plant(t)
				}
				e.write(t, "etc/shadow", "root's")
				e.mustInstall(t, pkg("base", "1"), file("base", 0o644, "base"))
				root, db := snapshot(t, e.dir), e.installed(t)
				err := e.install(t, pkg("x", "1"), tt.ents...)
				checkErr(t, err, want)
				e.checkOutside(t)
				if err != nil {
					if diff := cmp.Diff(root, snapshot(t, e.dir)); diff != "" {
						t.Errorf("root changed by a failed install (-before +after):\n%s", diff)
					}
					if diff := cmp.Diff(db, e.installed(t)); diff != "" {
						t.Errorf("database changed by a failed install (-before +after):\n%s", diff)
					}
					return
				}
				if err := e.root.Uninstall(context.Background(), "test/x@1"); err != nil {
					t.Fatal(err)
				}
				e.checkOutside(t)
			})
		}
	}
}

func TestSetuidExact(t *testing.T) {
	e := newEnv(t)
	e.mustInstall(t, pkg("x", "1"), file("plain", 0o755, "x"), dir("sticky/", 0o1777), file("suid", 0o6755, "x"))
	got := snapshot(t, e.dir)
	for name, want := range map[string]string{"suid": "file 6755 ", "plain": "file 755 ", "sticky": "dir 1777"} {
		if got[name][:len(want)] != want {
			t.Errorf("%s: %s, want %s", name, got[name], want)
		}
	}
}

func TestDatabaseBehindSymlink(t *testing.T) {
	e := newEnv(t)
	if err := os.Symlink(e.outside, filepath.Join(e.dir, "var")); err != nil {
		t.Fatal(err)
	}
	err := e.install(t, pkg("x", "1"), file("x", 0o644, "x"))
	checkErr(t, err, ErrUnsafePath)
	e.checkOutside(t)
	if _, err := e.root.Installed(); !errors.Is(err, ErrUnsafePath) {
		t.Errorf("Installed: %v, want ErrUnsafePath", err)
	}
}

func TestBadRecord(t *testing.T) {
	e := newEnv(t)
	e.mustInstall(t, pkg("x", "1"), file("x", 0o644, "x"))
	e.write(t, "var/lib/etk/installed/test_y.json",
		`{"format":"etk-installed/v1","id":"test/y@1","category":"test","name":"y","version":"1","key":"k","files":[{"path":"/../outside/victim","type":"file","mode":420}]}`)
	if err := e.root.Uninstall(context.Background(), "test/y@1"); !errors.Is(err, ErrBadRecord) {
		t.Errorf("Uninstall with a bad record: %v, want ErrBadRecord", err)
	}
	e.checkOutside(t)
}

// TestRollback fails installs at their end in various ways: each must
// leave the root and the database as they were.
func TestRollback(t *testing.T) {
	big := make([]byte, 4<<20)
	rand.Read(big)
	head := []ent{
		dir("etc/", 0o700), file("etc/keep.conf", 0o644, "replaced"), file("etc/new.conf", 0o644, "new"),
		file("opt", 0o644, "was a tree"),
		dir("usr/", 0o755), dir("usr/bin/", 0o755), file("usr/bin/tool", 0o755, "tool"), hardlink("usr/bin/tool2", "usr/bin/tool"),
		whiteout("var/tmp"),
	}
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		want error
	}{
		{"truncated stream", func(t *testing.T) []byte {
			b := pack(t, append(head, file("z", 0o644, string(big)))...)
			return b[:len(b)*3/4]
		}, errAny},
		{"conflict at the end", func(t *testing.T) []byte { return pack(t, append(head, file("zz/owned", 0o644, "x"))...) }, ErrConflict},
		{"unsafe at the end", func(t *testing.T) []byte {
			return pack(t, append(head, symlink("zy", "/"), file("zy/pwned", 0o644, "x"))...)
		}, ErrUnsafePath},
		{"out of order at the end", func(t *testing.T) []byte { return pack(t, append(head, file("a", 0o644, "x"))...) }, artifact.ErrBadArtefact},
		{"trailing garbage", func(t *testing.T) []byte {
			return append(pack(t, head...), []byte("garbage")...)
		}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.write(t, "etc/keep.conf", "original")
			e.write(t, "opt/tree/leaf", "leaf")
			e.write(t, "var/tmp/junk", "junk")
			e.mustInstall(t, pkg("owner", "1"), dir("zz/", 0o755), file("zz/owned", 0o644, "owner's"))
			root, db := snapshot(t, e.dir), e.installed(t)
			// Not seekable: the artefact goes through a temporary copy.
			data := tt.data(t)
			err := e.root.Install(context.Background(), described(t, pkg("x", "1"), data), struct{ *bytes.Reader }{bytes.NewReader(data)})
			checkErr(t, err, tt.want)
			if diff := cmp.Diff(root, snapshot(t, e.dir)); diff != "" {
				t.Errorf("root changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(db, e.installed(t)); diff != "" {
				t.Errorf("database changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := pack(t, file("x", 0o644, "x"))
	err := e.root.Install(ctx, described(t, pkg("x", "1"), a), bytes.NewReader(a))
	checkErr(t, err, context.Canceled)
	if e.exists("x") {
		t.Error("x written after cancel")
	}
}

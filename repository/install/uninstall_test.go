//go:build linux

package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUninstall(t *testing.T) {
	e := newEnv(t)
	e.write(t, "usr/local/keep", "user data")
	before := withoutDB(snapshot(t, e.dir))
	a, b := pkg("a", "1"), pkg("b", "1")
	e.mustInstall(t, a,
		dir("usr/", 0o755), dir("usr/bin/", 0o755), file("usr/bin/a", 0o755, "a"),
		dir("usr/share/", 0o755), dir("usr/share/doc/", 0o755), file("usr/share/doc/a.txt", 0o644, "a"),
		dir("usr/share/doc/shared/", 0o755), file("usr/share/doc/shared/a", 0o644, "a"))
	e.mustInstall(t, b,
		dir("usr/", 0o755), dir("usr/bin/", 0o755), file("usr/bin/b", 0o755, "b"),
		file("usr/share/doc/b.txt", 0o644, "b"), dir("usr/share/doc/shared/", 0o755))
	e.write(t, "usr/share/doc/a.txt", "edited by hand")

	if err := e.root.Uninstall(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"usr":                  "dir 755",
		"usr/bin":              "dir 755",
		"usr/bin/b":            "file 755 " + digest("b"),
		"usr/local":            "dir 755",
		"usr/local/keep":       "file 644 " + digest("user data"),
		"usr/share":            "dir 755",
		"usr/share/doc":        "dir 755",
		"usr/share/doc/b.txt":  "file 644 " + digest("b"),
		"usr/share/doc/shared": "dir 755",
	}
	if diff := cmp.Diff(want, withoutDB(snapshot(t, e.dir))); diff != "" {
		t.Errorf("after uninstalling a (-want +got):\n%s", diff)
	}
	if got := e.installed(t); len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("Installed = %v, want only b", got)
	}

	if err := e.root.Uninstall(context.Background(), b.ID); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, withoutDB(snapshot(t, e.dir))); diff != "" {
		t.Errorf("after uninstalling both, the root is not as before (-want +got):\n%s", diff)
	}
	if err := e.root.Uninstall(context.Background(), b.ID); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("second Uninstall: %v, want ErrNotInstalled", err)
	}
	e.checkOutside(t)
}

func TestUninstallNeverFollowsSymlinks(t *testing.T) {
	e := newEnv(t)
	p := pkg("a", "1")
	e.mustInstall(t, p, dir("d/", 0o755), file("d/victim", 0o644, "x"))
	// Someone swaps the directory for a symlink to the sentinel.
	if err := os.RemoveAll(filepath.Join(e.dir, "d")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.outside, filepath.Join(e.dir, "d")); err != nil {
		t.Fatal(err)
	}
	if err := e.root.Uninstall(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	e.checkOutside(t)
}

func TestConflict(t *testing.T) {
	a := pkg("a", "1")
	aFiles := []ent{
		symlink("lib", "usr/lib"),
		dir("opt/", 0o755), dir("opt/d/", 0o755), file("opt/d/f", 0o644, "a"),
		dir("usr/", 0o755), dir("usr/bin/", 0o755), file("usr/bin/x", 0o755, "a"),
	}
	tests := []struct {
		name string
		ents []ent
		want string // "" for no conflict
	}{
		{"file over file", []ent{dir("usr/", 0o755), dir("usr/bin/", 0o755), file("usr/bin/x", 0o755, "b")},
			"/usr/bin/x is owned by test/a@1, also in test/b@1"},
		{"symlink over file", []ent{symlink("usr/bin/x", "y")}, "/usr/bin/x is owned by test/a@1, also in test/b@1"},
		{"file over a directory with files", []ent{file("opt/d", 0o644, "b")},
			"/opt/d is owned by test/a@1, also in test/b@1"},
		{"file over a directory's parent", []ent{file("opt", 0o644, "b")},
			"/opt is owned by test/a@1, also in test/b@1"},
		{"directory over symlink", []ent{dir("lib/", 0o755), file("lib/libb.so", 0o644, "b")},
			"/lib is owned by test/a@1, also in test/b@1"},
		{"missing parent over symlink", []ent{file("lib/libb.so", 0o644, "b")}, "symlink"},
		{"directories are shared", []ent{dir("opt/", 0o700), dir("opt/d/", 0o755), file("opt/d/g", 0o644, "b")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustInstall(t, a, aFiles...)
			root, db := snapshot(t, e.dir), e.installed(t)
			err := e.install(t, pkg("b", "1"), tt.ents...)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			if diff := cmp.Diff(root, snapshot(t, e.dir)); diff != "" {
				t.Errorf("root changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(db, e.installed(t)); diff != "" {
				t.Errorf("database changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestAllowReplace(t *testing.T) {
	e := newEnv(t, AllowReplace())
	a, b := pkg("a", "1"), pkg("b", "1")
	e.mustInstall(t, a, file("x", 0o644, "a"), file("y", 0o644, "a"))
	e.mustInstall(t, b, file("x", 0o644, "b"))
	got := e.installed(t)
	if len(got) != 2 || len(got[0].Files) != 1 || got[0].Files[0].Path != "/y" {
		t.Fatalf("a's record still lists /x: %+v", got)
	}
	if err := e.root.Uninstall(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.read(t, "x"); got != "b" || e.exists("y") {
		t.Errorf("x = %q, y there: %v", got, e.exists("y"))
	}
	if err := e.root.Uninstall(context.Background(), b.ID); err != nil {
		t.Fatal(err)
	}
	if e.exists("x") {
		t.Error("x outlived its last owner")
	}
}

func TestDeletions(t *testing.T) {
	e := newEnv(t)
	e.write(t, "etc/old.conf", "old")
	e.write(t, "opt/d/x", "unowned")
	e.write(t, "var/tmp/junk", "junk")
	a := pkg("a", "1")
	e.mustInstall(t, a, dir("etc/", 0o755), file("etc/a.conf", 0o644, "a"), dir("opt/", 0o755), dir("opt/d/", 0o755), file("opt/d/y", 0o644, "a"))
	c := pkg("c", "1")
	e.mustInstall(t, c,
		whiteout("var"),
		whiteout("etc/a.conf"), whiteout("etc/missing"), whiteout("etc/old.conf"),
		dir("opt/", 0o755), dir("opt/d/", 0o755), whiteout("opt/d/.wh..opq"), file("opt/d/z", 0o644, "c"),
	)
	for name, want := range map[string]bool{
		"etc/old.conf": false, "etc/a.conf": true,
		"opt/d/x": false, "opt/d/y": true, "opt/d/z": true,
		"var/tmp/junk": false, "var/tmp": false, "var/lib/etk/installed/test_a.json": true,
	} {
		if e.exists(name) != want {
			t.Errorf("%s there: %v, want %v", name, !want, want)
		}
	}
	got := e.installed(t)
	if len(got) != 2 {
		t.Fatalf("Installed = %v", got)
	}
	wantWarn := []string{"/etc/a.conf: not deleted: owned by test/a@1", "/opt/d/y: not deleted: owned by test/a@1"}
	if diff := cmp.Diff(wantWarn, got[1].Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, s := range snapshot(t, e.dir) {
		if strings.Contains(s, ".etk-") {
			t.Errorf("temporary left: %s", s)
		}
	}
}

//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// xattrsWork reports whether the filesystem of dir takes user xattrs.
func xattrsWork(t *testing.T, dir string) bool {
	p := filepath.Join(dir, "probe")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	return unix.Setxattr(p, "user.probe", []byte("x"), 0) == nil
}

func TestInstall(t *testing.T) {
	e := newEnv(t, AllowDevices("test/app@1"))
	lib := file("usr/lib/libx.so.1", 0o644, "elf")
	lib.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.etk": "hello"}
	tool := file("usr/bin/tool", 0o4755, "#!tool")
	tool.hdr.Uid, tool.hdr.Gid = 1000, 1001
	libdir := dir("usr/lib/", 0o750)
	libdir.hdr.Uid, libdir.hdr.Gid = 1000, 1000
	ents := []ent{
		node("dev/null", tar.TypeChar, 1, 3),
		dir("etc/", 0o755),
		file("etc/app.conf", 0o600, "conf"),
		dir("usr/", 0o755),
		dir("usr/bin/", 0o755),
		tool,
		hardlink("usr/bin/tool2", "usr/bin/tool"),
		libdir,
		symlink("usr/lib/libx.so", "libx.so.1"),
		lib,
		symlink("usr/share/abs", "/etc/app.conf"),
		dir("var/", 0o755),
		node("var/fifo", tar.TypeFifo, 0, 0),
	}
	p := pkg("app", "1")
	p.Finalize = []string{"true"}
	e.mustInstall(t, p, ents...)

	if got := e.read(t, "usr/bin/tool"); got != "#!tool" {
		t.Errorf("tool = %q", got)
	}
	want := map[string]string{
		"dev":               "dir 755",
		"dev/null":          "Dc--------- 600",
		"etc":               "dir 755",
		"etc/app.conf":      "file 600 " + digest("conf"),
		"usr":               "dir 755",
		"usr/bin":           "dir 755",
		"usr/bin/tool":      "file 4755 " + digest("#!tool"),
		"usr/bin/tool2":     "file 4755 " + digest("#!tool"),
		"usr/lib":           "dir 750",
		"usr/lib/libx.so":   "symlink libx.so.1",
		"usr/lib/libx.so.1": "file 644 " + digest("elf"),
		"usr/share":         "dir 755",
		"usr/share/abs":     "symlink /etc/app.conf",
		"var/fifo":          "p--------- 600",
	}
	got := withoutDB(snapshot(t, e.dir))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("root (-want +got):\n%s", diff)
	}
	a, _ := os.Stat(filepath.Join(e.dir, "usr/bin/tool"))
	b, _ := os.Stat(filepath.Join(e.dir, "usr/bin/tool2"))
	if !os.SameFile(a, b) {
		t.Error("tool2 is not a hardlink of tool")
	}
	for _, name := range []string{"etc", "etc/app.conf", "usr/bin/tool", "usr/lib", "usr/lib/libx.so", "var/fifo"} {
		fi, err := os.Lstat(filepath.Join(e.dir, name))
		if err != nil || !fi.ModTime().Equal(epoch) {
			t.Errorf("%s: mtime %v, %v; want %v", name, fi.ModTime(), err, epoch)
		}
	}
	st := a.Sys().(*syscall.Stat_t)
	if st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("tool owned by %d:%d, want 1000:1001", st.Uid, st.Gid)
	}

	var wantWarn []string
	if xattrsWork(t, e.dir) {
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(filepath.Join(e.dir, "usr/lib/libx.so.1"), "user.etk", buf)
		if err != nil || string(buf[:n]) != "hello" {
			t.Errorf("xattr user.etk = %q, %v", buf[:n], err)
		}
	} else {
		t.Log("the filesystem of the test root takes no user xattrs: expecting a warning")
		wantWarn = []string{"/usr/lib/libx.so.1: xattr user.etk not set: operation not supported"}
	}

	dg := digest
	wantPkgs := []InstalledPackage{{
		Package: p,
		Files: []File{
			{Path: "/dev", Type: "dir", Mode: 0o755},
			{Path: "/dev/null", Type: "char", Mode: 0o600},
			{Path: "/etc", Type: "dir", Mode: 0o755},
			{Path: "/etc/app.conf", Type: "file", Mode: 0o600, Digest: dg("conf")},
			{Path: "/usr", Type: "dir", Mode: 0o755},
			{Path: "/usr/bin", Type: "dir", Mode: 0o755},
			{Path: "/usr/bin/tool", Type: "file", Mode: 0o4755, Digest: dg("#!tool")},
			{Path: "/usr/bin/tool2", Type: "hardlink", Mode: 0o4755, Digest: dg("#!tool"), Link: "/usr/bin/tool"},
			{Path: "/usr/lib", Type: "dir", Mode: 0o750},
			{Path: "/usr/lib/libx.so", Type: "symlink", Mode: 0o777, Link: "libx.so.1"},
			{Path: "/usr/lib/libx.so.1", Type: "file", Mode: 0o644, Digest: dg("elf")},
			{Path: "/usr/share", Type: "dir", Mode: 0o755},
			{Path: "/usr/share/abs", Type: "symlink", Mode: 0o777, Link: "/etc/app.conf"},
			{Path: "/var", Type: "dir", Mode: 0o755, Foreign: true},
			{Path: "/var/fifo", Type: "fifo", Mode: 0o600},
		},
		Warnings: wantWarn,
	}}
	if diff := cmp.Diff(wantPkgs, e.installed(t)); diff != "" {
		t.Errorf("Installed (-want +got):\n%s", diff)
	}
	e.checkOutside(t)
}

func TestInstallDeviceNotRoot(t *testing.T) {
	e := newEnv(t, AllowDevices("test/dev"))
	e.root.opts.privileged = false
	e.mustInstall(t, pkg("dev", "1"),
		node("dev/null", tar.TypeChar, 1, 3),
		hardlink("dev/null2", "dev/null"),
		file("dev/x", 0o644, "x"))
	if e.exists("dev/null") || e.exists("dev/null2") || !e.exists("dev/x") {
		t.Error("device node created, or the file not")
	}
	want := []string{
		"/dev/null: device node not created: not running as root",
		"/dev/null2: hardlink to /dev/null not created: its target was not",
	}
	if diff := cmp.Diff(want, e.installed(t)[0].Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestInstallAgainIsNoop(t *testing.T) {
	e := newEnv(t)
	p := pkg("app", "1")
	e.mustInstall(t, p, file("app", 0o644, "v1"))
	e.write(t, "app", "edited")
	before := e.installed(t)

	// The artefact is not even read.
	if err := e.root.Install(context.Background(), described(t, p, pack(t, file("app", 0o644, "v1"))), iotest.ErrReader(errors.New("read"))); err != nil {
		t.Fatal(err)
	}
	if got := e.read(t, "app"); got != "edited" {
		t.Errorf("app = %q, want it untouched", got)
	}
	if diff := cmp.Diff(before, e.installed(t)); diff != "" {
		t.Errorf("database changed (-before +after):\n%s", diff)
	}

	// Another key is another build: installed again.
	p.Key = "key-rebuilt"
	e.mustInstall(t, p, file("app", 0o644, "v1"))
	if got := e.read(t, "app"); got != "v1" {
		t.Errorf("app = %q after a rebuild", got)
	}
}

func TestUpgrade(t *testing.T) {
	e := newEnv(t)
	e.write(t, "usr/local/keep", "user data")
	e.mustInstall(t, pkg("app", "1"),
		dir("usr/", 0o755), file("usr/a", 0o644, "a1"), file("usr/old", 0o644, "old"),
		dir("usr/share/", 0o755), dir("usr/share/app1/", 0o755), file("usr/share/app1/doc", 0o644, "doc"))
	p2 := pkg("app", "2")
	e.mustInstall(t, p2, dir("usr/", 0o755), file("usr/a", 0o644, "a2"), file("usr/b", 0o644, "b"))

	want := map[string]string{
		"usr":            "dir 755",
		"usr/a":          "file 644 " + digest("a2"),
		"usr/b":          "file 644 " + digest("b"),
		"usr/local":      "dir 755",
		"usr/local/keep": "file 644 " + digest("user data"),
	}
	if diff := cmp.Diff(want, withoutDB(snapshot(t, e.dir))); diff != "" {
		t.Errorf("root (-want +got):\n%s", diff)
	}
	got := e.installed(t)
	if len(got) != 1 || got[0].ID != p2.ID || !got[0].Files[0].Foreign {
		t.Errorf("Installed = %+v, want only %s with /usr foreign", got, p2.ID)
	}
}

func TestVirtualPackage(t *testing.T) {
	e := newEnv(t)
	p := pkg("meta", "1")
	p.Finalize = []string{"echo hi"}
	if err := e.root.Install(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	want := []InstalledPackage{{Package: p, Files: []File{}}}
	if diff := cmp.Diff(want, e.installed(t)); diff != "" {
		t.Errorf("Installed (-want +got):\n%s", diff)
	}
	if err := e.root.Uninstall(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.installed(t); len(got) != 0 {
		t.Errorf("Installed = %v after Uninstall", got)
	}
}

func TestBadPackage(t *testing.T) {
	e := newEnv(t)
	for _, p := range []Package{
		{Name: "x"},
		{ID: "x", Name: "../x"},
		{ID: "x", Name: "x", Category: "a/b"},
		{ID: "x", Name: ""},
	} {
		if err := e.root.Install(context.Background(), p, nil); !errors.Is(err, ErrBadPackage) {
			t.Errorf("Install(%+v) = %v, want ErrBadPackage", p, err)
		}
	}
	// "a_b"/"c" and "a"/"b_c" share a database file: the second is refused.
	e.mustInstall(t, Package{ID: "a_b/c@1", Category: "a_b", Name: "c", Key: "k"})
	err := e.install(t, Package{ID: "a/b_c@1", Category: "a", Name: "b_c", Key: "k"})
	if !errors.Is(err, ErrBadPackage) {
		t.Errorf("clashing database file: %v", err)
	}
}

func TestConcurrentInstalls(t *testing.T) {
	e := newEnv(t)
	archives := make([][]byte, 8)
	for i := range archives {
		archives[i] = pack(t, dir("usr/", 0o755), dir("usr/share/", 0o755), file(fmt.Sprintf("usr/share/f%d", i), 0o644, "x"))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(archives))
	for i, a := range archives {
		wg.Go(func() {
			errs[i] = e.root.Install(context.Background(), described(t, pkg(fmt.Sprint("p", i), "1"), a), bytes.NewReader(a))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := e.installed(t); len(got) != len(archives) {
		t.Errorf("%d packages installed, want %d", len(got), len(archives))
	}
}

func TestNotSeekable(t *testing.T) {
	e := newEnv(t, TempDir(t.TempDir()))
	a := pack(t, file("x", 0o644, strings.Repeat("x", 100000)))
	if err := e.root.Install(context.Background(), described(t, pkg("x", "1"), a), iotest.HalfReader(bytes.NewReader(a))); err != nil {
		t.Fatal(err)
	}
	if got := len(e.read(t, "x")); got != 100000 {
		t.Errorf("x has %d bytes", got)
	}
}

// TestReplacesDependencies: a package may change files of the packages it
// needs (its artefact records what it changed on top of them); an
// unrelated package may not.
func TestReplacesDependencies(t *testing.T) {
	root, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	base := Package{ID: "distro/base@1", Category: "distro", Name: "base", Version: "1", Key: "k1"}
	if err := root.Install(ctx, described(t, base, replacesArtefact(t, "base")), bytes.NewReader(replacesArtefact(t, "base"))); err != nil {
		t.Fatal(err)
	}
	other := Package{ID: "apps/other@1", Category: "apps", Name: "other", Version: "1", Key: "k2"}
	if err := root.Install(ctx, described(t, other, replacesArtefact(t, "other")), bytes.NewReader(replacesArtefact(t, "other"))); !errors.Is(err, ErrConflict) {
		t.Errorf("unrelated package: %v", err)
	}
	users := Package{ID: "system/users@1", Category: "system", Name: "users", Version: "1", Key: "k3", Replaces: []string{"distro/base@1"}}
	if err := root.Install(ctx, described(t, users, replacesArtefact(t, "users")), bytes.NewReader(replacesArtefact(t, "users"))); err != nil {
		t.Errorf("dependent package: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(root.Dir(), "etc", "passwd"))
	if string(b) != "users\n" {
		t.Errorf("/etc/passwd = %q", b)
	}
}

func replacesArtefact(t *testing.T, body string) []byte {
	return pack(t, dir("etc/", 0o755), file("etc/passwd", 0o644, body+"\n"))
}

//go:build linux

package install

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// busyboxRoot is a root with a static busybox as /bin/sh, or skips.
func busyboxRoot(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("Finalize chroots into the root, which needs root: run the tests as root (CI does)")
	}
	src, err := os.Open("/bin/busybox")
	if err != nil {
		t.Skipf("needs a static /bin/busybox (Debian busybox-static) to copy into the root: %v", err)
	}
	defer src.Close()
	var out bytes.Buffer
	e := newEnv(t, Output(&out))
	if err := os.MkdirAll(filepath.Join(e.dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(filepath.Join(e.dir, "bin/busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", filepath.Join(e.dir, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	e.write(t, "inside-root", "")
	return e
}

func TestFinalize(t *testing.T) {
	e := busyboxRoot(t)
	out := e.root.opts.output.(*bytes.Buffer)
	a, b, c := pkg("a", "1"), pkg("b", "1"), pkg("c", "1")
	a.Finalize = []string{"echo a >> /log", "pwd >> /log"}
	b.Finalize = []string{`echo "$ETK_ROOT $PATH $HOME" >> /log`, "test -e /inside-root && echo chrooted >> /log"}
	c.Shell = []string{"/bin/busybox", "sh", "-c"}
	c.Finalize = []string{"echo c >> /log; echo out; echo err >&2"}
	if err := e.root.Finalize(context.Background(), []Package{a, pkg("none", "1"), b, c}); err != nil {
		t.Fatal(err)
	}
	want := "a\n/\n/ " + finalizePath + " \nchrooted\nc\n"
	if got := e.read(t, "log"); got != want {
		t.Errorf("/log = %q, want %q", got, want)
	}
	if got := out.String(); got != "out\nerr\n" {
		t.Errorf("output = %q", got)
	}
	e.checkOutside(t)
}

func TestFinalizeFailure(t *testing.T) {
	e := busyboxRoot(t)
	d, f := pkg("d", "1"), pkg("f", "1")
	d.Finalize = []string{"true", "exit 3", "echo never >> /log"}
	f.Finalize = []string{"echo never >> /log"}
	err := e.root.Finalize(context.Background(), []Package{d, f})
	if err == nil || !strings.Contains(err.Error(), `finalize test/d@1: command "exit 3": exit status 3`) {
		t.Fatalf("got %v, want an error naming the package, the command and the status", err)
	}
	if e.exists("log") {
		t.Error("commands ran after the failure")
	}

	d.Shell = []string{"bash", "-c"}
	if err := e.root.Finalize(context.Background(), []Package{d}); err == nil || !strings.Contains(err.Error(), "bash: not found") {
		t.Errorf("a shell missing from the root: %v", err)
	}
}

func TestFinalizeHostRoot(t *testing.T) {
	var out bytes.Buffer
	r, err := Open("/", Output(&out))
	if err != nil {
		t.Fatal(err)
	}
	p := pkg("host", "1")
	p.Finalize = []string{"pwd; echo $ETK_ROOT"}
	if err := r.Finalize(context.Background(), []Package{p}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "/\n/\n" {
		t.Errorf("output = %q", got)
	}
}

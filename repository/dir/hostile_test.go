package dir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileFolder: a folder repository written by someone else cannot
// make a reader follow a link out of it, block on a device or a pipe, or
// read a huge file into memory; each is a quick error naming the object.
func TestHostileFolder(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("root:x:0:0"), 0o644)
	blob := []byte("blob")
	bd := digest(blob)
	cases := []struct {
		name  string
		setup func(t *testing.T, root string)
		read  func(s *Store) error
		want  []string // in the error
	}{
		{"latest links to /dev/zero", func(t *testing.T, root string) {
			must(t, os.Symlink("/dev/zero", filepath.Join(root, "refs", "latest")))
		}, getRef("latest"), []string{"reference latest", "refs/latest", "symbolic link"}},
		{"latest links to a host file", func(t *testing.T, root string) {
			must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "refs", "latest")))
		}, getRef("latest"), []string{"reference latest", "symbolic link"}},
		{"latest links inside the folder", func(t *testing.T, root string) {
			must(t, os.WriteFile(filepath.Join(root, "refs", "other"), []byte("x"), 0o644))
			must(t, os.Symlink("other", filepath.Join(root, "refs", "latest")))
		}, getRef("latest"), []string{"reference latest", "symbolic link"}},
		{"snapshots folder links out", func(t *testing.T, root string) {
			must(t, os.WriteFile(filepath.Join(outside, "1"), []byte("x"), 0o644))
			must(t, os.Symlink(outside, filepath.Join(root, "refs", "snapshots")))
		}, getRef("snapshots/1"), []string{"reference snapshots/1"}},
		{"latest is a device", func(t *testing.T, root string) {
			if err := syscall.Mknod(filepath.Join(root, "refs", "latest"), syscall.S_IFCHR|0o644, int(devZero(t))); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("mknod: %v (CI runs as root)", err)
				}
				t.Skipf("mknod: %v (needs root)", err)
			}
		}, getRef("latest"), []string{"reference latest", "a device"}},
		{"latest is a named pipe", func(t *testing.T, root string) {
			must(t, syscall.Mkfifo(filepath.Join(root, "refs", "latest"), 0o644))
		}, getRef("latest"), []string{"reference latest", "named pipe"}},
		{"latest is huge", func(t *testing.T, root string) {
			f, err := os.Create(filepath.Join(root, "refs", "latest"))
			must(t, err)
			must(t, f.Truncate(10<<30)) // sparse: 10 GiB that take no disk
			f.Close()
		}, getRef("latest"), []string{"reference latest", "refs/latest", "larger than 1 MiB"}},
		{"blob links to a host file", func(t *testing.T, root string) {
			must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "blobs", "sha256", strings.TrimPrefix(bd, "sha256:"))))
		}, func(s *Store) error { _, err := s.GetBlob(context.Background(), bd); return err }, []string{"blob " + bd, "symbolic link"}},
		{"blob link is not had", func(t *testing.T, root string) {
			must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "blobs", "sha256", strings.TrimPrefix(bd, "sha256:"))))
		}, func(s *Store) error { _, err := s.HasBlob(context.Background(), bd); return err }, []string{"symbolic link"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			s, err := Open(root)
			must(t, err)
			c.setup(t, root)
			done := make(chan error, 1)
			go func() { done <- c.read(s) }()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the read did not end")
			}
			if err == nil {
				t.Fatal("read succeeded")
			}
			t.Logf("error: %v", err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func getRef(name string) func(*Store) error {
	return func(s *Store) error { _, err := s.GetRef(context.Background(), name); return err }
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func devZero(t *testing.T) uint64 {
	var st syscall.Stat_t
	must(t, syscall.Stat("/dev/zero", &st))
	return st.Rdev
}

// TestOpenRefusesLinkedFolders: a repository whose refs (or blobs, or
// .tmp) folder is a link elsewhere is refused at Open.
func TestOpenRefusesLinkedFolders(t *testing.T) {
	for _, d := range []string{"refs", "blobs", ".tmp"} {
		root := t.TempDir()
		must(t, os.Symlink(t.TempDir(), filepath.Join(root, d)))
		_, err := Open(root)
		if err == nil || !strings.Contains(err.Error(), d+" is a symbolic link") {
			t.Errorf("%s linked: Open: %v", d, err)
		}
	}
}

// TestWritesStayInside: a writer never writes through a link of a
// parent folder to outside the repository.
func TestWritesStayInside(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	s, err := Open(root)
	must(t, err)
	must(t, os.Symlink(outside, filepath.Join(root, "refs", "snapshots")))
	if err := s.PutRef(context.Background(), "snapshots/1", nil, []byte("x")); err == nil {
		t.Error("PutRef through a link out of the folder succeeded")
	}
	if des, _ := os.ReadDir(outside); len(des) != 0 {
		t.Errorf("written outside the repository: %v", des)
	}
}

// TestReadsStopOnCancel: a blob read stops when its context is done.
func TestReadsStopOnCancel(t *testing.T) {
	s, err := Open(t.TempDir())
	must(t, err)
	data := bytes.Repeat([]byte("x"), 1<<20)
	must(t, s.PutBlob(context.Background(), digest(data), int64(len(data)), bytes.NewReader(data)))
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := s.GetBlob(ctx, digest(data))
	must(t, err)
	defer rc.Close()
	buf := make([]byte, 1024)
	if _, err := rc.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
	if err := s.PutBlob(ctx, digest([]byte("y")), 1, bytes.NewReader([]byte("y"))); !errors.Is(err, context.Canceled) {
		t.Errorf("put after cancel: %v", err)
	}
}

// TestLeftovers: a dead publisher's temporary blob is reported, and the
// next write removes it; a live one's stays.
func TestLeftovers(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	must(t, err)
	dead := filepath.Join(root, ".tmp", "blob-123")
	must(t, os.WriteFile(dead, make([]byte, 100), 0o644))
	live, err := os.CreateTemp(filepath.Join(root, ".tmp"), "blob-*")
	must(t, err)
	defer live.Close()
	must(t, syscall.Flock(int(live.Fd()), syscall.LOCK_EX))
	got, err := s.Leftovers()
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("leftovers %+v, want 2", got)
	}
	data := []byte("a blob")
	must(t, s.PutBlob(context.Background(), digest(data), int64(len(data)), bytes.NewReader(data)))
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Error("the dead publisher's blob is still there")
	}
	if _, err := os.Stat(live.Name()); err != nil {
		t.Errorf("the live publisher's blob was removed: %v", err)
	}
}

// TestKilledPublish: a publisher killed (SIGKILL) in the middle of a
// blob leaves .tmp/blob-*; Leftovers reports it dead and the next write
// removes it.
func TestKilledPublish(t *testing.T) {
	if root := os.Getenv("DIR_KILLED_CHILD"); root != "" {
		s, err := Open(root)
		if err != nil {
			os.Exit(3)
		}
		pr, pw := io.Pipe()
		go func() {
			pw.Write(bytes.Repeat([]byte("x"), 1<<20))
			os.Stdout.WriteString("writing\n")
			select {} // never ends the blob
		}()
		s.PutBlob(context.Background(), digest([]byte("never")), -1, pr)
		os.Exit(4)
	}
	root := t.TempDir()
	s, err := Open(root)
	must(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledPublish$")
	cmd.Env = append(os.Environ(), "DIR_KILLED_CHILD="+root)
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	if l, _ := bufio.NewReader(out).ReadString('\n'); l != "writing\n" {
		cmd.Process.Kill()
		t.Fatalf("child: %q", l)
	}
	left, err := s.Leftovers()
	must(t, err)
	if len(left) != 1 || !left[0].Live {
		t.Errorf("while the publisher lives: %+v, want one live blob", left)
	}
	cmd.Process.Kill()
	cmd.Wait()
	left, err = s.Leftovers()
	must(t, err)
	if len(left) != 1 || left[0].Live || left[0].Size == 0 || !strings.Contains(left[0].Path, "blob-") {
		t.Fatalf("after the kill: %+v, want one dead blob", left)
	}
	data := []byte("next publish")
	must(t, s.PutBlob(context.Background(), digest(data), int64(len(data)), bytes.NewReader(data)))
	if left, _ := s.Leftovers(); len(left) != 0 {
		t.Errorf("after the next publish: %+v", left)
	}
}

package leftover

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func names(es []Entry) map[string]bool {
	m := map[string]bool{}
	for _, e := range es {
		m[filepath.Base(e.Path)] = e.Live
	}
	return m
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// TestSweepKeepsLive: what this process holds open is live and stays;
// what it closed without removing (a dead writer's) goes.
func TestSweepKeepsLive(t *testing.T) {
	dir := t.TempDir()
	live, err := CreateTemp(dir, "blob-*")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	dead, err := CreateTemp(dir, "blob-*")
	if err != nil {
		t.Fatal(err)
	}
	dead.Write([]byte("half a blob"))
	dead.Close()
	liveDir, release, err := MkdirTemp(dir, "run-")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(liveDir, ".etk-save-1.tar"), []byte("x"), 0o644)
	// A folder whose lock file is gone, and one whose lock nobody holds.
	os.Mkdir(filepath.Join(dir, "run-orphan"), 0o755)
	os.Mkdir(filepath.Join(dir, "run-dead"), 0o755)
	os.WriteFile(filepath.Join(dir, "run-dead", "a.spool"), []byte("12345"), 0o644)
	os.WriteFile(filepath.Join(dir, "run-dead.lock"), nil, 0o644)
	// Not ours.
	os.WriteFile(filepath.Join(dir, "refs.lock"), nil, 0o644)

	scan, err := Scan(dir, "blob-*", "run-*")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{filepath.Base(live.Name()): true, filepath.Base(dead.Name()): false,
		filepath.Base(liveDir): true, "run-orphan": false, "run-dead": false}
	if d := cmp.Diff(want, names(scan)); d != "" {
		t.Fatalf("scan (-want +got):\n%s", d)
	}
	for _, e := range scan {
		if filepath.Base(e.Path) == "run-dead" && e.Size != 5 {
			t.Errorf("run-dead: size %d, want 5", e.Size)
		}
	}
	if !exists(dead.Name()) {
		t.Fatal("Scan removed something")
	}
	if _, err := Sweep(dir, "blob-*", "run-*"); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		live.Name(): true, dead.Name(): false, liveDir: true, liveDir + ".lock": true,
		filepath.Join(dir, "run-orphan"): false, filepath.Join(dir, "run-dead"): false,
		filepath.Join(dir, "run-dead.lock"): false, filepath.Join(dir, "refs.lock"): true,
	} {
		if exists(p) != want {
			t.Errorf("%s: exists %v after the sweep, want %v", p, !want, want)
		}
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if exists(liveDir) || exists(liveDir+".lock") {
		t.Error("release left the folder or its lock")
	}
}

// TestKilledProcess: a process killed with SIGKILL while it holds a file
// and a folder leaves them; the next sweep removes both, since the kernel
// dropped its locks.
func TestKilledProcess(t *testing.T) {
	if dir := os.Getenv("LEFTOVER_CHILD"); dir != "" {
		f, err := CreateTemp(dir, "blob-*")
		if err != nil {
			os.Exit(3)
		}
		f.Write(make([]byte, 1<<16))
		d, _, err := MkdirTemp(dir, "run-")
		if err != nil {
			os.Exit(3)
		}
		os.WriteFile(filepath.Join(d, "x.spool"), []byte("x"), 0o644)
		os.Stdout.WriteString("ready\n")
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcess$")
	cmd.Env = append(os.Environ(), "LEFTOVER_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if l, _ := bufio.NewReader(out).ReadString('\n'); l != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("child said %q", l)
	}
	got, err := Sweep(dir, "blob-*", "run-*")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		if !e.Live {
			t.Errorf("%s: removed while its process lives", e.Path)
		}
	}
	if len(got) != 2 {
		t.Fatalf("live child: swept %v, want its 2 entries, live", got)
	}
	cmd.Process.Kill()
	cmd.Wait()
	got, err = Sweep(dir, "blob-*", "run-*")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Live || got[1].Live {
		t.Fatalf("dead child: swept %+v, want 2 dead entries", got)
	}
	if des, _ := os.ReadDir(dir); len(des) != 0 {
		t.Errorf("left after the sweep: %v", des)
	}
}

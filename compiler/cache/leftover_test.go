package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunDir: a run's scratch folder survives other runs while the run
// lives, and the next run removes it once it is dead; Leftovers reports
// both, and entries being written whose key nobody builds.
func TestRunDir(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	live, releaseLive, err := c.RunDir()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(live, ".etk-save-1.tar"), []byte("image"), 0o644)
	// A dead run: its folder and lock, nobody holding it.
	dead := filepath.Join(c.Dir(), "tmp", "run-dead")
	os.Mkdir(dead, 0o755)
	os.WriteFile(dead+".lock", nil, 0o644)
	os.WriteFile(filepath.Join(dead, ".etk-save-2.tar"), make([]byte, 1000), 0o644)
	os.WriteFile(filepath.Join(dead, "etk-artefact-3.spool"), make([]byte, 24), 0o644)
	// An entry a killed build was writing.
	key := strings.Repeat("ab", 32)
	os.MkdirAll(filepath.Join(c.Dir(), "tmp", key), 0o755)
	os.WriteFile(filepath.Join(c.Dir(), "tmp", key, "artefact.tar.zst"), make([]byte, 10), 0o644)

	left, err := c.Leftovers(false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range left {
		got[filepath.Base(l.Path)] = map[bool]string{true: "live", false: "dead"}[l.Live] + " " + l.Kind
		if filepath.Base(l.Path) == "run-dead" && l.Size != 1024 {
			t.Errorf("run-dead: %d bytes, want 1024", l.Size)
		}
	}
	want := map[string]string{filepath.Base(live): "live run", "run-dead": "dead run", key: "dead entry"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	// The next run sweeps the dead run, not the live one.
	_, releaseNext, err := c.RunDir()
	if err != nil {
		t.Fatal(err)
	}
	defer releaseNext()
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Error("the dead run's folder survived the next run")
	}
	if _, err := os.Stat(filepath.Join(live, ".etk-save-1.tar")); err != nil {
		t.Errorf("the live run's save was removed: %v", err)
	}
	// A build holding the key's lock keeps its entry; clean takes the rest.
	unlock, err := c.Lock(key)
	if err != nil {
		t.Fatal(err)
	}
	c.Leftovers(true)
	if _, err := os.Stat(filepath.Join(c.Dir(), "tmp", key)); err != nil {
		t.Errorf("an entry being built was removed: %v", err)
	}
	unlock()
	c.Leftovers(true)
	if _, err := os.Stat(filepath.Join(c.Dir(), "tmp", key)); !os.IsNotExist(err) {
		t.Error("a dead entry survived clean")
	}
	if err := releaseLive(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); !os.IsNotExist(err) {
		t.Error("release left the run's folder")
	}
}

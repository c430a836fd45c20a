package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Elemental is the elemental-toolkit v0.10.7 tree.
const Elemental = "elemental-v0.10.7"

// Dir returns the absolute path of the named corpus tree, or skips t.
func Dir(t testing.TB, name string) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("find repository root: %v", err)
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "corpus", name)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus %s not found at %s: it sits beside the repository in CI and dev machines, not in a user's clone", name, dir)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrokenManifestIsNamed: etk lock on a manifest that does not load
// says why, instead of that there is none.
func TestBrokenManifestIsNamed(t *testing.T) {
	dir := writeProject(t, map[string]string{"manifest.yaml": "name: x\ntrees: [pkgs]\nflavours: {}\n"})
	_, errOut, code := run(t, dir, "lock")
	if code == 0 || strings.Contains(errOut, "no manifest.yaml") || !strings.Contains(errOut, "flavours") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
}

// TestCacheStatusMakesNoCache: looking at a cache that is not there says
// so, and creates nothing.
func TestCacheStatusMakesNoCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nocache")
	for _, sub := range []string{"status", "clean"} {
		_, errOut, code := run(t, "", "cache", sub, "--cache-dir", dir)
		if code != 1 || !strings.Contains(errOut, "no build cache at "+dir) {
			t.Errorf("cache %s: exit %d:\n%s", sub, code, errOut)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("cache %s created %s", sub, dir)
		}
	}
}

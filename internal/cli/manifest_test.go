package cli

import (
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

// Package depcheck holds the import rules of the repository as a test:
// the library never depends on the command line, and heavy clients stay
// in the one package that owns them.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden maps a package pattern to imports its packages must not have,
// directly or not.
var forbidden = map[string][]string{
	"github.com/etk-build/etk/compiler/...": {
		"github.com/spf13/cobra",
		"github.com/etk-build/etk/internal/cli",
		"github.com/docker/docker/client",
		"github.com/google/go-containerregistry/pkg/v1/remote",
	},
	"github.com/etk-build/etk/templates": {
		"github.com/etk-build/etk/compiler",
	},
}

func TestImports(t *testing.T) {
	for pattern, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pattern).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pattern, err)
		}
		deps := map[string]bool{}
		for _, d := range strings.Fields(string(out)) {
			deps[d] = true
		}
		for _, b := range bad {
			if deps[b] {
				t.Errorf("%s depends on %s", pattern, b)
			}
		}
	}
}

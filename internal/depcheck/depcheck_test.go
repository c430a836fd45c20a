// Package depcheck holds the import rules of the repository as a test:
// the library never depends on the command line, and each heavy client is
// imported by one package only, which the rest see through an interface.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/etk-build/etk"

// owners: an import path (prefix) and the only packages that may import it
// directly.
var owners = map[string][]string{
	"github.com/docker/docker/client":                      {module + "/compiler/docker"},
	"github.com/google/go-containerregistry/pkg/v1/remote": {module + "/repository/oci"},
	"github.com/spf13/cobra":                               {module + "/internal/cli"},
}

// neverBelow: packages under the first path must not depend on the second,
// even indirectly.
var neverBelow = [][2]string{
	{module + "/compiler/...", module + "/internal/cli"},
	{module + "/compiler/...", "github.com/spf13/cobra"},
}

func TestDirectImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.Fields(strings.TrimSuffix(f[0], ".test"))[0]
		pkg, _, _ = strings.Cut(pkg, " [")
		pkg = strings.TrimSuffix(pkg, "_test")
		for _, imp := range f[1:] {
			allowed, owned := owners[imp]
			if !owned {
				continue
			}
			ok := false
			for _, a := range allowed {
				if pkg == a {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s; only %v may", pkg, imp, allowed)
			}
		}
	}
}

func TestNeverDependsOn(t *testing.T) {
	for _, rule := range neverBelow {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", rule[0]).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", rule[0], err)
		}
		for _, d := range strings.Fields(string(out)) {
			if d == rule[1] {
				t.Errorf("%s depends on %s", rule[0], rule[1])
			}
		}
	}
}

// Package depcheck holds the import rules of the repository as a test:
// the library never depends on the command line, the core never on the
// repository or project layers, and each heavy client is imported by one
// package only, which the rest see through an interface.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/etk-build/etk"

// owners: an import path and everything below it, and the only packages
// that may import them directly.
var owners = map[string][]string{
	"github.com/docker/docker":                             {module + "/compiler/build/docker"},
	"github.com/google/go-containerregistry/pkg/v1/remote": {module + "/repository/oci"},
	"github.com/spf13/cobra":                               {module + "/internal/cli"},
	"github.com/schollz/progressbar":                       {module + "/internal/cli"},
}

// neverBelow: packages matching the first pattern must not depend, even
// indirectly, on a package matching the second. A pattern ending in
// "/..." matches the path and everything below it.
var neverBelow = [][2]string{
	// The core: loading, planning, building.
	{module + "/compiler/...", module + "/repository/..."},
	{module + "/compiler/...", module + "/project/..."},
	{module + "/compiler/...", module + "/internal/cli/..."},
	// The scheduler, the Backend interface and the decorators are not
	// Docker's: a second backend plugs in without it.
	{module + "/compiler/build", "github.com/docker/docker/..."},
	{module + "/compiler/build/buildtest", "github.com/docker/docker/..."},
	// Repositories: publishing, reading, installing.
	{module + "/repository/...", module + "/project/..."},
	{module + "/repository/...", module + "/internal/cli/..."},
	{module + "/project/...", module + "/internal/cli/..."},
	// Libraries never own a terminal.
	{module + "/compiler/...", "github.com/spf13/cobra/..."},
	{module + "/repository/...", "github.com/spf13/cobra/..."},
	{module + "/project/...", "github.com/spf13/cobra/..."},
	{module + "/compiler/...", "github.com/schollz/progressbar/..."},
	{module + "/repository/...", "github.com/schollz/progressbar/..."},
	{module + "/project/...", "github.com/schollz/progressbar/..."},
}

// matches reports whether path is pattern, or below it when pattern ends
// in "/...".
func matches(path, pattern string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		path, pattern string
		want          bool
	}{
		{"github.com/docker/docker/client", "github.com/docker/docker/...", true},
		{"github.com/docker/docker", "github.com/docker/docker/...", true},
		{"github.com/docker/dockerfile", "github.com/docker/docker/...", false},
		{module + "/compilerx", module + "/compiler/...", false},
	} {
		if got := matches(tc.path, tc.pattern); got != tc.want {
			t.Errorf("matches(%q, %q) = %v", tc.path, tc.pattern, got)
		}
	}
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
			for owned, allowed := range owners {
				if !matches(imp, owned+"/...") {
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
}

func TestNeverDependsOn(t *testing.T) {
	for _, rule := range neverBelow {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", rule[0]).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", rule[0], err)
		}
		for _, d := range strings.Fields(string(out)) {
			if matches(d, rule[1]) {
				t.Errorf("%s depends on %s", rule[0], d)
			}
		}
	}
}

package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// broken is a tree with one broken file of each kind beside healthy
// packages: the defect stays with its package.
var broken = map[string]string{
	"manifest.yaml": "name: broken\nversion: 1.0.0\ntrees: [pkgs]\n",
	// Healthy: base, app on base, tool (needs nothing broken).
	"pkgs/base/definition.yaml": "name: base\ncategory: distro\nversion: 1.0\n",
	"pkgs/base/build.yaml":      "image: busybox:1\nunpack: true\n",
	"pkgs/app/definition.yaml":  "name: app\ncategory: apps\nversion: 0.1\n",
	"pkgs/app/build.yaml":       "requires: [{name: base, category: distro}]\nsteps: [echo app > /app]\n",
	"pkgs/tool/definition.yaml": "name: tool\ncategory: apps\nversion: 2\n",
	"pkgs/tool/build.yaml":      "image: busybox:1\nsteps: [echo {{ now | date \"2006\" }} > /tool]\n",
	// A definition that does not parse.
	"pkgs/yaml/definition.yaml": "name: badyaml\ncategory: apps\nversion: [1\n",
	// A build.yaml that does not render.
	"pkgs/render/definition.yaml": "name: norender\ncategory: apps\nversion: 1\n",
	"pkgs/render/build.yaml":      "image: busybox:1\nsteps: [echo {{ .Values.name | nosuch }}]\n",
	// A build.yaml that renders but does not validate.
	"pkgs/invalid/definition.yaml": "name: invalid\ncategory: apps\nversion: 1\n",
	"pkgs/invalid/build.yaml":      "steps: [true]\n",
	// An invalid includes regexp.
	"pkgs/regexp/definition.yaml": "name: badregexp\ncategory: apps\nversion: 1\n",
	"pkgs/regexp/build.yaml":      "image: busybox:1\nsteps: [true]\nincludes: ['/usr/(bin']\n",
	// A duplicate key with another value.
	"pkgs/dupkey/definition.yaml": "name: dupkey\ncategory: apps\nversion: 1\nlicense: MIT\nlicense: GPL\n",
	// A finalize.yaml that does not render.
	"pkgs/fin/definition.yaml": "name: fin\ncategory: apps\nversion: 1\n",
	"pkgs/fin/finalize.yaml":   "install:\n{{ if }}\n",
	// A collection with one bad entry and one good one.
	"pkgs/coll/collection.yaml": "packages:\n- {name: good, category: coll, version: 1}\n- {name: bad, category: coll, version: 1, hidden: maybe}\n",
	// Needs a broken package.
	"pkgs/needy/definition.yaml": "name: needy\ncategory: apps\nversion: 1\n",
	"pkgs/needy/build.yaml":      "requires: [{name: norender, category: apps}]\nsteps: [true]\n",
}

func TestBrokenTree(t *testing.T) {
	dir := writeProject(t, broken)

	out, errOut, code := run(t, dir, "tree", "list", "-o", "json")
	if code != 1 {
		t.Fatalf("tree list: exit %d, want 1\n%s", code, errOut)
	}
	var entries []listEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	if got, want := strings.Join(ids, " "), "apps/app@0.1 apps/needy@1 apps/tool@2 coll/good@1 distro/base@1.0"; got != want {
		t.Errorf("listed %s, want %s", got, want)
	}
	for _, want := range []string{
		"pkgs/yaml/definition.yaml:3:1: invalid YAML",
		`pkgs/render/build.yaml:2:32: template error: function "nosuch" not defined`,
		"pkgs/invalid/build.yaml:1:1: build spec has steps but neither image nor requires",
		`pkgs/regexp/build.yaml:3:12: includes: "/usr/(bin": missing closing )`,
		`pkgs/dupkey/definition.yaml:5:1: key "license" is already defined at line 4, with another value`,
		"pkgs/fin/finalize.yaml:2:",
		`pkgs/coll/collection.yaml:3:51: packages entry: hidden: want true or false, got "maybe"`,
		"7 error(s) in the tree: 6 package(s) not listed",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not say %q:\n%s", want, errOut)
		}
	}

	// A package whose closure is whole plans, and the command says once
	// that the tree has errors.
	out, errOut, code = run(t, dir, "plan", "--unresolved", "apps/app")
	if code != 0 || !strings.Contains(out, "apps/app@0.1") {
		t.Fatalf("plan apps/app: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := strings.Count(errOut, "etk tree validate lists them"); n != 1 {
		t.Errorf("plan says %d times that the tree has errors:\n%s", n, errOut)
	}
	if strings.Contains(errOut, "nosuch") {
		t.Errorf("plan of a whole closure prints other packages' errors:\n%s", errOut)
	}

	// A package that needs a broken one fails with that one's errors.
	_, errOut, code = run(t, dir, "plan", "--unresolved", "apps/needy")
	if code != 1 {
		t.Fatalf("plan apps/needy: exit %d, want 1", code)
	}
	for _, want := range []string{
		`pkgs/render/build.yaml:2:32: template error: function "nosuch" not defined`,
		"pkgs/needy/build.yaml:1:12: apps/needy@1 builds on apps/norender@1, whose specs have errors",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("plan apps/needy does not say %q:\n%s", want, errOut)
		}
	}

	// A typo is answered with the nearest names.
	_, errOut, code = run(t, dir, "plan", "apps/ap")
	if code != 1 || !strings.Contains(errOut, `no package named "apps/ap" (did you mean apps/app`) {
		t.Errorf("plan apps/ap: exit %d:\n%s", code, errOut)
	}

	// validate lists every error, sorted, once.
	_, errOut, code = run(t, dir, "tree", "validate")
	if code != 1 || strings.Count(errOut, `function "nosuch"`) != 1 {
		t.Errorf("validate: exit %d:\n%s", code, errOut)
	}

	// The clock is pinned: SOURCE_DATE_EPOCH, and the key says so.
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	out, _, code = run(t, dir, "plan", "--unresolved", "--explain", "apps/tool")
	if code != 0 || !strings.Contains(out, "2023-11-14T22:13:20Z") {
		t.Errorf("plan --explain apps/tool does not show the clock (exit %d):\n%s", code, out)
	}
}

// TestValuesFileNamed: a missing values file is named as the user wrote it.
func TestValuesFileNamed(t *testing.T) {
	dir := writeProject(t, small)
	_, errOut, code := run(t, dir, "plan", "--values", "./nope/missing.yaml")
	if code != 1 || !strings.Contains(errOut, "values file ./nope/missing.yaml: does not exist") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
}

// TestUnresolvedImageIsAnError: a key that needs a base image's digest is
// never computed without it; the error says what to do.
func TestUnresolvedImageIsAnError(t *testing.T) {
	dir := writeProject(t, small)
	_, errOut, code := run(t, dir, "plan")
	if code != 1 || !strings.Contains(errOut, "image busybox:1:") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "not in the engine") && !strings.Contains(errOut, "no Docker engine answers") {
		t.Errorf("the error does not say why:\n%s", errOut)
	}
}

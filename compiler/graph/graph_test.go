package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/google/go-cmp/cmp"
)

// pkg writes a package with runtime requires (def) and a build spec.
func pkg(fsys fstest.MapFS, dir, def, build string) {
	fsys[dir+"/definition.yaml"] = &fstest.MapFile{Data: []byte(def)}
	fsys[dir+"/build.yaml"] = &fstest.MapFile{Data: []byte(build)}
}

func load(t *testing.T, fsys fstest.MapFS) *graph.Graph {
	t.Helper()
	tr, diags := tree.Load(context.Background(), []tree.Source{{Name: "t", FS: fsys}}, tree.Options{})
	if tr == nil {
		t.Fatalf("load: %v", diags)
	}
	return graph.New(tr)
}

func messages(t *testing.T, g *graph.Graph) []string {
	t.Helper()
	var out []string
	for _, d := range g.Validate() {
		out = append(out, d.Error())
	}
	return out
}

func TestResolutionErrors(t *testing.T) {
	fsys := fstest.MapFS{}
	pkg(fsys, "base", "name: base\ncategory: distro\nversion: 1.0\n", "image: alpine\n")
	pkg(fsys, "cosign1", "name: cosign\ncategory: toolchain\nversion: 1.2.0\n", "")
	pkg(fsys, "cosign2", "name: cosign\ncategory: toolchain\nversion: 1.3.1\n", "")
	pkg(fsys, "dup1", "name: dup\ncategory: a\nversion: 1\n", "")
	pkg(fsys, "dup2", "name: dup\ncategory: b\nversion: 1\n", "")
	pkg(fsys, "user", `name: user
category: apps
version: 1
requires:
- name: cosign
  category: toolchain
  version: ">1.3.1"
- name: nothere
  category: system
- name: dup
- name: base
  category: sys
`, `requires:
- {name: base, category: distro, version: ">=2, <3"}
steps: [true]
`)
	got := messages(t, load(t, fsys))
	want := []string{
		`t/user/build.yaml:2:3: apps/user@1 requires distro/base >=2, <3: no version satisfies it: constraint >=2 excludes 1.0`,
		`t/user/definition.yaml:5:3: apps/user@1 requires toolchain/cosign >1.3.1: no version satisfies it: constraint >1.3.1 excludes 1.3.1, 1.2.0`,
		`t/user/definition.yaml:8:3: apps/user@1 requires system/nothere: no such package`,
		`t/user/definition.yaml:10:3: apps/user@1 requires dup: ambiguous: a package of that name exists in categories a, b; name one`,
		`t/user/definition.yaml:11:3: apps/user@1 requires sys/base: no such package (did you mean distro/base?)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validate (-want +got):\n%s", diff)
	}
}

func TestProvides(t *testing.T) {
	fsys := fstest.MapFS{}
	pkg(fsys, "wrapper", "name: cos-wrapper\ncategory: system\nversion: 0.32-16\nprovides:\n- {name: installer, category: utils, version: \">=0\"}\n", "")
	pkg(fsys, "grub", "name: grub2-artifacts\ncategory: system\nversion: 0.0.3\nprovides:\n- {name: grub-artifacts, version: \">0.0.2\"}\n", "")
	pkg(fsys, "user", "name: user\ncategory: apps\nversion: 1\nrequires:\n- {name: installer, category: utils}\n- {name: grub-artifacts}\n", "")
	g := load(t, fsys)
	if msgs := messages(t, g); len(msgs) != 0 {
		t.Fatalf("validate: %v", msgs)
	}
	n, err := g.Find("apps/user")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range n.Requires {
		got = append(got, e.To.Pkg.ID())
	}
	if diff := cmp.Diff([]string{"system/cos-wrapper@0.32-16", "system/grub2-artifacts@0.0.3"}, got); diff != "" {
		t.Errorf("provided requires (-want +got):\n%s", diff)
	}
}

// TestProvidesWins: as in luet, a requirement on a name that another
// package provides resolves to the provider even when a package of that
// name exists, whichever is defined first; a provided exact version that
// the selector rejects leaves the package of that name.
func TestProvidesWins(t *testing.T) {
	for _, order := range [][2]string{{"a-provider", "z-provided"}, {"z-provider", "a-provided"}} {
		t.Run(order[0], func(t *testing.T) {
			fsys := fstest.MapFS{}
			pkg(fsys, order[0], "name: cos-wrapper\ncategory: system\nversion: 1\nprovides:\n- {name: installer, category: utils, version: \">=0\"}\n- {name: old, category: utils, version: \"1.0\"}\n", "")
			pkg(fsys, order[1], "name: installer\ncategory: utils\nversion: 0.30\n", "")
			pkg(fsys, order[1]+"-old", "name: old\ncategory: utils\nversion: 2.0\n", "")
			pkg(fsys, "user", "name: user\ncategory: apps\nversion: 1\nrequires:\n- {name: installer, category: utils}\n- {name: installer}\n- {name: old, category: utils, version: \">=2\"}\n- {name: old, category: utils, version: \"<2\"}\n",
				"requires: [{name: installer, category: utils}]\nsteps: [true]\n")
			g := load(t, fsys)
			if msgs := messages(t, g); len(msgs) != 0 {
				t.Fatalf("validate: %v", msgs)
			}
			n, err := g.Find("apps/user")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range append(n.Requires, n.Build...) {
				got = append(got, e.To.Pkg.ID())
			}
			want := []string{"system/cos-wrapper@1", "system/cos-wrapper@1", "utils/old@2.0", "system/cos-wrapper@1", "system/cos-wrapper@1"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("resolved (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCycles(t *testing.T) {
	fsys := fstest.MapFS{}
	req := func(name string) string {
		return fmt.Sprintf("requires:\n- {name: %s, category: c, version: \">=0\"}\nsteps: [true]\n", name)
	}
	pkg(fsys, "a", "name: a\ncategory: c\nversion: 1\n", req("b"))
	pkg(fsys, "b", "name: b\ncategory: c\nversion: 1\n", req("c"))
	pkg(fsys, "cc", "name: c\ncategory: c\nversion: 1\n", req("a"))
	pkg(fsys, "self", "name: self\ncategory: c\nversion: 1\n", req("self"))
	pkg(fsys, "r1", "name: r1\ncategory: c\nversion: 1\nrequires: [{name: r2, category: c}]\n", "")
	pkg(fsys, "r2", "name: r2\ncategory: c\nversion: 1\nrequires: [{name: r1, category: c}]\n", "")
	got := messages(t, load(t, fsys))
	want := []string{
		"t/cc/build.yaml:2:3: build dependency cycle: c/a@1 -> c/b@1 -> c/c@1 -> c/a@1",
		"t/r2/definition.yaml:4:12: warning: runtime dependency cycle: c/r1@1 -> c/r2@1 -> c/r1@1",
		"t/self/build.yaml:2:3: c/self@1 requires c/self >=0: a package cannot require itself",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validate (-want +got):\n%s", diff)
	}
}

func TestConflictInOwnClosure(t *testing.T) {
	fsys := fstest.MapFS{}
	pkg(fsys, "a", "name: a\ncategory: c\nversion: 1\nrequires: [{name: b, category: c}]\nconflicts: [{name: d, category: c}]\n", "")
	pkg(fsys, "b", "name: b\ncategory: c\nversion: 1\nrequires: [{name: d, category: c}]\n", "")
	pkg(fsys, "d", "name: d\ncategory: c\nversion: 1\n", "")
	got := messages(t, load(t, fsys))
	want := []string{"t/a/definition.yaml:5:13: c/a@1 conflicts with c/d@1, which its own requirements pull in"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validate (-want +got):\n%s", diff)
	}
}

// TestClosureAndLevels: each package once, dependencies first, levels by
// longest path; requires_final_images pulls in the runtime closure.
func TestClosureAndLevels(t *testing.T) {
	fsys := fstest.MapFS{}
	pkg(fsys, "base", "name: base\ncategory: d\nversion: 1\n", "image: alpine\nunpack: true\n")
	pkg(fsys, "lib", "name: lib\ncategory: d\nversion: 1\nrequires: [{name: rt, category: d}]\n", "requires: [{name: base, category: d}]\nsteps: [true]\n")
	pkg(fsys, "rt", "name: rt\ncategory: d\nversion: 1\n", "requires: [{name: base, category: d}]\nsteps: [true]\n")
	pkg(fsys, "app", "name: app\ncategory: d\nversion: 1\n", "requires:\n- {name: lib, category: d}\n- {name: base, category: d}\nsteps: [true]\n")
	pkg(fsys, "img", "name: img\ncategory: d\nversion: 1\n", "requires: [{name: lib, category: d}]\nrequires_final_images: true\nsteps: [true]\n")
	g := load(t, fsys)
	top, _ := g.Find("d/app")
	img, _ := g.Find("d/img")
	order, diags := g.BuildClosure([]*graph.Node{top, img})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var levels []string
	for i, l := range graph.Levels(order) {
		var ids []string
		for _, n := range l {
			ids = append(ids, n.Pkg.ID())
		}
		levels = append(levels, fmt.Sprintf("%d: %s", i, strings.Join(ids, " ")))
	}
	want := []string{"0: d/base@1", "1: d/lib@1 d/rt@1", "2: d/app@1 d/img@1"}
	if diff := cmp.Diff(want, levels); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	var final []string
	for _, e := range img.Build {
		final = append(final, e.Kind.String()+" "+e.To.Pkg.ID())
	}
	wantFinal := []string{"requires d/lib@1", "final d/rt@1", "final d/lib@1"}
	if diff := cmp.Diff(wantFinal, final); diff != "" {
		t.Errorf("final-image inputs (-want +got):\n%s", diff)
	}
}

func TestFind(t *testing.T) {
	fsys := fstest.MapFS{}
	pkg(fsys, "a1", "name: a\ncategory: c\nversion: 1.0\n", "")
	pkg(fsys, "a2", "name: a\ncategory: c\nversion: 1.10\n", "")
	pkg(fsys, "a3", "name: a\ncategory: x\nversion: 1\n", "")
	g := load(t, fsys)
	for _, tc := range []struct{ arg, want string }{
		{"c/a", "c/a@1.10"},
		{"c/a@1.0", "c/a@1.0"},
		{"a", `"a" is ambiguous: it exists in categories c, x`},
		{"c/a@2", "no version 2 of c/a (have 1.10, 1.0)"},
		{"nope", `no package named "nope"`},
	} {
		n, err := g.Find(tc.arg)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = n.Pkg.ID()
		}
		if got != tc.want {
			t.Errorf("Find(%q) = %s, want %s", tc.arg, got, tc.want)
		}
	}
}

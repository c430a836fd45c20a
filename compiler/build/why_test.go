package build

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/compiler/tree"
)

func TestWhyRebuild(t *testing.T) {
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pkg := &spec.Package{Category: "system", Name: "kernel", Version: "0.2"}
	step := &plan.Step{Node: &graph.Node{Pkg: pkg}, ID: pkg.ID(), Inputs: []plan.Input{
		{Kind: "spec", Name: "system/kernel@0.2", Digest: "s2"},
		{Kind: "file", Name: "a.sh 0755", Digest: "f2"},
		{Kind: "image", Name: "debian:12", Digest: "i1"},
		{Kind: "requires", Name: "distro/base@1", Digest: "k2"},
	}}
	if got := WhyRebuild(c, step); got != "never built" {
		t.Errorf("no history: %q", got)
	}
	c.RecordHistory("system", "kernel", cache.History{ID: "system/kernel@0.1", Inputs: []cache.Input{
		{Kind: "spec", Name: "system/kernel@0.1", Digest: "s1"},
		{Kind: "file", Name: "a.sh 0755", Digest: "f1"},
		{Kind: "file", Name: "old.sh 0644", Digest: "o"},
		{Kind: "image", Name: "debian:12", Digest: "i1"},
		{Kind: "requires", Name: "distro/base@1", Digest: "k1"},
	}})
	want := "version 0.1 → 0.2, changed spec (values or build.yaml), changed file a.sh, changed input distro/base@1, removed file old.sh"
	if got := WhyRebuild(c, step); got != want {
		t.Errorf("why:\n got %s\nwant %s", got, want)
	}
}

// TestOnlyTargets: the named steps alone, once what they build on is
// cached.
func TestOnlyTargets(t *testing.T) {
	fsys := fstest.MapFS{
		"a/definition.yaml": {Data: []byte("name: a\ncategory: c\nversion: 1\n")},
		"a/build.yaml":      {Data: []byte("image: alpine\nsteps: [true]\n")},
		"b/definition.yaml": {Data: []byte("name: b\ncategory: c\nversion: 1\n")},
		"b/build.yaml":      {Data: []byte("requires: [{name: a, category: c}]\nsteps: [true]\n")},
	}
	s, diags := compiler.Load(context.Background(), compiler.Config{Trees: []tree.Source{{Name: "t", FS: fsys}}})
	if s == nil || diags.HasErrors() {
		t.Fatal(diags)
	}
	named, err := s.Targets([]string{"c/b"})
	if err != nil {
		t.Fatal(err)
	}
	pl, diags := s.Plan(context.Background(), named)
	if pl == nil {
		t.Fatal(diags)
	}
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OnlyTargets(pl, named, c); err == nil || !strings.Contains(err.Error(), "c/b@1 needs c/a@1, which is not in the cache") {
		t.Errorf("a not cached: %v", err)
	}
	w, _ := c.Create(pl.Step(s.Graph.Nodes[0]).Key)
	_ = w.WriteMetadata(map[string]string{"id": "c/a@1"})
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	steps, err := OnlyTargets(pl, named, c)
	if err != nil || len(steps) != 1 || steps[0].ID != "c/b@1" {
		t.Errorf("only b: %v %v", steps, err)
	}
}

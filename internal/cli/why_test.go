package cli

import (
	"testing"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/compiler/spec"
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
	if got := whyRebuild(c, step); got != "never built" {
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
	if got := whyRebuild(c, step); got != want {
		t.Errorf("why:\n got %s\nwant %s", got, want)
	}
}

package plan_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/compiler/dockerfile"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/compiler/tree"
)

func load(t *testing.T) *graph.Graph {
	t.Helper()
	fsys := fstest.MapFS{
		"base/definition.yaml": {Data: []byte("name: base\ncategory: d\nversion: 1\n")},
		"base/build.yaml":      {Data: []byte("image: alpine:3\nunpack: true\n")},
		"app/definition.yaml":  {Data: []byte("name: app\ncategory: a\nversion: 1\n")},
		"app/build.yaml":       {Data: []byte("requires: [{name: base, category: d}]\nsteps: [make]\n")},
		"app/Makefile":         {Data: []byte("all:\n")},
		"meta/definition.yaml": {Data: []byte("name: all\ncategory: meta\nversion: 1\n")},
		"meta/build.yaml":      {Data: []byte("")},
	}
	tr, diags := tree.Load(context.Background(), []tree.Source{{Name: "t", FS: fsys}}, tree.Options{})
	if tr == nil || diags.HasErrors() {
		t.Fatal(diags)
	}
	return graph.New(tr)
}

func templates(t *testing.T) *dockerfile.Templates {
	t.Helper()
	tpl, err := dockerfile.Load(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// TestPlan: levels, inputs, virtual steps, and keys that depend on what
// they say and nothing else.
func TestPlan(t *testing.T) {
	g := load(t)
	opts := plan.Options{Templates: templates(t), ImageDigest: func(ref string) (string, error) { return "sha256:" + strings.Repeat("a", 64), nil }}
	p, diags := plan.New(context.Background(), g, g.Nodes, opts)
	if p == nil {
		t.Fatal(diags)
	}
	if len(p.Levels) != 2 {
		t.Fatalf("levels: %d", len(p.Levels))
	}
	byID := map[string]*plan.Step{}
	for _, s := range p.Steps {
		byID[s.ID] = s
	}
	app, base, meta := byID["a/app@1"], byID["d/base@1"], byID["meta/all@1"]
	if app.Level != 1 || base.Level != 0 || !meta.Virtual || meta.Image != "" {
		t.Errorf("app level %d, base level %d, meta virtual %v image %q", app.Level, base.Level, meta.Virtual, meta.Image)
	}
	if len(app.Deps) != 1 || app.Deps[0] != base {
		t.Errorf("app deps: %v", app.Deps)
	}
	kinds := map[string]bool{}
	for _, in := range app.Inputs {
		kinds[in.Kind] = true
		if in.Kind == "requires" && in.Digest != base.Key {
			t.Errorf("app's requires input is not base's key")
		}
	}
	for _, k := range []string{"schema", "spec", "file", "templates", "requires"} {
		if !kinds[k] {
			t.Errorf("app has no %s input: %v", k, app.Inputs)
		}
	}
	// The same inputs give the same keys; another base image digest
	// changes base and what builds on it, not the meta package.
	again, _ := plan.New(context.Background(), g, g.Nodes, opts)
	opts.ImageDigest = func(string) (string, error) { return "sha256:" + strings.Repeat("b", 64), nil }
	other, _ := plan.New(context.Background(), g, g.Nodes, opts)
	for i, s := range p.Steps {
		if again.Steps[i].Key != s.Key {
			t.Errorf("%s: another key for the same inputs", s.ID)
		}
		changed := other.Steps[i].Key != s.Key
		if want := s.ID != "meta/all@1"; changed != want {
			t.Errorf("%s: changed %v with the base image, want %v", s.ID, changed, want)
		}
	}
}

// TestPlanImageError: a base image that cannot be resolved is an error of
// the plan, at the package, never a key without it.
func TestPlanImageError(t *testing.T) {
	g := load(t)
	opts := plan.Options{Templates: templates(t), ImageDigest: func(string) (string, error) { return "", errors.New("no engine") }}
	p, diags := plan.New(context.Background(), g, g.Nodes, opts)
	if p != nil || !strings.Contains(diags.Err().Error(), "t/base/build.yaml: d/base@1: image alpine:3: no engine") {
		t.Errorf("got plan %v, %v", p != nil, diags)
	}
}

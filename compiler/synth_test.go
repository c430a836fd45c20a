package compiler_test

import (
	"context"
	"io/fs"
	"testing"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/internal/synth"
)

// TestSynthTrees cross-checks the loader and the generator: generated trees
// load without a diagnostic (strict), validate clean, and plan every package.
func TestSynthTrees(t *testing.T) {
	for _, cfg := range []synth.Config{
		{Packages: 300, Categories: 8, CollectionFraction: 0.3, MaxRequires: 5, Seed: 7, ContextFiles: 2, Chain: 50},
		{Packages: 1000, Categories: 20, CollectionFraction: 0.5, MaxRequires: 3, Seed: 42, ContextFiles: 1},
	} {
		fsys := synth.Indexed(synth.Generate(cfg))
		v, err := values.Load(fsys, "values/default.yaml", "values/default.yaml")
		if err != nil {
			t.Fatal(err)
		}
		sub, _ := fs.Sub(fsys, "packages")
		s, diags := compiler.Load(context.Background(), compiler.Config{
			Trees: []tree.Source{{Name: "packages", FS: sub}}, Values: v, Strict: true,
		})
		if s == nil || len(diags) > 0 {
			t.Fatalf("seed %d: load: %v", cfg.Seed, diags)
		}
		if d := s.Validate(); len(d) > 0 {
			t.Errorf("seed %d: validate: %v", cfg.Seed, d)
		}
		p, diags := s.Plan(context.Background(), s.Graph.Nodes)
		if p == nil {
			t.Fatalf("seed %d: plan: %v", cfg.Seed, diags)
		}
		if len(p.Steps) != len(s.Tree.Packages) {
			t.Errorf("seed %d: %d steps for %d packages", cfg.Seed, len(p.Steps), len(s.Tree.Packages))
		}
	}
}

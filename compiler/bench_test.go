package compiler_test

import (
	"context"
	"io/fs"
	"runtime"
	"testing"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/internal/synth"
)

// synthTree generates a tree in memory and returns its packages folder and
// values, so that benchmarks measure etk, not this machine's disk.
func synthTree(b *testing.B, cfg synth.Config) (fs.FS, values.Values) {
	b.Helper()
	fsys := synth.Indexed(synth.Generate(cfg))
	v, err := values.Load(fsys, "values/default.yaml", "values/default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sub, err := fs.Sub(fsys, "packages")
	if err != nil {
		b.Fatal(err)
	}
	return sub, v
}

// benchPlan loads, resolves and plans targets (all packages when nil) once
// per iteration: the whole work of `etk plan`.
func benchPlan(b *testing.B, fsys fs.FS, v values.Values, target string) {
	b.Helper()
	b.ReportAllocs()
	steps := 0
	for b.Loop() {
		s, diags := compiler.Load(context.Background(), compiler.Config{
			Trees:  []tree.Source{{Name: "packages", FS: fsys}},
			Values: v,
		})
		if s == nil {
			b.Fatal(diags)
		}
		targets := s.Graph.Nodes
		if target != "" {
			n, err := s.Graph.Find(target)
			if err != nil {
				b.Fatal(err)
			}
			targets = []*graph.Node{n}
		}
		p, diags := s.Plan(context.Background(), targets)
		if p == nil {
			b.Fatal(diags)
		}
		steps = len(p.Steps)
	}
	b.ReportMetric(float64(steps), "steps")
}

// BenchmarkPlan10k plans every package of a 10,000-package tree.
func BenchmarkPlan10k(b *testing.B) {
	fsys, v := synthTree(b, synth.Config{Packages: 10000, Categories: 40, CollectionFraction: 0.3, MaxRequires: 6, Seed: 1, ContextFiles: 2})
	benchPlan(b, fsys, v, "")
}

// BenchmarkPlanChain700 plans one package with 700 packages in its build
// closure (luet's `tree images` took over 600 s on such a package).
func BenchmarkPlanChain700(b *testing.B) {
	fsys, v := synthTree(b, synth.Config{Packages: 20, Categories: 4, CollectionFraction: 0.3, MaxRequires: 4, Seed: 1, ContextFiles: 1, Chain: 700})
	benchPlan(b, fsys, v, "chain/top")
}

// BenchmarkCorpusFlavor plans the whole elemental tree with one flavor.
func BenchmarkCorpusFlavor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		s, diags := loadCorpus(b, "green-x86_64.yaml")
		if s == nil {
			b.Fatal(diags)
		}
		if p, diags := s.Plan(context.Background(), s.Graph.Nodes); p == nil {
			b.Fatal(diags)
		}
	}
}

// BenchmarkPlanIncludes plans a generated tree whose build specs hold
// hundreds of thousands of includes patterns (one per file, as generated
// trees write them). It reports the patterns and the heap the loaded
// session keeps.
func BenchmarkPlanIncludes(b *testing.B) {
	fsys, v := synthTree(b, synth.Config{Packages: 600, Categories: 10, CollectionFraction: 0.3, MaxRequires: 4, Seed: 1, ContextFiles: 1, Includes: 1000})
	b.ReportAllocs()
	var patterns int
	var heap uint64
	for b.Loop() {
		s, diags := compiler.Load(context.Background(), compiler.Config{
			Trees:  []tree.Source{{Name: "packages", FS: fsys}},
			Values: v,
		})
		if s == nil {
			b.Fatal(diags)
		}
		if p, diags := s.Plan(context.Background(), s.Graph.Nodes); p == nil {
			b.Fatal(diags)
		}
		patterns = 0
		for _, p := range s.Tree.Packages {
			if p.Build != nil {
				patterns += len(p.Build.Includes)
			}
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap = ms.HeapInuse
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(patterns), "patterns")
	b.ReportMetric(float64(heap)/(1<<20), "MB-live")
}

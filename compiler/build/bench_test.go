package build_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/internal/synth"
)

// noBackend fails every build: a compile where everything is cached must
// not reach the backend.
type noBackend struct{}

func (noBackend) Build(context.Context, *build.Request, io.Writer) (*artifact.Metadata, error) {
	return nil, errors.New("the backend was called")
}

// BenchmarkNoopCompile1k is a whole `etk compile` of a 1,000-package tree
// whose every key is cached: load, plan, and a cache hit per package.
func BenchmarkNoopCompile1k(b *testing.B) {
	fsys := synth.Indexed(synth.Generate(synth.Config{Packages: 1000, Categories: 20, CollectionFraction: 0.3, MaxRequires: 5, Seed: 3, ContextFiles: 2}))
	v, err := values.Load(fsys, "values/default.yaml", "values/default.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sub, _ := fs.Sub(fsys, "packages")
	c, err := cache.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	compile := func(fill bool) *build.Summary {
		s, diags := compiler.Load(ctx, compiler.Config{Trees: []tree.Source{{Name: "packages", FS: sub}}, Values: v})
		if s == nil {
			b.Fatal(diags)
		}
		p, diags := s.Plan(ctx, s.Graph.Nodes)
		if p == nil {
			b.Fatal(diags)
		}
		if fill {
			for _, st := range p.Steps {
				w, err := c.Create(st.Key)
				if err != nil {
					b.Fatal(err)
				}
				if err := w.WriteMetadata(build.NewMetadata(st, nil)); err != nil {
					b.Fatal(err)
				}
				if _, err := w.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		}
		sum, err := build.Run(ctx, p, p.Steps, build.New(noBackend{}, c, p, s), build.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return sum
	}
	compile(true)
	b.ResetTimer()
	b.ReportAllocs()
	for b.Loop() {
		if sum := compile(false); sum.Count(build.Cached) != len(sum.Results) {
			b.Fatalf("cached %d of %d", sum.Count(build.Cached), len(sum.Results))
		}
	}
}

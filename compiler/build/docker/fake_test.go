package docker_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
)

var errEngine = errors.New("the engine was called")

// interrupted is an engine whose builds are cancelled (Ctrl-C) after the
// builder image was made.
type interrupted struct {
	mu      sync.Mutex
	removed []string
	builds  int
}

func (e *interrupted) Inspect(context.Context, string) (docker.ImageInfo, error) {
	return docker.ImageInfo{ID: "sha256:x"}, nil
}
func (e *interrupted) Build(ctx context.Context, req docker.BuildRequest, _ func(string)) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.builds++
	if e.builds == 2 {
		return "", context.Canceled
	}
	return "sha256:x", nil
}
func (e *interrupted) Save(context.Context, string, string) (string, error) { return "", errEngine }
func (e *interrupted) Import(context.Context, io.Reader, string) error      { return errEngine }
func (e *interrupted) Remove(_ context.Context, ref string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.removed = append(e.removed, ref)
	return nil
}

// TestInterruptedBuildDropsItsImages: a build stopped halfway leaves no
// image of its own behind and nothing in the cache.
func TestInterruptedBuildDropsItsImages(t *testing.T) {
	ctx := context.Background()
	fsys := fstest.MapFS{
		"p/definition.yaml": {Data: []byte("name: p\ncategory: c\nversion: 1\n")},
		"p/build.yaml":      {Data: []byte("image: base\nsteps: [true]\n")},
	}
	s, diags := compiler.Load(ctx, compiler.Config{Trees: []tree.Source{{Name: "t", FS: fsys}}, Values: values.Values{}})
	if s == nil {
		t.Fatal(diags)
	}
	p, _ := s.Plan(ctx, s.Graph.Nodes)
	c, _ := cache.Open(t.TempDir())
	e := &interrupted{}
	_, err := build.Run(ctx, p, p.Steps, build.New(docker.NewBackend(e, s), c, p, s), build.Options{})
	if err == nil {
		t.Fatal("the interrupted build succeeded")
	}
	st := p.Steps[0]
	if !slices.Contains(e.removed, st.Image) || !slices.Contains(e.removed, st.BuilderImage) {
		t.Errorf("images removed: %v", e.removed)
	}
	if _, ok := c.Get(st.Key); ok {
		t.Error("an interrupted build left a cache entry")
	}
}

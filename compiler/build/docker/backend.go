package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Images is what the backend does with an engine's images; *Engine has
// it, and tests fake it.
type Images interface {
	Inspect(ctx context.Context, ref string) (ImageInfo, error)
	Build(ctx context.Context, req BuildRequest, log func(string)) (string, error)
	Save(ctx context.Context, ref, dir string) (string, error)
	Import(ctx context.Context, r io.Reader, ref string) error
	Remove(ctx context.Context, ref string) error
}

// Renderer gives the Dockerfiles of a step, and its build context;
// *compiler.Session is one. The backend renders the step it builds and,
// when the engine lost the image of an input, that input's.
type Renderer interface {
	Render(p *plan.Plan, s *plan.Step) (builder, pkg []byte, ok bool, err error)
	Context(s *plan.Step) (fs.FS, []string)
}

// Backend builds steps on a Docker engine: the builder and package
// images from the rendered Dockerfiles, then the artefact cut out of the
// package image. It implements build.Backend.
type Backend struct {
	images Images
	render Renderer
	opts   options

	// images being made ready, so that two steps needing the same input
	// image make it once.
	mu    sync.Mutex
	ready map[string]*readyOnce
}

type readyOnce struct {
	once sync.Once
	err  error
}

type options struct {
	epoch  time.Time
	tmpDir string
}

// Option tunes a Backend.
type Option func(*options)

// WithEpoch sets the time stamped on every artefact entry (default: the
// Unix epoch, or SOURCE_DATE_EPOCH when the caller passes it).
func WithEpoch(t time.Time) Option { return func(o *options) { o.epoch = t } }

// WithTempDir sets where image saves and spools go.
func WithTempDir(dir string) Option { return func(o *options) { o.tmpDir = dir } }

// NewBackend returns a backend building on e.
func NewBackend(e Images, r Renderer, opts ...Option) *Backend {
	o := options{epoch: time.Unix(0, 0).UTC(), tmpDir: os.TempDir()}
	for _, opt := range opts {
		opt(&o)
	}
	return &Backend{images: e, render: r, opts: o, ready: map[string]*readyOnce{}}
}

var _ build.Backend = (*Backend)(nil)

// Build builds the images of req.Step, after making sure the images its
// Dockerfiles name exist, and writes its artefact to w. A build that
// fails or is interrupted drops the images it made.
func (b *Backend) Build(ctx context.Context, req *build.Request, w io.Writer) (*artifact.Metadata, error) {
	if req.Log == nil {
		r := *req
		r.Log = func(string) {}
		req = &r
	}
	s := req.Step
	if err := b.buildImages(ctx, req, s, req.Context); err != nil {
		b.dropImages(s)
		return nil, err
	}
	meta, err := b.extract(ctx, s, w)
	if err != nil {
		b.dropImages(s)
		return nil, fmt.Errorf("artefact: %w", err)
	}
	return meta, nil
}

// dropImages removes the images a failed or interrupted build of s left:
// nothing will use them, and a later build makes them again. It runs on
// a context of its own, since the build's may be cancelled (Ctrl-C).
func (b *Backend) dropImages(s *plan.Step) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = b.images.Remove(ctx, s.Image)
	_ = b.images.Remove(ctx, s.BuilderImage)
}

// buildImages builds the builder and package images of s (req.Step or an
// input of it) from context c, after making sure the images its
// Dockerfiles name exist.
func (b *Backend) buildImages(ctx context.Context, req *build.Request, s *plan.Step, c build.Context) error {
	if err := b.inputs(ctx, req, s); err != nil {
		return err
	}
	builderDF, pkgDF, _, err := b.render.Render(req.Plan, s)
	if err != nil {
		return err
	}
	network := s.Pkg().Build.Network
	labels := map[string]string{"etk.package": s.ID, "etk.key": s.Key}
	if _, err := b.images.Build(ctx, BuildRequest{Dockerfile: builderDF, Context: c.FS, Files: c.Files, Tag: s.BuilderImage, Network: network, Labels: labels}, req.Log); err != nil {
		return fmt.Errorf("builder image: %w", err)
	}
	if _, err := b.images.Build(ctx, BuildRequest{Dockerfile: pkgDF, Context: c.FS, Files: c.Files, Tag: s.Image, Network: network, Labels: labels}, req.Log); err != nil {
		return fmt.Errorf("package image: %w", err)
	}
	return nil
}

// inputs makes sure every image s builds from exists: a dependency's
// package image (built again from its Dockerfiles when the engine lost it;
// its artefact stays cached) or its artefact image (imported from the
// input artefact).
func (b *Backend) inputs(ctx context.Context, req *build.Request, s *plan.Step) error {
	d, ok := req.Plan.DockerfileData(s)
	if !ok {
		return nil
	}
	images := map[string]bool{}
	for _, c := range d.Copy {
		images[c.From] = true
	}
	images[d.From] = true
	for _, dep := range s.Deps {
		switch {
		case dep.Virtual:
		case images[dep.Image]:
			if err := b.once(dep.Image, func() error { return b.packageImage(ctx, req, dep) }); err != nil {
				return err
			}
		}
	}
	for _, ref := range d.Layers {
		dep := stepOfArtefact(req.Plan, s, ref)
		if dep == nil {
			return fmt.Errorf("no step makes %s", ref)
		}
		if err := b.once(ref, func() error { return b.artefactImage(ctx, req, dep) }); err != nil {
			return err
		}
	}
	return nil
}

func stepOfArtefact(p *plan.Plan, s *plan.Step, ref string) *plan.Step {
	for _, e := range s.Node.Build {
		if d := p.Step(e.To); d != nil && d.Artefact == ref {
			return d
		}
	}
	return nil
}

func (b *Backend) once(ref string, f func() error) error {
	b.mu.Lock()
	r, ok := b.ready[ref]
	if !ok {
		r = &readyOnce{}
		b.ready[ref] = r
	}
	b.mu.Unlock()
	r.once.Do(func() { r.err = f() })
	return r.err
}

// packageImage makes sure dep's package image exists, building it (and
// what it needs) again if the engine does not have it.
func (b *Backend) packageImage(ctx context.Context, req *build.Request, dep *plan.Step) error {
	if _, err := b.images.Inspect(ctx, dep.Image); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	req.Log(fmt.Sprintf("etk: image of %s is not in the engine; building it again", dep.ID))
	fsys, files := b.render.Context(dep)
	return b.buildImages(ctx, req, dep, build.Context{FS: fsys, Files: files})
}

// artefactImage makes sure dep's artefact exists as an image, importing
// it from the request's input.
func (b *Backend) artefactImage(ctx context.Context, req *build.Request, dep *plan.Step) error {
	if _, err := b.images.Inspect(ctx, dep.Artefact); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	in, ok := req.Input(dep)
	if !ok || in.Artefact == "" {
		return fmt.Errorf("artefact of %s is not in the cache", dep.ID)
	}
	f, err := in.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	if in.Metadata == nil || in.Metadata.Artefact == nil {
		return fmt.Errorf("artefact of %s has no metadata", dep.ID)
	}
	// A cache entry may come from a registry: it expands no further than
	// its metadata says, as an install would hold it to.
	zr, err := artifact.Decompress(f, in.Metadata.Artefact)
	if err != nil {
		return fmt.Errorf("artefact of %s: %w", dep.ID, err)
	}
	defer zr.Close()
	if err := b.images.Import(ctx, zr, dep.Artefact); err != nil {
		return fmt.Errorf("artefact of %s: %w", dep.ID, err)
	}
	return nil
}

// extract cuts the artefact of s out of its package image.
func (b *Backend) extract(ctx context.Context, s *plan.Step, w io.Writer) (*artifact.Metadata, error) {
	bs := s.Pkg().Build
	// The build context folder is scratch space, never part of a package.
	excludes := append([]string{`^/luetbuild(/|$)`}, bs.Excludes...)
	spec := artifact.Spec{Includes: bs.Includes, Excludes: excludes, PackageDir: bs.PackageDir, Epoch: b.opts.epoch, TempDir: b.opts.tmpDir}
	saved, err := b.images.Save(ctx, s.Image, b.opts.tmpDir)
	if err != nil {
		return nil, err
	}
	defer os.Remove(saved)
	img, err := tarball.ImageFromPath(saved, nil)
	if err != nil {
		return nil, fmt.Errorf("read saved image: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	openers := make([]artifact.Opener, len(layers))
	for i, l := range layers {
		openers[i] = l.Uncompressed
	}
	if bs.Unpack || bs.PackageDir != "" {
		return artifact.Full(ctx, openers, spec, w)
	}
	base, err := b.images.Inspect(ctx, s.BuilderImage)
	if err != nil {
		return nil, err
	}
	if base.Layers > len(openers) {
		return nil, fmt.Errorf("package image has %d layers, fewer than its builder's %d", len(openers), base.Layers)
	}
	return artifact.Delta(ctx, openers[base.Layers:], spec, w)
}

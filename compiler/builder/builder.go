package builder

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
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/docker"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/zstd"
)

// Engine is what the builder needs of a Docker engine.
type Engine interface {
	Inspect(ctx context.Context, ref string) (docker.ImageInfo, error)
	Build(ctx context.Context, req docker.BuildRequest, log func(string)) (string, error)
	Save(ctx context.Context, ref, dir string) (string, error)
	Import(ctx context.Context, r io.Reader, ref string) error
	Remove(ctx context.Context, ref string) error
}

// Renderer gives the Dockerfiles of a step, and its build context.
type Renderer interface {
	Dockerfiles(p *plan.Plan, s *plan.Step) (builder, pkg []byte, ok bool, err error)
	Context(s *plan.Step) (fs.FS, []string)
}

// Builder builds steps of one plan on an engine into a cache.
type Builder struct {
	engine Engine
	cache  *cache.Cache
	plan   *plan.Plan
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
	epoch   time.Time
	tmpDir  string
	remotes []remote
}

type remote struct {
	r    Remote
	push bool
}

// Remote is a build cache shared through a registry.
type Remote interface {
	// Fetch fills w with the entry of key when the remote has it.
	Fetch(ctx context.Context, key string, w *cache.Writer) (bool, error)
	// Push uploads an entry, doing nothing when the remote has it.
	Push(ctx context.Context, e *cache.Entry) error
}

// WithRemote shares builds through r: a key missing locally is fetched
// from it before anything is built, and with push every entry of the run
// is pushed to it. Several remotes are tried in the order given (a
// registry cache, upstream repositories).
func WithRemote(r Remote, push bool) Option {
	return func(o *options) { o.remotes = append(o.remotes, remote{r, push}) }
}

// Option tunes a Builder.
type Option func(*options)

// WithEpoch sets the time stamped on every artefact entry (default: the
// Unix epoch, or SOURCE_DATE_EPOCH when the caller passes it).
func WithEpoch(t time.Time) Option { return func(o *options) { o.epoch = t } }

// WithTempDir sets where image saves and spools go.
func WithTempDir(dir string) Option { return func(o *options) { o.tmpDir = dir } }

// New returns a builder of p's steps.
func New(e Engine, c *cache.Cache, p *plan.Plan, r Renderer, opts ...Option) *Builder {
	o := options{epoch: time.Unix(0, 0).UTC(), tmpDir: os.TempDir()}
	for _, opt := range opts {
		opt(&o)
	}
	return &Builder{engine: e, cache: c, plan: p, render: r, opts: o, ready: map[string]*readyOnce{}}
}

var _ build.Builder = (*Builder)(nil)

// Build builds s unless the cache has its key. The key's lock is held
// from the cache lookup to the commit, so two etk runs sharing a cache
// build a key once between them.
func (b *Builder) Build(ctx context.Context, s *plan.Step, log build.Log) (build.Outcome, error) {
	if e, ok := b.cache.Get(s.Key); ok {
		return b.done(ctx, e, true)
	}
	unlock, err := b.cache.Lock(s.Key)
	if err != nil {
		return build.Outcome{}, err
	}
	defer unlock()
	if e, ok := b.cache.Get(s.Key); ok {
		return b.done(ctx, e, true)
	}
	if e, ok := b.fetch(ctx, s, log); ok {
		return b.done(ctx, e, true)
	}
	w, err := b.cache.Create(s.Key)
	if err != nil {
		return build.Outcome{}, err
	}
	defer w.Abort()

	var meta *artifact.Metadata
	if !s.Virtual {
		if err := b.buildImages(ctx, s, log); err != nil {
			b.dropImages(s)
			return build.Outcome{}, err
		}
		f, err := os.Create(w.ArtefactPath())
		if err != nil {
			return build.Outcome{}, err
		}
		meta, err = b.extract(ctx, s, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.dropImages(s)
			return build.Outcome{}, fmt.Errorf("artefact: %w", err)
		}
	}
	if err := w.WriteMetadata(NewMetadata(s, meta)); err != nil {
		return build.Outcome{}, err
	}
	e, err := w.Commit()
	if err != nil {
		return build.Outcome{}, err
	}
	b.recordHistory(s)
	return b.done(ctx, e, false)
}

// dropImages removes the images a failed or interrupted build of s left:
// nothing will use them, and a later build makes them again. It runs on
// a context of its own, since the build's may be cancelled (Ctrl-C).
func (b *Builder) dropImages(s *plan.Step) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = b.engine.Remove(ctx, s.Image)
	_ = b.engine.Remove(ctx, s.BuilderImage)
}

// fetch looks a key up in the remote cache. A remote that fails is said
// in the log and builds go on: it only saves time.
func (b *Builder) fetch(ctx context.Context, s *plan.Step, log build.Log) (*cache.Entry, bool) {
	for _, rm := range b.opts.remotes {
		if e, ok := b.fetchFrom(ctx, rm.r, s, log); ok {
			return e, true
		}
	}
	return nil, false
}

func (b *Builder) fetchFrom(ctx context.Context, r Remote, s *plan.Step, log build.Log) (*cache.Entry, bool) {
	w, err := b.cache.Create(s.Key)
	if err != nil {
		return nil, false
	}
	defer w.Abort()
	found, err := r.Fetch(ctx, s.Key, w)
	if err != nil {
		log(fmt.Sprintf("etk: %s: %v", r, err))
		return nil, false
	}
	if !found {
		return nil, false
	}
	e, err := w.Commit()
	if err != nil {
		log(fmt.Sprintf("etk: %s: %v", r, err))
		return nil, false
	}
	b.recordHistory(s)
	return e, true
}

// done pushes an entry when asked to and describes it.
func (b *Builder) done(ctx context.Context, e *cache.Entry, cached bool) (build.Outcome, error) {
	for _, rm := range b.opts.remotes {
		if rm.push {
			if err := rm.r.Push(ctx, e); err != nil {
				return build.Outcome{}, err
			}
		}
	}
	return outcome(e, cached)
}

func (b *Builder) recordHistory(s *plan.Step) {
	h := cache.History{ID: s.ID, Key: s.Key}
	for _, in := range s.Inputs {
		h.Inputs = append(h.Inputs, cache.Input(in))
	}
	// History only explains rebuilds; failing to write it fails nothing.
	_ = b.cache.RecordHistory(s.Pkg().Category, s.Pkg().Name, h)
}

func outcome(e *cache.Entry, cached bool) (build.Outcome, error) {
	o := build.Outcome{Cached: cached, Artefact: e.Artefact}
	var m Metadata
	if err := e.ReadMetadata(&m); err != nil {
		return o, fmt.Errorf("cache entry %s: %w", e.Key, err)
	}
	if m.Artefact != nil {
		o.Digest, o.Size = m.Artefact.Digest, m.Artefact.Size
	}
	return o, nil
}

// buildImages builds the builder and package images of s, after making
// sure the images its Dockerfiles name exist.
func (b *Builder) buildImages(ctx context.Context, s *plan.Step, log build.Log) error {
	if err := b.inputs(ctx, s, log); err != nil {
		return err
	}
	builderDF, pkgDF, _, err := b.render.Dockerfiles(b.plan, s)
	if err != nil {
		return err
	}
	ctxFS, files := b.render.Context(s)
	network := s.Pkg().Build.Network
	labels := map[string]string{"etk.package": s.ID, "etk.key": s.Key}
	if _, err := b.engine.Build(ctx, docker.BuildRequest{Dockerfile: builderDF, Context: ctxFS, Files: files, Tag: s.BuilderImage, Network: network, Labels: labels}, log); err != nil {
		return fmt.Errorf("builder image: %w", err)
	}
	if _, err := b.engine.Build(ctx, docker.BuildRequest{Dockerfile: pkgDF, Context: ctxFS, Files: files, Tag: s.Image, Network: network, Labels: labels}, log); err != nil {
		return fmt.Errorf("package image: %w", err)
	}
	return nil
}

// inputs makes sure every image s builds from exists: a dependency's
// package image (built again from its Dockerfiles when the engine lost it;
// its artefact stays cached) or its artefact image (imported from the
// cache).
func (b *Builder) inputs(ctx context.Context, s *plan.Step, log build.Log) error {
	d, ok := b.plan.DockerfileData(s)
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
			if err := b.once(dep.Image, func() error { return b.packageImage(ctx, dep, log) }); err != nil {
				return err
			}
		}
	}
	for _, ref := range d.Layers {
		dep := b.stepOfArtefact(s, ref)
		if dep == nil {
			return fmt.Errorf("no step makes %s", ref)
		}
		if err := b.once(ref, func() error { return b.artefactImage(ctx, dep) }); err != nil {
			return err
		}
	}
	return nil
}

func (b *Builder) stepOfArtefact(s *plan.Step, ref string) *plan.Step {
	for _, e := range s.Node.Build {
		if d := b.plan.Step(e.To); d != nil && d.Artefact == ref {
			return d
		}
	}
	return nil
}

func (b *Builder) once(ref string, f func() error) error {
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
func (b *Builder) packageImage(ctx context.Context, dep *plan.Step, log build.Log) error {
	if _, err := b.engine.Inspect(ctx, dep.Image); err == nil {
		return nil
	} else if !errors.Is(err, docker.ErrNotFound) {
		return err
	}
	log(fmt.Sprintf("etk: image of %s is not in the engine; building it again", dep.ID))
	return b.buildImages(ctx, dep, log)
}

// artefactImage makes sure dep's artefact exists as an image, importing
// it from the cache.
func (b *Builder) artefactImage(ctx context.Context, dep *plan.Step) error {
	if _, err := b.engine.Inspect(ctx, dep.Artefact); err == nil {
		return nil
	} else if !errors.Is(err, docker.ErrNotFound) {
		return err
	}
	e, ok := b.cache.Get(dep.Key)
	if !ok || e.Artefact == "" {
		return fmt.Errorf("artefact of %s is not in the cache", dep.ID)
	}
	f, err := e.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	return b.engine.Import(ctx, zr, dep.Artefact)
}

// extract cuts the artefact of s out of its package image.
func (b *Builder) extract(ctx context.Context, s *plan.Step, w io.Writer) (*artifact.Metadata, error) {
	bs := s.Pkg().Build
	// The build context folder is scratch space, never part of a package.
	excludes := append([]string{`^/luetbuild(/|$)`}, bs.Excludes...)
	spec := artifact.Spec{Includes: bs.Includes, Excludes: excludes, PackageDir: bs.PackageDir, Epoch: b.opts.epoch, TempDir: b.opts.tmpDir}
	saved, err := b.engine.Save(ctx, s.Image, b.opts.tmpDir)
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
	base, err := b.engine.Inspect(ctx, s.BuilderImage)
	if err != nil {
		return nil, err
	}
	if base.Layers > len(openers) {
		return nil, fmt.Errorf("package image has %d layers, fewer than its builder's %d", len(openers), base.Layers)
	}
	return artifact.Delta(ctx, openers[base.Layers:], spec, w)
}

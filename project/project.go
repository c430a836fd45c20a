package project

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/dockerfile"
	"github.com/etk-build/etk/compiler/manifest"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/repository"
)

// ErrUsage marks errors in what the caller asked for (a flag's value), as
// opposed to errors of the project's files: errors.Is(err, ErrUsage).
var ErrUsage = errors.New("usage error")

type usageError struct{ error }

func (e usageError) Unwrap() error      { return e.error }
func (usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func usage(err error) error { return usageError{err} }

// Options say which project to open and how.
type Options struct {
	// Dir is where to look for the manifest ("" is the working folder).
	Dir string
	// Trees, when set, are the package trees of a project without a
	// manifest; no manifest is read.
	Trees []string
	// Flavor is the manifest's flavor to use ("" for its default).
	Flavor string
	// ValuesFiles are layered over the flavor's, in order.
	ValuesFiles []string
	// Set are KEY=VALUE values, layered last.
	Set []string
	// Profiles are overlaid in order.
	Profiles []string
	// Strict makes unknown build.yaml fields errors.
	Strict bool
	// Jobs bounds the loader's parallelism (zero: GOMAXPROCS).
	Jobs int
	// Getenv reads the environment (SOURCE_DATE_EPOCH); nil reads none.
	Getenv func(string) string
	// OpenStore opens a repository URL, for upstreams. Required when the
	// manifest extends upstreams.
	OpenStore func(url string) (repository.ReadOnlyStore, error)
	// Logger receives what is worth saying but not an error.
	Logger *slog.Logger
}

// Project is an opened project, for one flavor at a time.
type Project struct {
	// Manifest is nil for a project of bare trees.
	Manifest  *manifest.Manifest
	Profiles  []*manifest.Profile
	Upstreams []*repository.Upstream
	// Flavor is the flavor the values are for ("" without flavors).
	Flavor string
	// Config is what the compiler loads.
	Config compiler.Config
	// Extends is the extends graph behind the upstreams' trees: a
	// repository name to those it extends ("" is this project).
	Extends map[string][]string

	opts           Options
	upstreamValues values.Values
	treeRevs       map[string]int64
}

// Open opens the project and sets its values for opts.Flavor.
func Open(ctx context.Context, opts Options) (*Project, error) {
	if len(opts.Trees) > 0 && opts.Flavor != "" {
		return nil, usagef("--flavor needs a manifest; with --tree, pass --values files instead")
	}
	if len(opts.Trees) > 0 && len(opts.Profiles) > 0 {
		return nil, usagef("--profile needs a manifest")
	}
	if _, err := values.ParseSet(opts.Set); err != nil {
		return nil, usage(err)
	}
	p := &Project{opts: opts}
	if len(opts.Trees) > 0 {
		for _, t := range opts.Trees {
			if fi, err := os.Stat(t); err != nil || !fi.IsDir() {
				return nil, usagef("--tree %s: not a directory", t)
			}
			p.Config.Trees = append(p.Config.Trees, tree.Source{Name: filepath.ToSlash(filepath.Clean(t)), FS: os.DirFS(t)})
		}
	} else if err := p.openManifest(ctx); err != nil {
		return nil, err
	}
	p.Config.Strict, p.Config.Jobs = opts.Strict, opts.Jobs
	epoch := ""
	if p.Manifest != nil {
		epoch = p.Manifest.Epoch
	}
	clock, err := compiler.Clock(opts.Getenv, epoch)
	if err != nil {
		return nil, usage(err)
	}
	p.Config.Clock = clock
	if err := p.SetFlavor(opts.Flavor); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Project) openManifest(ctx context.Context) error {
	dir := p.opts.Dir
	if dir == "" {
		dir = "."
	}
	path, err := manifest.Find(dir)
	if err != nil {
		return err
	}
	m, err := manifest.Load(path)
	if err != nil {
		return err
	}
	p.Manifest = m
	if err := p.loadUpstreams(ctx); err != nil {
		return err
	}
	for _, t := range m.Trees {
		abs := m.Path(t)
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s: trees: %s is not a directory", m.File, t)
		}
		// Over upstream trees, a project's package replaces the
		// upstream's of the same name.
		p.Config.Trees = append(p.Config.Trees, tree.Source{Name: ShortPath(abs), FS: os.DirFS(abs), Overlay: len(p.Upstreams) > 0})
	}
	for _, name := range p.opts.Profiles {
		prof, err := m.LoadProfile(name)
		if err != nil {
			return usage(err)
		}
		p.Profiles = append(p.Profiles, prof)
		for _, t := range prof.Trees {
			abs := prof.Path(t)
			if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
				return fmt.Errorf("profile %s: trees: %s is not a directory", name, t)
			}
			p.Config.Trees = append(p.Config.Trees, tree.Source{Name: ShortPath(abs), FS: os.DirFS(abs), Overlay: true})
		}
		p.Config.Mask = append(p.Config.Mask, prof.Mask...)
	}
	if m.Templates != "" {
		abs := m.Path(m.Templates)
		t, err := dockerfile.Load(os.DirFS(abs), ShortPath(abs))
		if err != nil {
			return err
		}
		p.Config.Templates = t
	}
	return nil
}

// Flavors lists what a whole-tree check covers: every flavor of the
// manifest, or the one asked for.
func (p *Project) Flavors() []string {
	if p.Manifest == nil || p.opts.Flavor != "" || len(p.Manifest.Flavors) == 0 {
		return []string{p.opts.Flavor}
	}
	return p.Manifest.FlavorNames()
}

// SetFlavor layers the values for flavor ("" for the default).
func (p *Project) SetFlavor(flavor string) error {
	var files []string
	p.Flavor = ""
	if p.Manifest != nil {
		fs, err := p.Manifest.ValuesFiles(flavor)
		if err != nil {
			return usage(err)
		}
		files = fs
		p.Flavor = flavor
		if p.Flavor == "" {
			p.Flavor = p.Manifest.Flavor
		}
	}
	var layers []values.Values
	if p.upstreamValues != nil {
		layers = append(layers, p.upstreamValues)
	}
	load := func(file, display string) error {
		v, err := values.Load(os.DirFS(filepath.Dir(file)), filepath.Base(file), display)
		if err != nil {
			return err
		}
		layers = append(layers, v)
		return nil
	}
	for _, file := range files {
		if err := load(file, ShortPath(file)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: flavor %s: %w", p.Manifest.File, p.Flavor, err)
			}
			return err
		}
	}
	// Profiles, in order, over the flavor; then --values and --set.
	for _, prof := range p.Profiles {
		for _, file := range prof.ValuesFiles {
			f := prof.Path(file)
			if err := load(f, ShortPath(f)); err != nil {
				return err
			}
		}
		if prof.Values != nil {
			layers = append(layers, values.Normalize(prof.Values).(values.Values))
		}
	}
	for _, file := range p.opts.ValuesFiles {
		// Named as the user wrote it.
		if err := load(file, file); err != nil {
			return err
		}
	}
	set, err := values.ParseSet(p.opts.Set)
	if err != nil {
		return usage(err)
	}
	p.Config.Values = values.Merge(append(layers, set)...)
	return nil
}

// Load loads the project's trees for its flavor.
func (p *Project) Load(ctx context.Context) (*compiler.Session, diag.List) {
	return compiler.Load(ctx, p.Config)
}

// Targets are what a command works on: the arguments, or without any the
// manifest's targets (nil for every package that loads).
func (p *Project) Targets(args []string) []string {
	if len(args) == 0 && p.Manifest != nil {
		return p.Manifest.Targets
	}
	return args
}

// Name is the name of the project's repository: the manifest's publish
// name, else its name ("" without a manifest).
func (p *Project) Name() string {
	if p.Manifest == nil {
		return ""
	}
	if p.Manifest.Publish != nil && p.Manifest.Publish.Name != "" {
		return p.Manifest.Publish.Name
	}
	return p.Manifest.Name
}

// PublishTo is where the project publishes its repository: the manifest's
// publish.to, folders resolved against the manifest (nil without one).
func (p *Project) PublishTo() []string {
	if p.Manifest == nil || p.Manifest.Publish == nil {
		return nil
	}
	var out []string
	for _, u := range p.Manifest.Publish.To {
		if !strings.Contains(u, "://") {
			u = p.Manifest.Path(u)
		}
		out = append(out, u)
	}
	return out
}

// ShortPath shows a path relative to the working directory when it is
// inside it.
func ShortPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/dockerfile"
	"github.com/etk-build/etk/compiler/manifest"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/repository"
	"github.com/spf13/cobra"
)

// projectFlags are the flags every tree command shares.
type projectFlags struct {
	dir      string
	trees    []string
	values   []string
	flavor   string
	set      []string
	strict   bool
	jobs     int
	noWarns  bool
	profiles []string
}

func (f *projectFlags) AddFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.dir, "dir", "C", "", "run as if etk was started in `DIR`")
	fl.StringArrayVar(&f.trees, "tree", nil, "package tree `DIR` (repeatable); no manifest is read when given")
	fl.StringArrayVar(&f.values, "values", nil, "values `FILE` layered over the flavor's (repeatable, later wins)")
	fl.StringVar(&f.flavor, "flavor", "", "flavor of the manifest to use (default: the manifest's default)")
	fl.StringArrayVar(&f.set, "set", nil, "set a value, `KEY=VALUE` (repeatable; dotted keys for nesting)")
	fl.BoolVar(&f.strict, "strict", false, "treat unknown build.yaml fields as errors")
	fl.IntVar(&f.jobs, "jobs", 0, "parallel jobs (default: number of CPUs)")
	fl.BoolVar(&f.noWarns, "no-warnings", false, "do not print warnings")
	fl.StringSliceVar(&f.profiles, "profile", nil, "profiles to overlay, in order (`a,b`: b wins over a); see profiles/")
}

func (f *projectFlags) Validate() error {
	if f.jobs < 0 {
		return usagef("--jobs must not be negative")
	}
	if len(f.trees) > 0 && f.flavor != "" {
		return usagef("--flavor needs a manifest; with --tree, pass --values files instead")
	}
	if len(f.trees) > 0 && len(f.profiles) > 0 {
		return usagef("--profile needs a manifest")
	}
	if _, err := values.ParseSet(f.set); err != nil {
		return &UsageError{err}
	}
	return nil
}

// project is what the flags select: a manifest (or none) and the config to
// load the trees with for one flavor.
type project struct {
	manifest  *manifest.Manifest
	upstreams []*repository.Upstream
	// upstreamValues are what the upstreams rendered their packages
	// with: the lowest layer of values.
	upstreamValues values.Values
	profiles       []*manifest.Profile
	cfg            compiler.Config
	flavor         string
	// extends is the extends graph behind the upstreams' trees: a
	// repository name to those it extends ("" is this project).
	extends map[string][]string
	// treeRevs are the upstream trees added, by origin and ordinal, with
	// their revision.
	treeRevs map[string]int64
}

// openProject resolves -C, the manifest and --tree into trees and templates;
// values are left to withFlavor.
func (f *projectFlags) openProject(ctx context.Context) (*project, error) {
	if f.dir != "" {
		if err := os.Chdir(f.dir); err != nil {
			return nil, usagef("-C: %v", err)
		}
	}
	p := &project{}
	if len(f.trees) > 0 {
		for _, t := range f.trees {
			if fi, err := os.Stat(t); err != nil || !fi.IsDir() {
				return nil, usagef("--tree %s: not a directory", t)
			}
			p.cfg.Trees = append(p.cfg.Trees, tree.Source{Name: filepath.ToSlash(filepath.Clean(t)), FS: os.DirFS(t)})
		}
	} else {
		path, err := manifest.Find(".")
		if err != nil {
			return nil, err
		}
		m, err := manifest.Load(path)
		if err != nil {
			return nil, err
		}
		p.manifest = m
		if err := p.loadUpstreams(ctx); err != nil {
			return nil, err
		}
		for _, t := range m.Trees {
			abs := m.Path(t)
			if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("%s: trees: %s is not a directory", m.File, t)
			}
			// Over upstream trees, a project's package replaces the
			// upstream's of the same name.
			p.cfg.Trees = append(p.cfg.Trees, tree.Source{Name: shortPath(abs), FS: os.DirFS(abs), Overlay: len(p.upstreams) > 0})
		}
		for _, name := range f.profiles {
			prof, err := m.LoadProfile(name)
			if err != nil {
				return nil, &UsageError{err}
			}
			p.profiles = append(p.profiles, prof)
			for _, t := range prof.Trees {
				abs := prof.Path(t)
				if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
					return nil, fmt.Errorf("profile %s: trees: %s is not a directory", name, t)
				}
				p.cfg.Trees = append(p.cfg.Trees, tree.Source{Name: shortPath(abs), FS: os.DirFS(abs), Overlay: true})
			}
			p.cfg.Mask = append(p.cfg.Mask, prof.Mask...)
		}
		if m.Templates != "" {
			abs := m.Path(m.Templates)
			t, err := dockerfile.Load(os.DirFS(abs), shortPath(abs))
			if err != nil {
				return nil, err
			}
			p.cfg.Templates = t
		}
	}
	p.cfg.Strict, p.cfg.Jobs = f.strict, f.jobs
	epoch := ""
	if p.manifest != nil {
		epoch = p.manifest.Epoch
	}
	clock, err := compiler.Clock(os.Getenv, epoch)
	if err != nil {
		return nil, &UsageError{err}
	}
	p.cfg.Clock = clock
	return p, nil
}

// flavors lists what validate covers: every flavor of the manifest, or the
// one given.
func (f *projectFlags) flavors(p *project) []string {
	if p.manifest == nil || f.flavor != "" || len(p.manifest.Flavors) == 0 {
		return []string{f.flavor}
	}
	return p.manifest.FlavorNames()
}

// withFlavor sets the values for a flavor ("" for the default): the
// flavor's files, then --values files, then --set.
func (f *projectFlags) withFlavor(p *project, flavor string) error {
	var files []string
	if p.manifest != nil {
		fs, err := p.manifest.ValuesFiles(flavor)
		if err != nil {
			return &UsageError{err}
		}
		files = fs
		p.flavor = flavor
		if p.flavor == "" {
			p.flavor = p.manifest.Flavor
		}
	}
	var layers []values.Values
	if p.upstreamValues != nil {
		layers = append(layers, p.upstreamValues)
	}
	loadAs := func(file, display string) error {
		v, err := values.Load(os.DirFS(filepath.Dir(file)), filepath.Base(file), display)
		if err != nil {
			return err
		}
		layers = append(layers, v)
		return nil
	}
	load := func(file string) error { return loadAs(file, shortPath(file)) }
	for _, file := range files {
		if err := load(file); err != nil {
			if p.manifest != nil && errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: flavor %s: %w", p.manifest.File, p.flavor, err)
			}
			return err
		}
	}
	// Profiles, in order, over the flavor; then --values and --set.
	for _, prof := range p.profiles {
		for _, file := range prof.ValuesFiles {
			if err := load(prof.Path(file)); err != nil {
				return err
			}
		}
		if prof.Values != nil {
			layers = append(layers, values.Normalize(prof.Values).(values.Values))
		}
	}
	for _, file := range f.values {
		// Named as the user wrote it.
		if err := loadAs(file, file); err != nil {
			return err
		}
	}
	set, err := values.ParseSet(f.set)
	if err != nil {
		return &UsageError{err}
	}
	p.cfg.Values = values.Merge(append(layers, set)...)
	return nil
}

// load opens the project for the selected flavor and loads it, printing
// warnings. Errors of the tree do not stop it: they stay with their
// packages, and a plan fails only when its targets need one. It says once
// that there are some, and where to see them.
func (f *projectFlags) load(ctx context.Context, io *streams) (*compiler.Session, *project, error) {
	s, p, diags, err := f.loadTree(ctx, io)
	if err != nil {
		return nil, nil, err
	}
	if n := len(diags.Errors()); n > 0 {
		fmt.Fprintf(io.errOut, "warning: the tree has %d error(s) (etk tree validate lists them); what needs none of them still works\n", n)
	}
	return s, p, nil
}

// loadTree is load for commands that report the tree's errors themselves:
// it returns them.
func (f *projectFlags) loadTree(ctx context.Context, io *streams) (*compiler.Session, *project, diag.List, error) {
	p, err := f.openProject(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := f.withFlavor(p, f.flavor); err != nil {
		return nil, nil, nil, err
	}
	s, diags := compiler.Load(ctx, p.cfg)
	f.printWarnings(io, diags)
	if s == nil {
		return nil, nil, nil, diags.Err()
	}
	return s, p, diags, nil
}

func (f *projectFlags) printWarnings(io *streams, diags diag.List) {
	if f.noWarns {
		return
	}
	for _, w := range diags.Warnings() {
		fmt.Fprintln(io.errOut, w.Error())
	}
}

// currentManifest is the manifest of the working directory or above: nil
// when there is none, an error when there is one that does not load (a
// broken manifest is never taken for a missing one).
func currentManifest() (*manifest.Manifest, error) {
	path, err := manifest.Find(".")
	if errors.Is(err, manifest.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return manifest.Load(path)
}

// shortPath shows a path relative to the working directory when it is
// inside it.
func shortPath(p string) string {
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

package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/manifest"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/project"
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

// openProject opens the project the flags select (see package project),
// for the flags' flavor.
func (f *projectFlags) openProject(ctx context.Context) (*project.Project, error) {
	if f.dir != "" {
		if err := os.Chdir(f.dir); err != nil {
			return nil, usagef("-C: %v", err)
		}
	}
	p, err := project.Open(ctx, project.Options{
		Trees: f.trees, Flavor: f.flavor, ValuesFiles: f.values, Set: f.set, Profiles: f.profiles,
		Strict: f.strict, Jobs: f.jobs, Getenv: os.Getenv, OpenStore: openStore,
	})
	if errors.Is(err, project.ErrUsage) {
		return nil, &UsageError{err}
	}
	return p, err
}

// load opens the project for the selected flavor and loads it, printing
// warnings. Errors of the tree do not stop it: they stay with their
// packages, and a plan fails only when its targets need one. It says once
// that there are some, and where to see them.
func (f *projectFlags) load(ctx context.Context, io *streams) (*compiler.Session, *project.Project, error) {
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
func (f *projectFlags) loadTree(ctx context.Context, io *streams) (*compiler.Session, *project.Project, diag.List, error) {
	p, err := f.openProject(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	s, diags := p.Load(ctx)
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

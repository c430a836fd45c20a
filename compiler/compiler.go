package compiler

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/dockerfile"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/compiler/tmpl"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
)

// Config says what to load.
type Config struct {
	// Trees are the package trees.
	Trees []tree.Source
	// Values are layered over every package's definition keys (the
	// flavor's values files, profile values, then --set, merged).
	Values values.Values
	// Templates are the Dockerfile templates; nil means the built-in ones.
	Templates *dockerfile.Templates
	// Strict makes unknown build.yaml fields errors.
	Strict bool
	// Mask removes packages by "category/name" (profiles' masks).
	Mask []string
	// Jobs bounds parallelism; zero means GOMAXPROCS.
	Jobs int
	// ImageDigest resolves base images to digests for keys. Without it
	// keys name images by reference and cannot match a build's; its
	// errors are errors of the plan.
	ImageDigest func(ref string) (string, error)
	// Clock is the time templates read through now and the date
	// functions (see Clock); zero means the Unix epoch.
	Clock time.Time
}

// Session is a loaded, resolved tree.
type Session struct {
	Tree      *tree.Tree
	Graph     *graph.Graph
	Templates *dockerfile.Templates
	cfg       Config
}

// Load reads, renders and resolves the trees. The returned diagnostics
// hold every error and warning of the tree. A defect stays with its
// package: the session holds the whole tree, broken packages included
// (Tree.Broken lists them), and planning fails only for targets that need
// one. The session is nil only when a tree cannot be read at all.
func Load(ctx context.Context, cfg Config) (*Session, diag.List) {
	if cfg.Templates == nil {
		t, err := dockerfile.Load(nil, "")
		if err != nil {
			var d diag.List
			d.Errorf(diag.Pos{}, "%v", err)
			return nil, d
		}
		cfg.Templates = t
	}
	t, diags := tree.Load(ctx, cfg.Trees, tree.Options{Values: cfg.Values, Strict: cfg.Strict, Jobs: cfg.Jobs, Mask: cfg.Mask, Clock: cfg.Clock})
	if t == nil {
		return nil, diags
	}
	return &Session{Tree: t, Graph: graph.New(t), Templates: cfg.Templates, cfg: cfg}, diags
}

// Clock returns the time templates read: SOURCE_DATE_EPOCH when env has it
// (pass os.Getenv), else the project's epoch (a manifest's epoch: Unix
// seconds or RFC 3339), else the Unix epoch. Never the machine's clock.
func Clock(env func(string) string, epoch string) (time.Time, error) {
	if env != nil {
		if v := env("SOURCE_DATE_EPOCH"); v != "" {
			t, err := tmpl.ParseEpoch(v)
			if err != nil {
				return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
			}
			return t, nil
		}
	}
	if epoch != "" {
		return tmpl.ParseEpoch(epoch)
	}
	return time.Unix(0, 0).UTC(), nil
}

// SetImageDigest sets how base images resolve to digests for keys.
func (s *Session) SetImageDigest(f func(ref string) (string, error)) { s.cfg.ImageDigest = f }

// Targets finds the nodes that command-line arguments name; no arguments
// means every package whose own specs load (a broken one can only be
// named, to see its errors).
func (s *Session) Targets(args []string) ([]*graph.Node, error) {
	if len(args) == 0 {
		out := make([]*graph.Node, 0, len(s.Graph.Nodes))
		for _, n := range s.Graph.Nodes {
			if len(n.Pkg.Broken) == 0 {
				out = append(out, n)
			}
		}
		return out, nil
	}
	var out []*graph.Node
	seen := map[*graph.Node]bool{}
	var diags diag.List
	for _, a := range args {
		n, err := s.Graph.Find(a)
		if err != nil {
			diags.Errorf(diag.Pos{}, "%v", err)
			continue
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, diags.Err()
}

// WithRuntime returns targets and everything they need at runtime: what
// must be built for the targets to be installable.
func (s *Session) WithRuntime(targets []*graph.Node) ([]*graph.Node, diag.List) {
	return s.Graph.RuntimeClosure(targets)
}

// Plan plans the targets and what they are built from.
func (s *Session) Plan(ctx context.Context, targets []*graph.Node) (*plan.Plan, diag.List) {
	return plan.New(ctx, s.Graph, targets, plan.Options{Templates: s.Templates, ImageDigest: s.cfg.ImageDigest, Jobs: s.cfg.Jobs})
}

// Validate reports every problem of the whole tree.
func (s *Session) Validate() diag.List { return s.Graph.Validate() }

// Render returns the builder and package Dockerfiles of a step; ok is false
// for a virtual step, which has none.
func (s *Session) Render(p *plan.Plan, st *plan.Step) (builder, pkg []byte, ok bool, err error) {
	d, ok := p.DockerfileData(st)
	if !ok {
		return nil, nil, false, nil
	}
	builder, pkg, err = s.Templates.Render(d)
	return builder, pkg, err == nil, err
}

// Context returns the file system holding a step's build context and the
// context files in it.
func (s *Session) Context(st *plan.Step) (fs.FS, []string) {
	pkg := st.Pkg()
	fsys := s.Tree.Sources[pkg.Tree].FS
	if pkg.Dir != "." {
		if sub, err := fs.Sub(fsys, pkg.Dir); err == nil {
			fsys = sub
		}
	}
	return fsys, st.Context
}

// RenderDir is the folder Render output for a step goes to, under dir.
func RenderDir(dir string, st *plan.Step) string {
	pkg := st.Pkg()
	cat := pkg.Category
	if cat == "" {
		cat = "_"
	}
	return filepath.Join(dir, cat, pkg.Name+"-"+pkg.Version)
}

// WriteRender writes, for each step of p, its Dockerfiles, its rendered
// build spec, its key and the list of its build context files under
// DIR/<category>/<name>-<version>/. Each file is written to a temporary
// name and renamed, so a reader never sees half a file.
func (s *Session) WriteRender(p *plan.Plan, dir string) error {
	for _, st := range p.Steps {
		out := RenderDir(dir, st)
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		builder, pkg, ok, err := s.Render(p, st)
		if err != nil {
			return fmt.Errorf("%s: %w", st.ID, err)
		}
		files := map[string][]byte{
			"key":         []byte(st.Key + "\n"),
			"context.txt": contextList(st),
		}
		if ok {
			files["builder.Dockerfile"] = builder
			files["package.Dockerfile"] = pkg
		}
		if b := st.Pkg().Build; b != nil {
			files["build.yaml"] = b.Source
		}
		for name, data := range files {
			if err := writeFile(filepath.Join(out, name), data); err != nil {
				return err
			}
		}
	}
	return nil
}

func contextList(st *plan.Step) []byte {
	var b []byte
	for _, f := range st.Context {
		b = append(b, f...)
		b = append(b, '\n')
	}
	return b
}

func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

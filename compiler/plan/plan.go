package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/dockerfile"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/spec"
)

// KeySchema versions the key encoding; bump it when the inputs change.
const KeySchema = "etk-key/v1"

// Input is one thing a key depends on.
type Input struct {
	// Kind is one of: schema, spec, clock, file, symlink, templates,
	// image, network, requires, copy, final.
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// Step is one package of a plan.
type Step struct {
	Node *graph.Node `json:"-"`
	ID   string      `json:"id"`
	Key  string      `json:"key"`
	// Level is the step's level: it builds once the lower levels are done.
	Level int `json:"level"`
	// Virtual steps have nothing to build (a meta package): their
	// artefact is their metadata alone.
	Virtual bool    `json:"virtual,omitempty"`
	Inputs  []Input `json:"inputs"`
	// Deps are the steps this one is built from, each once, in input order.
	Deps []*Step `json:"-"`
	// Image and BuilderImage are the local image names of the package and
	// builder images; Artefact the image holding its artefact alone.
	Image        string `json:"image,omitempty"`
	BuilderImage string `json:"builder_image,omitempty"`
	Artefact     string `json:"artefact_image,omitempty"`
	// Context lists the build context files, relative to the package dir.
	Context []string `json:"context,omitempty"`
}

// Pkg is the step's package.
func (s *Step) Pkg() *spec.Package { return s.Node.Pkg }

// Plan is an ordered set of steps.
type Plan struct {
	// Steps are in dependency order; Levels group them.
	Steps   []*Step
	Levels  [][]*Step
	Targets []*Step
	byNode  map[*graph.Node]*Step
}

// Step returns the step of n, or nil.
func (p *Plan) Step(n *graph.Node) *Step { return p.byNode[n] }

// Options tune New.
type Options struct {
	// Templates are the Dockerfile templates; required.
	Templates *dockerfile.Templates
	// ImageDigest resolves an image reference to its digest. Without it
	// the reference itself is the input, and keys cannot match a build's;
	// with it, an error resolving an image is an error of the plan, never
	// a silent other key.
	ImageDigest func(ref string) (string, error)
	// Jobs bounds the parallelism of hashing; zero means GOMAXPROCS.
	Jobs int
}

// New plans targets and everything they are built from.
func New(ctx context.Context, g *graph.Graph, targets []*graph.Node, opts Options) (*Plan, diag.List) {
	order, diags := g.BuildClosure(targets)
	if diags.HasErrors() {
		diags.Sort()
		return nil, diags
	}
	p := &Plan{byNode: make(map[*graph.Node]*Step, len(order))}
	for _, n := range order {
		s := &Step{Node: n, ID: n.Pkg.ID(), Context: g.Tree.Context(n.Pkg)}
		p.Steps = append(p.Steps, s)
		p.byNode[n] = s
	}
	for _, t := range targets {
		p.Targets = append(p.Targets, p.byNode[t])
	}

	// Context hashing is the I/O-heavy part and independent per step.
	fileInputs := make([][]Input, len(p.Steps))
	specs := make([]string, len(p.Steps))
	errs := make([]error, len(p.Steps))
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			for i := range next {
				s := p.Steps[i]
				specs[i] = specDigest(s.Pkg())
				fileInputs[i], errs[i] = hashContext(g.Tree.Sources[s.Pkg().Tree].FS, s.Pkg().Dir, s.Context, buf)
			}
		}()
	}
	for i := range p.Steps {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		diags.Errorf(diag.Pos{}, "%v", err)
		return nil, diags
	}

	for i, s := range p.Steps {
		if errs[i] != nil {
			diags.Errorf(diag.Pos{File: g.Tree.File(s.Pkg(), "")}, "hash build context of %s: %v", s.ID, errs[i])
			continue
		}
		if err := p.key(s, specs[i], fileInputs[i], opts); err != nil {
			diags.Errorf(diag.Pos{File: g.Tree.File(s.Pkg(), spec.BuildFile)}, "%s: %v", s.ID, err)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	for _, s := range p.Steps {
		for len(p.Levels) <= s.Level {
			p.Levels = append(p.Levels, nil)
		}
		p.Levels[s.Level] = append(p.Levels[s.Level], s)
	}
	for _, l := range p.Levels {
		slices.SortFunc(l, func(a, b *Step) int { return strings.Compare(a.ID, b.ID) })
	}
	return p, diags
}

// key computes s's inputs and key; the steps it depends on are done.
func (p *Plan) key(s *Step, spec string, files []Input, opts Options) error {
	pkg := s.Pkg()
	b := pkg.Build
	s.Virtual = b.Empty()
	in := []Input{{Kind: "schema", Name: KeySchema}}
	in = append(in, Input{Kind: "spec", Name: pkg.ID(), Digest: spec})
	if pkg.Clock != "" {
		// The spec read the pinned clock: say so, and which time it was.
		in = append(in, Input{Kind: "clock", Name: "now", Digest: pkg.Clock})
	}
	in = append(in, files...)
	if !s.Virtual {
		in = append(in, Input{Kind: "templates", Name: strings.Join(opts.Templates.Names(), ","), Digest: opts.Templates.Digest()})
	}
	if b != nil {
		if b.Image != "" {
			i, err := imageInput(b.Image, opts)
			if err != nil {
				return err
			}
			in = append(in, i)
		}
		for _, c := range b.Copy {
			if c.Image != "" {
				i, err := imageInput(c.Image, opts)
				if err != nil {
					return err
				}
				in = append(in, i)
			}
		}
		if b.Network != "" {
			in = append(in, Input{Kind: "network", Name: b.Network})
		}
	}
	seen := map[*Step]bool{}
	for _, e := range s.Node.Build {
		dep := p.byNode[e.To]
		in = append(in, Input{Kind: e.Kind.String(), Name: dep.ID, Digest: dep.Key})
		if !seen[dep] {
			seen[dep] = true
			s.Deps = append(s.Deps, dep)
		}
		if dep.Level+1 > s.Level {
			s.Level = dep.Level + 1
		}
	}
	s.Inputs = in
	h := sha256.New()
	for _, i := range in {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", i.Kind, i.Name, i.Digest)
	}
	s.Key = hex.EncodeToString(h.Sum(nil))
	if !s.Virtual {
		s.Image = ImageRef(pkg, s.Key, "")
		s.BuilderImage = ImageRef(pkg, s.Key, "builder")
		s.Artefact = ImageRef(pkg, s.Key, "artefact")
	}
	return nil
}

func imageInput(ref string, opts Options) (Input, error) {
	in := Input{Kind: "image", Name: ref}
	if opts.ImageDigest != nil {
		d, err := opts.ImageDigest(ref)
		if err != nil {
			return in, fmt.Errorf("image %s: %w", ref, err)
		}
		in.Digest = d
	}
	return in, nil
}

// specDigest hashes the canonical encoding of what the rendered build spec
// says, with the package's identity. Positions and the rendered text are
// not part of it; JSON of structs and sorted maps is canonical.
func specDigest(p *spec.Package) string {
	v := struct {
		Category string      `json:"category"`
		Name     string      `json:"name"`
		Version  string      `json:"version"`
		Build    *spec.Build `json:"build"`
	}{p.Category, p.Name, p.Version, p.Build}
	b, err := json.Marshal(v)
	if err != nil {
		// Only strings, bools and lists of them: cannot fail.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// hashContext hashes each context file's type, mode and content.
func hashContext(fsys fs.FS, dir string, files []string, buf []byte) ([]Input, error) {
	out := make([]Input, 0, len(files))
	for _, rel := range files {
		name := path.Join(dir, rel)
		fi, err := fs.Lstat(fsys, name)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := fs.ReadLink(fsys, name)
			if err != nil {
				return nil, err
			}
			out = append(out, Input{Kind: "symlink", Name: rel, Digest: target})
			continue
		}
		f, err := fsys.Open(name)
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.CopyBuffer(h, f, buf)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, Input{Kind: "file", Name: fmt.Sprintf("%s %04o", rel, fi.Mode().Perm()), Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}

// ImageRef names the local image of a package build: kind is "" for the
// package image, "builder" or "artefact".
func ImageRef(p *spec.Package, key, kind string) string {
	repo := "etk.local/" + sanitize(p.Name)
	if p.Category != "" {
		repo = "etk.local/" + sanitize(p.Category) + "/" + sanitize(p.Name)
	}
	tag := key
	if kind != "" {
		tag += "-" + kind
	}
	return repo + ":" + tag
}

// sanitize maps a name onto Docker's repository alphabet.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), ".-_")
	if out == "" {
		return "x"
	}
	return out
}

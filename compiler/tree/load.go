package tree

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/compiler/tmpl"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/compiler/version"
)

// Source is one tree: a file system and the name its files are shown
// under in diagnostics (the --tree argument, or a manifest folder).
type Source struct {
	Name string
	FS   fs.FS
	// Overlay marks a tree (a profile's) whose packages replace every
	// version of the same category/name from the trees before it.
	Overlay bool
	// Origin names the repository a tree came from (an upstream's compile
	// tree), and Revision its revision; empty for the project's own.
	Origin   string
	Revision int64
}

// Options tune Load.
type Options struct {
	// Values are layered over every package's own definition keys: the
	// flavor's values files, profile values and --set, already merged.
	Values values.Values
	// Strict turns unknown build.yaml fields from warnings into errors.
	Strict bool
	// Jobs bounds the parallelism; zero means GOMAXPROCS.
	Jobs int
	// Mask removes packages by "category/name" (every version).
	Mask []string
	// Clock is the time templates read through now and the date
	// functions; zero means the Unix epoch.
	Clock time.Time
}

// Tree is a loaded, rendered package tree.
type Tree struct {
	// Packages are sorted by category, name, then newest version first.
	Packages []*spec.Package
	Sources  []Source
	byName   map[string][]*spec.Package
	context  []map[string][]string
	unnamed  map[string][]string // bare name -> broken files that seem to define it
}

// Lookup returns the versions of "category/name", newest first.
func (t *Tree) Lookup(name string) []*spec.Package { return t.byName[name] }

// Names lists every "category/name", sorted.
func (t *Tree) Names() []string {
	out := make([]string, 0, len(t.byName))
	for n := range t.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Context lists the build context files of p, relative to its directory.
func (t *Tree) Context(p *spec.Package) []string { return t.context[p.Tree][p.Dir] }

// File names a file of p's directory as diagnostics show it.
func (t *Tree) File(p *spec.Package, name string) string {
	return displayPath(t.Sources[p.Tree].Name, path.Join(p.Dir, name))
}

func displayPath(root, rel string) string {
	if root == "" || root == "." {
		return rel
	}
	return path.Join(root, rel)
}

// Broken lists the packages whose specs have errors, in tree order.
func (t *Tree) Broken() []*spec.Package {
	var out []*spec.Package
	for _, p := range t.Packages {
		if len(p.Broken) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// Load reads and renders every package of the sources. Diagnostics are
// sorted. A defect stays with its package: a package whose specs do not
// parse, render or validate is in the tree with its errors in Broken (when
// its identity is known; otherwise only the diagnostics name its file), and
// every other package loads. The tree is nil only when a source cannot be
// read or ctx is done.
func Load(ctx context.Context, sources []Source, opts Options) (*Tree, diag.List) {
	var diags diag.List
	t := &Tree{Sources: sources, byName: map[string][]*spec.Package{}}
	var topts []tmpl.Option
	if !opts.Clock.IsZero() {
		topts = append(topts, tmpl.WithClock(opts.Clock))
	}
	engine := tmpl.New(topts...)
	type job struct {
		src int
		dir string
	}
	var jobs []job
	unreadable := false
	for i, s := range sources {
		l, err := scan(s.FS)
		if err != nil {
			diags.Errorf(diag.Pos{File: s.Name}, "read tree: %v", err)
			t.context = append(t.context, nil)
			unreadable = true
			continue
		}
		t.context = append(t.context, l.context)
		for _, f := range l.templates {
			src, err := fs.ReadFile(s.FS, f)
			name := displayPath(s.Name, f)
			if err != nil {
				diags.Errorf(diag.Pos{File: name}, "read template: %v", err)
				continue
			}
			// A templates file that does not parse contributes no
			// blocks; the specs that include them fail on their own.
			if err := engine.AddShared(name, src); err != nil {
				addErr(&diags, err, name)
			}
		}
		for _, d := range l.pkgDirs {
			jobs = append(jobs, job{i, d})
		}
	}
	if unreadable {
		diags.Sort()
		return nil, diags
	}

	results := make([]dirResult, len(jobs))
	workers := opts.Jobs
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				results[i] = loadDir(sources[j.src], j.src, j.dir, engine, opts)
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		diags.Errorf(diag.Pos{}, "%v", err)
		return nil, diags
	}

	for _, r := range results {
		diags.Append(r.diags)
		t.Packages = append(t.Packages, r.pkgs...)
		for _, n := range r.unnamed {
			if t.unnamed == nil {
				t.unnamed = map[string][]string{}
			}
			t.unnamed[n.name] = append(t.unnamed[n.name], n.file)
		}
	}
	t.Packages = overlay(t.Packages, sources, opts.Mask)
	t.index(&diags)
	diags.Sort()
	return t, diags
}

func addErr(diags *diag.List, err error, file string) {
	if d, ok := err.(*diag.Diagnostic); ok {
		diags.Add(d)
		return
	}
	diags.Errorf(diag.Pos{File: file}, "%v", err)
}

type dirResult struct {
	pkgs    []*spec.Package
	diags   diag.List
	unnamed []unnamed
}

// unnamed is a name that a spec file which failed before its packages had
// an identity seems to define, going by its text.
type unnamed struct{ name, file string }

var nameLine = regexp.MustCompile(`(?m)^[ \t-]*name:[ \t]*["']?([A-Za-z0-9._+-]+)`)

// guessNames finds what a broken spec file seems to name, for a hint when
// a requirement on one of them finds nothing.
func guessNames(file string, src []byte) []unnamed {
	var out []unnamed
	for _, m := range nameLine.FindAllSubmatch(src, 64) {
		out = append(out, unnamed{string(m[1]), file})
	}
	return out
}

// Unnamed lists the spec files that failed before naming their packages
// and whose text seems to define name (bare, without a category).
func (t *Tree) Unnamed(name string) []string { return t.unnamed[name] }

// loadDir decodes the specs of one package directory and renders its
// build.yaml and finalize.yaml for each of its packages. Errors go to the
// diagnostics and to the Broken list of the package they belong to.
func loadDir(src Source, tree int, dir string, engine *tmpl.Engine, opts Options) dirResult {
	var r dirResult
	read := func(name string) ([]byte, string, bool) {
		rel := path.Join(dir, name)
		file := displayPath(src.Name, rel)
		b, err := fs.ReadFile(src.FS, rel)
		if err != nil {
			if !isNotExist(err) {
				r.diags.Errorf(diag.Pos{File: file}, "read: %v", err)
			}
			return nil, file, false
		}
		if len(b) > spec.MaxFileSize {
			r.diags.Errorf(diag.Pos{File: file}, "file is %d bytes, larger than the %d allowed for a spec", len(b), spec.MaxFileSize)
			return nil, file, false
		}
		return b, file, true
	}

	var pkgs []*spec.Package
	if b, file, ok := read(spec.DefinitionFile); ok {
		p, d := spec.DecodeDefinition(file, b)
		r.diags.Append(d)
		if p != nil {
			pkgs = append(pkgs, p)
		} else {
			r.unnamed = append(r.unnamed, guessNames(file, b)...)
		}
	}
	if b, file, ok := read(spec.CollectionFile); ok {
		if len(pkgs) > 0 {
			r.diags.Errorf(diag.Pos{File: file}, "a package directory has both %s and %s", spec.DefinitionFile, spec.CollectionFile)
			for _, p := range pkgs {
				p.Broken = append(p.Broken, r.diags[len(r.diags)-1])
			}
		} else {
			ps, d := spec.DecodeCollection(file, b)
			r.diags.Append(d)
			pkgs = ps
			if d.HasErrors() {
				r.unnamed = append(r.unnamed, guessNames(file, b)...)
			}
		}
	}
	// Whatever the directory's shared files say is an error of each of its
	// packages.
	var shared diag.List
	fail := func(d *diag.Diagnostic) {
		r.diags.Add(d)
		shared = append(shared, d)
	}
	finSrc, finFile, hasFin := read(spec.FinalizeFile)
	buildSrc, buildFile, hasBuild := read(spec.BuildFile)
	var buildT, finT *tmpl.Template
	if hasBuild {
		var err error
		if buildT, err = engine.Parse(buildFile, buildSrc); err != nil {
			fail(asDiag(err, buildFile))
		}
	}
	if hasFin {
		var err error
		if finT, err = engine.Parse(finFile, finSrc); err != nil {
			fail(asDiag(err, finFile))
		}
	}
	for _, p := range pkgs {
		p.Dir, p.Tree = dir, tree
		r.pkgs = append(r.pkgs, p)
		p.Broken = append(p.Broken, shared...)
		if len(p.Broken) > 0 {
			continue
		}
		vals := values.Merge(p.Values, opts.Values)
		if buildT != nil {
			p.Build = render(&r.diags, p, buildT, buildFile, buildSrc, vals, func(file string, out []byte) (*spec.Build, diag.List) {
				return spec.DecodePackageBuild(file, out, opts.Strict, p)
			})
		}
		if finT != nil {
			p.Finalize = render(&r.diags, p, finT, finFile, finSrc, vals, spec.DecodeFinalize)
		}
		if p.Clock == "" && ((buildT != nil && buildT.UsesClock()) || (finT != nil && finT.UsesClock())) {
			p.Clock = engine.Clock().Format(time.RFC3339)
		}
	}
	return r
}

// render executes a spec template for p and decodes the output. Errors are
// positioned at the template's source where they can be, and recorded
// in diags and as p's.
func render[T any](diags *diag.List, p *spec.Package, t *tmpl.Template, file string, src []byte, vals map[string]any, decode func(string, []byte) (*T, diag.List)) *T {
	out, err := t.Execute(vals)
	if err != nil {
		d := asDiag(err, file)
		d.Msg = fmt.Sprintf("%s (rendering %s)", d.Msg, p.ID())
		diags.Add(d)
		p.Broken = append(p.Broken, d)
		return nil
	}
	v, ds := decode(file, out)
	for _, d := range ds {
		mapRendered(d, src, out, p)
	}
	diags.Append(ds)
	if errs := ds.Errors(); len(errs) > 0 {
		p.Broken = append(p.Broken, errs...)
		return nil
	}
	return v
}

func asDiag(err error, file string) *diag.Diagnostic {
	if d, ok := err.(*diag.Diagnostic); ok {
		return d
	}
	return &diag.Diagnostic{Pos: diag.Pos{File: file}, Msg: err.Error()}
}

// mapRendered points a diagnostic found in the rendered build.yaml back at
// the template source: when the rendered line appears once in the source,
// that is the line; the excerpt always shows the rendered line.
func mapRendered(d *diag.Diagnostic, src, out []byte, p *spec.Package) {
	if d.Pos.Line == 0 {
		return
	}
	rendered := d.Pos.Line
	if d.Detail == "" {
		d.Detail = diag.Excerpt(out, rendered, d.Pos.Col)
	}
	if bytes.Equal(src, out) {
		return
	}
	lines := strings.Split(string(out), "\n")
	if rendered > len(lines) {
		return
	}
	want := strings.TrimSpace(lines[rendered-1])
	found := 0
	if want != "" {
		for i, l := range strings.Split(string(src), "\n") {
			if strings.TrimSpace(l) == want {
				if found != 0 {
					found = -1
					break
				}
				found = i + 1
			}
		}
	}
	if found > 0 {
		d.Pos.Line = found
	} else {
		d.Msg = fmt.Sprintf("%s (line %d of %s as rendered)", d.Msg, rendered, p.ID())
		d.Pos.Col = 0
	}
}

func isNotExist(err error) bool {
	return err != nil && errors.Is(err, fs.ErrNotExist)
}

// overlay drops the packages an overlay tree replaces (same
// category/name, from a tree before it) and the masked ones.
func overlay(pkgs []*spec.Package, sources []Source, mask []string) []*spec.Package {
	masked := map[string]bool{}
	for _, m := range mask {
		masked[m] = true
	}
	top := map[string]int{} // category/name -> the last overlay tree having it
	for _, p := range pkgs {
		if sources[p.Tree].Overlay && p.Tree >= top[p.PackageName()] {
			top[p.PackageName()] = p.Tree
		}
	}
	out := pkgs[:0]
	for _, p := range pkgs {
		name := p.PackageName()
		if masked[name] {
			continue
		}
		if t, ok := top[name]; ok && p.Tree < t {
			continue
		}
		out = append(out, p)
	}
	return out
}

// index sorts the packages and builds the name index, reporting duplicate
// identities.
func (t *Tree) index(diags *diag.List) {
	sort.SliceStable(t.Packages, func(i, j int) bool {
		a, b := t.Packages[i], t.Packages[j]
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return version.CompareStrings(a.Version, b.Version) > 0
	})
	kept := t.Packages[:0]
	for _, p := range t.Packages {
		name := p.PackageName()
		prev := t.byName[name]
		if n := len(prev); n > 0 && version.CompareStrings(prev[n-1].Version, p.Version) == 0 {
			// Neither definition can be trusted to be the one meant:
			// the identity is broken, and what needs it says why.
			first := prev[n-1]
			diags.Errorf(p.Pos, "package %s is defined twice, differently (also at %s); luet would silently keep one and lose the other: remove or rename one", p.ID(), first.Pos)
			first.Broken = append(first.Broken, (*diags)[len(*diags)-1])
			continue
		}
		t.byName[name] = append(prev, p)
		kept = append(kept, p)
	}
	t.Packages = kept
}

// FromPackages indexes packages that come from elsewhere than files (a
// repository's index), so that the resolver can work on them. Packages
// must have distinct identities.
func FromPackages(pkgs []*spec.Package) (*Tree, diag.List) {
	var diags diag.List
	t := &Tree{Packages: append([]*spec.Package(nil), pkgs...), byName: map[string][]*spec.Package{}, Sources: []Source{{Name: "index"}}}
	t.context = []map[string][]string{{}}
	t.index(&diags)
	diags.Sort()
	return t, diags
}

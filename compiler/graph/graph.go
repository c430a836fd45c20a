package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/version"
)

// EdgeKind says why one package needs another.
type EdgeKind int

const (
	// Require is a build-time requires: the package builds on it.
	Require EdgeKind = iota
	// Copy is a `copy: package:` source.
	Copy
	// Final is a member of the runtime closure of the requires of a
	// requires_final_images package, whose artefact the builder unpacks.
	Final
	// Runtime is a definition's requires.
	Runtime
)

func (k EdgeKind) String() string {
	return [...]string{"requires", "copy", "final", "runtime"}[k]
}

// Edge is a resolved reference.
type Edge struct {
	Kind EdgeKind
	Ref  spec.Ref
	To   *Node
}

// Node is one package with its resolved references.
type Node struct {
	Pkg *spec.Package
	// Index is the package's position in Tree.Packages and Graph.Nodes.
	Index int
	// Build lists the build inputs in a defined order: requires as
	// written, then copy sources, then the final-image closure (deps first).
	Build []Edge
	// Requires are the runtime requires; Conflicts every version of every
	// package the runtime conflicts name.
	Requires  []Edge
	Conflicts []Edge

	buildDiags   diag.List
	runtimeDiags diag.List
}

// Graph is the resolved tree.
type Graph struct {
	Tree     *tree.Tree
	Nodes    []*Node
	byPkg    map[*spec.Package]*Node
	byBare   map[string][]string // name -> categories having it
	provides map[string][]provider
}

type provider struct {
	node *Node
	ref  spec.Ref
}

// New resolves every reference of t. Problems are kept per node and
// reported by Validate, or by Closure for the nodes it reaches.
func New(t *tree.Tree) *Graph {
	g := &Graph{
		Tree:     t,
		byPkg:    make(map[*spec.Package]*Node, len(t.Packages)),
		byBare:   map[string][]string{},
		provides: map[string][]provider{},
	}
	g.Nodes = make([]*Node, len(t.Packages))
	for i, p := range t.Packages {
		n := &Node{Pkg: p, Index: i}
		g.Nodes[i] = n
		g.byPkg[p] = n
	}
	for _, name := range t.Names() {
		cat, bare := splitName(name)
		g.byBare[bare] = append(g.byBare[bare], cat)
	}
	for _, n := range g.Nodes {
		for _, r := range n.Pkg.Provides {
			g.provides[r.PackageName()] = append(g.provides[r.PackageName()], provider{n, r})
		}
	}
	sels := selectorCache{}
	for _, n := range g.Nodes {
		g.resolveNode(n, sels)
	}
	for _, n := range g.Nodes {
		if b := n.Pkg.Build; b != nil && b.RequiresFinalImages {
			g.addFinal(n)
		}
	}
	return g
}

func splitName(name string) (cat, bare string) {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

// Node returns the node of p.
func (g *Graph) Node(p *spec.Package) *Node { return g.byPkg[p] }

type selectorCache map[string]version.Selector

func (c selectorCache) get(s string) (version.Selector, error) {
	if sel, ok := c[s]; ok {
		return sel, nil
	}
	sel, err := version.ParseSelector(s)
	if err != nil {
		return sel, err
	}
	c[s] = sel
	return sel, nil
}

func (g *Graph) resolveNode(n *Node, sels selectorCache) {
	p := n.Pkg
	if b := p.Build; b != nil {
		for _, r := range b.Requires {
			if to, d := g.resolve(p, r, "requires", sels); d != nil {
				n.buildDiags.Add(d)
			} else {
				n.Build = append(n.Build, Edge{Require, r, to})
			}
		}
		for _, c := range b.Copy {
			if c.Package == nil {
				continue
			}
			if to, d := g.resolve(p, *c.Package, "copies from", sels); d != nil {
				n.buildDiags.Add(d)
			} else {
				n.Build = append(n.Build, Edge{Copy, *c.Package, to})
			}
		}
	}
	for _, r := range p.Requires {
		if to, d := g.resolve(p, r, "requires", sels); d != nil {
			n.runtimeDiags.Add(d)
		} else {
			n.Requires = append(n.Requires, Edge{Runtime, r, to})
		}
	}
	for _, r := range p.Conflicts {
		sel, err := sels.get(r.Version)
		if err != nil {
			n.runtimeDiags.Errorf(r.Pos, "%s conflicts with %s: bad version selector: %v", p.ID(), r, err)
			continue
		}
		for _, c := range g.Tree.Lookup(r.PackageName()) {
			if c != p && sel.Match(mustParse(c.Version)) {
				n.Conflicts = append(n.Conflicts, Edge{Runtime, r, g.byPkg[c]})
			}
		}
	}
}

func mustParse(s string) version.Version {
	v, _ := version.Parse(s)
	return v
}

// resolve finds the package a reference names: the newest version of that
// name the selector matches; failing that, the newest package that provides
// it. The diagnostic explains a failure: missing, ambiguous, or which
// constraint excluded which versions.
func (g *Graph) resolve(from *spec.Package, r spec.Ref, verb string, sels selectorCache) (*Node, *diag.Diagnostic) {
	fail := func(format string, args ...any) (*Node, *diag.Diagnostic) {
		msg := fmt.Sprintf("%s %s %s: ", from.ID(), verb, r) + fmt.Sprintf(format, args...)
		return nil, &diag.Diagnostic{Pos: r.Pos, Severity: diag.Error, Msg: msg}
	}
	sel, err := sels.get(r.Version)
	if err != nil {
		return fail("bad version selector: %v", err)
	}
	name := r.PackageName()
	if r.Category == "" {
		cats := g.byBare[r.Name]
		switch {
		case len(cats) > 1 && len(g.provides[name]) == 0:
			return fail("ambiguous: a package of that name exists in categories %s; name one", strings.Join(cats, ", "))
		case len(cats) == 1 && len(g.provides[name]) == 0:
			name = spec.JoinName(cats[0], r.Name)
		}
	}
	// As in luet, a package that provides the name wins over a package of
	// that name: that is how trees rename and replace packages.
	if to, d := g.resolveProvided(from, r, name, sel, fail); to != nil || d != nil {
		return to, d
	}
	cands := g.Tree.Lookup(name)
	for _, c := range cands {
		if sel.Match(mustParse(c.Version)) {
			if c == from {
				return fail("a package cannot require itself")
			}
			return g.byPkg[c], nil
		}
	}
	if len(cands) == 0 {
		return fail("no such package%s", g.didYouMean(r))
	}
	return fail("no version satisfies it: %s", explain(sel, cands))
}

func (g *Graph) resolveProvided(from *spec.Package, r spec.Ref, name string, sel version.Selector, fail func(string, ...any) (*Node, *diag.Diagnostic)) (*Node, *diag.Diagnostic) {
	var match []*Node
	for _, pr := range g.provides[name] {
		if pr.node.Pkg == from {
			continue
		}
		// A provided exact version must satisfy the selector; a provided
		// range (">=0") stands in for any version of the name.
		if v, err := version.Parse(pr.ref.Version); err == nil && pr.ref.Version != "" && !isSelector(pr.ref.Version) {
			if !sel.Match(v) {
				continue
			}
		}
		match = append(match, pr.node)
	}
	if len(match) == 0 {
		return nil, nil
	}
	sort.Slice(match, func(i, j int) bool {
		a, b := match[i].Pkg, match[j].Pkg
		if a.PackageName() != b.PackageName() {
			return a.PackageName() < b.PackageName()
		}
		return version.CompareStrings(a.Version, b.Version) > 0
	})
	for _, m := range match[1:] {
		if m.Pkg.PackageName() != match[0].Pkg.PackageName() {
			ids := make([]string, 0, len(match))
			for _, m := range match {
				ids = append(ids, m.Pkg.ID())
			}
			return fail("ambiguous: provided by %s", strings.Join(ids, ", "))
		}
	}
	return match[0], nil
}

func isSelector(s string) bool {
	return strings.ContainsAny(s, "<>=!*, ")
}

// explain says which constraint excluded which version.
func explain(sel version.Selector, cands []*spec.Package) string {
	var parts []string
	for _, cl := range sel.Clauses() {
		var excluded []string
		for _, c := range cands {
			if !cl.Match(mustParse(c.Version)) {
				excluded = append(excluded, c.Version)
			}
		}
		if len(excluded) > 0 {
			parts = append(parts, fmt.Sprintf("constraint %s excludes %s", cl, strings.Join(excluded, ", ")))
		}
	}
	if len(parts) == 0 {
		var all []string
		for _, c := range cands {
			all = append(all, c.Version)
		}
		return "available versions: " + strings.Join(all, ", ")
	}
	return strings.Join(parts, "; ")
}

func (g *Graph) didYouMean(r spec.Ref) string {
	var hints []string
	if cats := g.byBare[r.Name]; len(cats) > 0 {
		var names []string
		for _, c := range cats {
			names = append(names, spec.JoinName(c, r.Name))
		}
		hints = append(hints, "did you mean "+strings.Join(names, " or ")+"?")
	} else if near := g.Nearest(r.PackageName()); len(near) > 0 {
		hints = append(hints, "did you mean "+strings.Join(near, " or ")+"?")
	}
	if files := g.Tree.Unnamed(r.Name); len(files) > 0 {
		hints = append(hints, strings.Join(files, ", ")+" may define it, but could not be read: see its errors")
	}
	if len(hints) == 0 {
		return ""
	}
	return " (" + strings.Join(hints, "; ") + ")"
}

// Nearest returns up to three "category/name"s of the tree closest to name
// by edit distance, for a hint after a typo; none when nothing is close.
func (g *Graph) Nearest(name string) []string {
	type cand struct {
		name string
		dist int
	}
	limit := max(2, len(name)/4)
	var best []cand
	for _, n := range g.Tree.Names() {
		d := diag.EditDistance(name, n, limit)
		if _, bare := splitName(n); d > limit {
			// A right name in the wrong category is close too.
			_, want := splitName(name)
			if bare != want {
				continue
			}
			d = limit
		}
		best = append(best, cand{n, d})
	}
	sort.SliceStable(best, func(i, j int) bool { return best[i].dist < best[j].dist })
	var out []string
	for i := 0; i < len(best) && i < 3; i++ {
		out = append(out, best[i].name)
	}
	return out
}

// brokenNeed says that n needs a package whose specs have errors, at the
// reference.
func brokenNeed(n *Node, e Edge) *diag.Diagnostic {
	return &diag.Diagnostic{Pos: e.Ref.Pos, Severity: diag.Error,
		Msg: fmt.Sprintf("%s %s %s, whose specs have errors (listed with their files)", n.Pkg.ID(), [...]string{"builds on", "copies from", "unpacks", "requires"}[e.Kind], e.To.Pkg.ID())}
}

// addFinal adds, for a requires_final_images package, the runtime closure of
// its build requires as Final edges, dependencies first.
func (g *Graph) addFinal(n *Node) {
	var roots []*Node
	for _, e := range n.Build {
		if e.Kind == Require {
			roots = append(roots, e.To)
		}
	}
	order, diags := g.RuntimeClosure(roots)
	n.buildDiags.Append(diags)
	for _, m := range order {
		if m != n {
			n.Build = append(n.Build, Edge{Final, spec.Ref{Category: m.Pkg.Category, Name: m.Pkg.Name, Version: m.Pkg.Version}, m})
		}
	}
}

// RuntimeClosure returns roots and everything they need at runtime,
// dependencies before dependents (ties in a defined order), with the
// resolution problems met on the way.
func (g *Graph) RuntimeClosure(roots []*Node) ([]*Node, diag.List) {
	var order []*Node
	var diags diag.List
	state := map[*Node]bool{}
	var visit func(*Node)
	visit = func(n *Node) {
		if _, seen := state[n]; seen {
			return
		}
		state[n] = true
		diags.Append(n.runtimeDiags)
		diags.Append(n.Pkg.Broken)
		for _, e := range n.Requires {
			if len(e.To.Pkg.Broken) > 0 {
				diags.Add(brokenNeed(n, e))
			}
			visit(e.To)
		}
		order = append(order, n)
	}
	for _, r := range roots {
		visit(r)
	}
	return order, diags
}

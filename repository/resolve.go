package repository

import (
	"fmt"
	"strings"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/version"
	"github.com/etk-build/etk/repository/index"
)

// Resolve returns what installing the named packages means: them and their
// runtime closure, dependencies first, resolved against the index with
// the same rules as a tree (newest matching version, provides), or an
// error that explains which requirement cannot be met and why, or which
// two packages of the set conflict.
func Resolve(idx *index.Index, names []string) ([]index.Package, error) {
	set, err := ResolveSet(idx, names)
	if err != nil {
		return nil, err
	}
	return set.Packages, nil
}

// Set is a resolved install set.
type Set struct {
	// Packages are in install order, dependencies first.
	Packages []index.Package
	// Needs maps a package id to the ids of what it needs at runtime,
	// transitively, within the set (itself excluded).
	Needs map[string][]string
}

// ResolveSet is Resolve, with what each package of the set needs.
func ResolveSet(idx *index.Index, names []string) (*Set, error) {
	byID := map[string]index.Package{}
	for _, p := range idx.Packages {
		byID[p.ID] = p
	}
	// One version per package: when the closure holds two versions of a
	// name, keep the newest version that every requirement of the name
	// accepts, drop the others, and resolve again.
	dropped := map[string]bool{}
	for round := 0; ; round++ {
		order, g, err := resolveOnce(idx, names, dropped)
		if err != nil {
			return nil, err
		}
		byName := map[string][]*graph.Node{}
		for _, n := range order {
			byName[n.Pkg.PackageName()] = append(byName[n.Pkg.PackageName()], n)
		}
		clash := ""
		for _, n := range order {
			if len(byName[n.Pkg.PackageName()]) > 1 {
				clash = n.Pkg.PackageName()
				break
			}
		}
		if clash == "" {
			if err := checkConflicts(order, names); err != nil {
				return nil, err
			}
			set := &Set{Needs: map[string][]string{}}
			for _, n := range order {
				set.Packages = append(set.Packages, byID[n.Pkg.ID()])
				closure, _ := g.RuntimeClosure([]*graph.Node{n})
				for _, m := range closure {
					if m != n {
						set.Needs[n.Pkg.ID()] = append(set.Needs[n.Pkg.ID()], m.Pkg.ID())
					}
				}
			}
			return set, nil
		}
		keep, err := common(g, order, clash)
		if err != nil {
			return nil, fmt.Errorf("cannot install %s: %w", strings.Join(names, ", "), err)
		}
		for _, p := range g.Tree.Lookup(clash) {
			if p != keep {
				dropped[p.ID()] = true
			}
		}
		if round > len(idx.Packages) {
			return nil, fmt.Errorf("cannot install %s: no consistent set of versions", strings.Join(names, ", "))
		}
	}
}

func resolveOnce(idx *index.Index, names []string, dropped map[string]bool) ([]*graph.Node, *graph.Graph, error) {
	var pkgs []*spec.Package
	for _, p := range idx.Packages {
		if dropped[p.ID] {
			continue
		}
		pkgs = append(pkgs, &spec.Package{
			Category: p.Category, Name: p.Name, Version: p.Version, Hidden: p.Hidden,
			Requires: withPos(p.Requires, p.ID), Conflicts: withPos(p.Conflicts, p.ID), Provides: p.Provides,
			Pos: diag.Pos{File: p.ID},
		})
	}
	t, diags := tree.FromPackages(pkgs)
	if err := diags.Err(); err != nil {
		return nil, nil, err
	}
	g := graph.New(t)
	var roots []*graph.Node
	for _, n := range names {
		node, err := g.Find(n)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", idx.Name, err)
		}
		roots = append(roots, node)
	}
	order, diags := g.RuntimeClosure(roots)
	if err := diags.Err(); err != nil {
		return nil, nil, fmt.Errorf("cannot install %s:\n%w", strings.Join(names, ", "), err)
	}
	return order, g, nil
}

// common finds the newest version of name that every requirement on it in
// the closure accepts, or explains why there is none.
func common(g *graph.Graph, order []*graph.Node, name string) (*spec.Package, error) {
	var reqs []string
	var sels []version.Selector
	for _, n := range order {
		for _, e := range n.Requires {
			if e.To.Pkg.PackageName() != name {
				continue
			}
			sel, err := version.ParseSelector(e.Ref.Version)
			if err != nil {
				return nil, err
			}
			sels = append(sels, sel)
			reqs = append(reqs, fmt.Sprintf("%s requires %s", n.Pkg.ID(), e.Ref))
		}
	}
	for _, p := range g.Tree.Lookup(name) {
		v, err := version.Parse(p.Version)
		if err != nil {
			continue
		}
		ok := true
		for _, s := range sels {
			ok = ok && s.Match(v)
		}
		if ok {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no version of %s satisfies all of: %s", name, strings.Join(reqs, "; "))
}

func checkConflicts(order []*graph.Node, names []string) error {
	in := map[*graph.Node]bool{}
	for _, n := range order {
		in[n] = true
	}
	var conflicts []string
	for _, n := range order {
		for _, c := range n.Conflicts {
			if in[c.To] {
				conflicts = append(conflicts, fmt.Sprintf("%s conflicts with %s", n.Pkg.ID(), c.To.Pkg.ID()))
			}
		}
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("cannot install %s: %s", strings.Join(names, ", "), strings.Join(conflicts, "; "))
	}
	return nil
}

// withPos names the requiring package as the position of its references,
// so that resolution errors say who asked.
func withPos(refs []spec.Ref, id string) []spec.Ref {
	out := make([]spec.Ref, len(refs))
	for i, r := range refs {
		r.Pos = diag.Pos{File: id}
		out[i] = r
	}
	return out
}

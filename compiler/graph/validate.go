package graph

import (
	"fmt"
	"strings"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/spec"
)

// Validate reports every problem of the whole tree: unresolved build and
// runtime references, build cycles (errors), runtime cycles (warnings), and
// packages whose runtime closure holds something they conflict with.
func (g *Graph) Validate() diag.List {
	var diags diag.List
	// Every broken package reports its own errors; the references to it
	// would only repeat them.
	_, d := g.buildClosure(g.Nodes, false)
	diags.Append(d)
	for _, n := range g.Nodes {
		diags.Append(n.runtimeDiags)
	}
	for _, n := range g.Nodes {
		diags.Append(n.Pkg.Broken)
	}
	diags.Append(g.runtimeCycles())
	for _, n := range g.Nodes {
		if len(n.Conflicts) == 0 {
			continue
		}
		closure, _ := g.RuntimeClosure([]*Node{n})
		in := make(map[*Node]bool, len(closure))
		for _, m := range closure {
			in[m] = true
		}
		for _, c := range n.Conflicts {
			if in[c.To] {
				diags.Errorf(c.Ref.Pos, "%s conflicts with %s, which its own requirements pull in", n.Pkg.ID(), c.To.Pkg.ID())
			}
		}
	}
	diags.Sort()
	return diags
}

func (g *Graph) runtimeCycles() diag.List {
	var diags diag.List
	state := make([]uint8, len(g.Nodes))
	var stack []*Node
	var visit func(*Node)
	visit = func(n *Node) {
		state[n.Index] = 1
		stack = append(stack, n)
		for _, e := range n.Requires {
			switch state[e.To.Index] {
			case 0:
				visit(e.To)
			case 1:
				var path []string
				for i := len(stack) - 1; i >= 0; i-- {
					path = append([]string{stack[i].Pkg.ID()}, path...)
					if stack[i] == e.To {
						break
					}
				}
				path = append(path, e.To.Pkg.ID())
				diags.Warnf(e.Ref.Pos, "runtime dependency cycle: %s", strings.Join(path, " -> "))
			}
		}
		stack = stack[:len(stack)-1]
		state[n.Index] = 2
	}
	for _, n := range g.Nodes {
		if state[n.Index] == 0 {
			visit(n)
		}
	}
	return diags
}

// Find returns the nodes a command-line argument names: "category/name"
// (newest version), "category/name@version", or a bare name when it is
// unique.
func (g *Graph) Find(arg string) (*Node, error) {
	ref := spec.ParseID(arg)
	name := ref.PackageName()
	if ref.Category == "" {
		cats := g.byBare[ref.Name]
		switch len(cats) {
		case 0:
			return nil, fmt.Errorf("no package named %q%s", arg, g.suggest(ref.Name))
		case 1:
			name = cats[0] + "/" + ref.Name
			if cats[0] == "" {
				name = ref.Name
			}
		default:
			return nil, fmt.Errorf("%q is ambiguous: it exists in categories %s", arg, strings.Join(cats, ", "))
		}
	}
	vers := g.Tree.Lookup(name)
	if len(vers) == 0 {
		return nil, fmt.Errorf("no package named %q%s", arg, g.suggest(name))
	}
	if ref.Version == "" {
		return g.byPkg[vers[0]], nil
	}
	for _, p := range vers {
		if p.Version == ref.Version {
			return g.byPkg[p], nil
		}
	}
	var have []string
	for _, p := range vers {
		have = append(have, p.Version)
	}
	return nil, fmt.Errorf("no version %s of %s (have %s)", ref.Version, name, strings.Join(have, ", "))
}

// suggest is the hint after an unknown name on the command line.
func (g *Graph) suggest(name string) string {
	if near := g.Nearest(name); len(near) > 0 {
		return " (did you mean " + strings.Join(near, " or ") + "?)"
	}
	return ""
}

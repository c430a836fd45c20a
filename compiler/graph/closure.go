package graph

import (
	"fmt"
	"strings"

	"github.com/etk-build/etk/compiler/diag"
)

// BuildClosure returns targets and every package they are built from,
// dependencies before dependents, each once, with the problems of those
// packages: unresolved build references and build cycles.
//
// A package whose specs have errors contributes them, and each reference
// to one says so at its position.
func (g *Graph) BuildClosure(targets []*Node) ([]*Node, diag.List) {
	return g.buildClosure(targets, true)
}

func (g *Graph) buildClosure(targets []*Node, noteBroken bool) ([]*Node, diag.List) {
	var diags diag.List
	order := make([]*Node, 0, len(targets))
	const (
		unseen = iota
		active
		done
	)
	state := make([]uint8, len(g.Nodes))
	var stack []*Node
	var visit func(*Node)
	visit = func(n *Node) {
		state[n.Index] = active
		stack = append(stack, n)
		diags.Append(n.buildDiags)
		diags.Append(n.Pkg.Broken)
		for _, e := range n.Build {
			if noteBroken && len(e.To.Pkg.Broken) > 0 && e.Kind != Final {
				diags.Add(brokenNeed(n, e))
			}
			switch state[e.To.Index] {
			case unseen:
				visit(e.To)
			case active:
				diags.Add(cycle(stack, e))
			}
		}
		stack = stack[:len(stack)-1]
		state[n.Index] = done
		order = append(order, n)
	}
	for _, t := range targets {
		if state[t.Index] == unseen {
			visit(t)
		}
	}
	return order, diags
}

// cycle describes the cycle closed by back edge e, at the position of the
// reference that closes it.
func cycle(stack []*Node, e Edge) *diag.Diagnostic {
	start := 0
	for i, n := range stack {
		if n == e.To {
			start = i
		}
	}
	var path []string
	for i := start; i < len(stack); i++ {
		path = append(path, stack[i].Pkg.ID())
	}
	path = append(path, e.To.Pkg.ID())
	return &diag.Diagnostic{
		Pos:      e.Ref.Pos,
		Severity: diag.Error,
		Msg:      fmt.Sprintf("build dependency cycle: %s", strings.Join(path, " -> ")),
	}
}

// Levels groups nodes (in dependency order, as BuildClosure returns them)
// into levels: a node's level is one more than the highest of its build
// inputs, so each level can build in parallel once the previous ones are
// done.
func Levels(order []*Node) [][]*Node {
	level := make(map[*Node]int, len(order))
	var levels [][]*Node
	for _, n := range order {
		l := 0
		for _, e := range n.Build {
			if dl, ok := level[e.To]; ok && dl+1 > l {
				l = dl + 1
			}
		}
		level[n] = l
		for len(levels) <= l {
			levels = append(levels, nil)
		}
		levels[l] = append(levels[l], n)
	}
	return levels
}

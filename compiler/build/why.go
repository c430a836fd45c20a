package build

import (
	"fmt"
	"strings"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/compiler/plan"
)

// WhyRebuild names the inputs that changed since the last recorded build
// of the package.
func WhyRebuild(c *cache.Cache, s *plan.Step) string {
	h, ok := c.LastHistory(s.Pkg().Category, s.Pkg().Name)
	if !ok {
		return "never built"
	}
	// The spec input is named after the package's version; a version
	// bump is said once, on its own.
	id := func(in plan.Input) string {
		if in.Kind == "spec" {
			return in.Kind
		}
		return in.Kind + "\x00" + in.Name
	}
	old := map[string]string{}
	for _, in := range h.Inputs {
		old[id(plan.Input(in))] = in.Digest
	}
	seen := map[string]bool{}
	var changed []string
	for _, in := range s.Inputs {
		k := id(in)
		seen[k] = true
		d, had := old[k]
		switch {
		case !had:
			changed = append(changed, "new "+describe(in))
		case d != in.Digest:
			changed = append(changed, "changed "+describe(in))
		}
	}
	for _, in := range h.Inputs {
		if !seen[id(plan.Input(in))] {
			changed = append(changed, "removed "+describe(plan.Input(in)))
		}
	}
	if h.ID != s.ID {
		changed = append([]string{"version " + strings.TrimPrefix(h.ID, s.Pkg().PackageName()+"@") + " → " + s.Pkg().Version}, changed...)
	}
	if len(changed) == 0 {
		return "cache entry missing"
	}
	return strings.Join(changed, ", ")
}

func describe(in plan.Input) string {
	switch in.Kind {
	case "file", "symlink":
		name, _, _ := strings.Cut(in.Name, " ")
		return "file " + name
	case "spec":
		return "spec (values or build.yaml)"
	case "image":
		return "base image " + in.Name
	case "requires", "copy", "final":
		return "input " + in.Name
	}
	return in.Kind + " " + in.Name
}

// OnlyTargets are the steps of the named nodes alone, for a run that builds
// them and nothing else: every step they are built from must be cached.
func OnlyTargets(p *plan.Plan, named []*graph.Node, c *cache.Cache) ([]*plan.Step, error) {
	var steps []*plan.Step
	for _, n := range named {
		st := p.Step(n)
		if st == nil {
			return nil, fmt.Errorf("%s is not in the plan", n.Pkg.ID())
		}
		for _, d := range st.Deps {
			if _, ok := c.Get(d.Key); !ok {
				return nil, fmt.Errorf("%s needs %s, which is not in the cache", st.ID, d.ID)
			}
		}
		steps = append(steps, st)
	}
	return steps, nil
}

package tmpl

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// clockFuncs are the functions that read the moment: they read the engine's
// pinned clock instead, and a template calling one is marked as using it.
// tpl renders a string known only at run time: it may read the clock.
var clockFuncs = map[string]bool{"now": true, "ago": true, "tpl": true}

// ParseEpoch reads a pinned clock: Unix seconds (as SOURCE_DATE_EPOCH
// holds) or an RFC 3339 time. The result is in UTC.
func ParseEpoch(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("epoch %q: want Unix seconds or an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// timeFuncs are sprig's time functions over a pinned clock, in UTC where
// sprig would use the machine's zone: the same spec renders the same on
// every machine, at every moment.
func timeFuncs(clock time.Time) template.FuncMap {
	clock = clock.UTC()
	return template.FuncMap{
		"now": func() time.Time { return clock },
		"ago": func(v any) string { return clock.Sub(toTime(v)).Round(time.Second).String() },
		"date": func(fmt string, v any) string {
			return toTime(v).UTC().Format(fmt)
		},
		"htmlDate": func(v any) string { return toTime(v).UTC().Format("2006-01-02") },
		"toDate": func(layout, s string) time.Time {
			t, _ := time.ParseInLocation(layout, s, time.UTC)
			return t
		},
		"mustToDate": func(layout, s string) (time.Time, error) {
			return time.ParseInLocation(layout, s, time.UTC)
		},
	}
}

// toTime is sprig's reading of a date argument: a time, or Unix seconds.
func toTime(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	case int64:
		return time.Unix(t, 0)
	case int:
		return time.Unix(int64(t), 0)
	case int32:
		return time.Unix(int64(t), 0)
	}
	return time.Unix(0, 0)
}

// clockUse finds which templates read the clock: directly, or through a
// template or include of one that does.
// A spec's own clockUse has the engine's shared one as parent, which is
// only read once shared files are added.
type clockUse struct {
	direct map[string]bool     // template name -> calls a clock function
	refs   map[string][]string // template name -> templates it uses
	parent *clockUse
}

func newClockUse() *clockUse {
	return &clockUse{direct: map[string]bool{}, refs: map[string][]string{}}
}

// add records what the named tree calls.
func (c *clockUse) add(name string, tree *parse.Tree) {
	if tree == nil || tree.Root == nil {
		return
	}
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for i, a := range n.Args {
				if id, ok := a.(*parse.IdentifierNode); ok {
					if clockFuncs[id.Ident] {
						c.direct[name] = true
					}
					if id.Ident == "include" && i+1 < len(n.Args) {
						if s, ok := n.Args[i+1].(*parse.StringNode); ok {
							c.refs[name] = append(c.refs[name], s.Text)
						} else {
							// A computed name may be any template.
							c.refs[name] = append(c.refs[name], "*")
						}
					}
				}
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			c.refs[name] = append(c.refs[name], n.Name)
			walk(n.Pipe)
		case *parse.ChainNode:
			walk(n.Node)
		}
	}
	walk(tree.Root)
}

// uses reports whether the named template reads the clock.
func (c *clockUse) uses(name string) bool {
	seen := map[string]bool{}
	var visit func(string) bool
	visit = func(n string) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		for l := c; l != nil; l = l.parent {
			if n == "*" && len(l.direct) > 0 {
				return true
			}
			if l.direct[n] {
				return true
			}
			if refs, ok := l.refs[n]; ok {
				for _, r := range refs {
					if visit(r) {
						return true
					}
				}
				// A spec's own define hides a shared one of that name.
				return false
			}
		}
		return false
	}
	return visit(name)
}

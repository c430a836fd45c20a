package project

import (
	"context"
	"fmt"
	"strings"

	"github.com/etk-build/etk/compiler/diag"
)

// Validate loads the tree with every flavor Flavors lists and reports
// every problem once, sorted: YAML and template errors, unknown fields,
// unresolved references, conflicts and cycles. A problem that only some
// flavors have says which. It returns how many flavors were checked; the
// project is left on the last one.
func (p *Project) Validate(ctx context.Context) (diag.List, int, error) {
	type seen struct {
		d       *diag.Diagnostic
		flavors []string
	}
	byText := map[string]*seen{}
	var order []string
	flavors := p.Flavors()
	for _, fl := range flavors {
		if err := p.SetFlavor(fl); err != nil {
			return nil, 0, err
		}
		s, diags := p.Load(ctx)
		if s != nil {
			diags.Append(s.Validate())
		}
		for _, d := range diags {
			k := d.Error()
			if byText[k] == nil {
				byText[k] = &seen{d: d}
				order = append(order, k)
			}
			// A load error of a broken package is reported by Validate
			// too: count each flavor once.
			if fs := byText[k].flavors; len(fs) == 0 || fs[len(fs)-1] != p.Flavor {
				byText[k].flavors = append(fs, p.Flavor)
			}
		}
	}
	var out diag.List
	for _, k := range order {
		s := byText[k]
		d := *s.d
		if len(s.flavors) < len(flavors) && s.flavors[0] != "" {
			d.Msg += fmt.Sprintf(" [flavor %s]", strings.Join(s.flavors, ", "))
		}
		out.Add(&d)
	}
	out.Sort()
	return out, len(flavors), nil
}

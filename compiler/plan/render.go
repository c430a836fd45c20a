package plan

import (
	"github.com/etk-build/etk/compiler/dockerfile"
	"github.com/etk-build/etk/compiler/graph"
)

// DockerfileData is what the Dockerfile templates see for s. Virtual steps
// have none.
func (p *Plan) DockerfileData(s *Step) (dockerfile.Data, bool) {
	if s.Virtual {
		return dockerfile.Data{}, false
	}
	pkg := s.Pkg()
	b := pkg.Build
	d := dockerfile.Data{
		Category: pkg.Category, Name: pkg.Name, Version: pkg.Version,
		Builder:  s.BuilderImage,
		Retrieve: b.Retrieve, Env: b.Env, Prelude: b.Prelude, Steps: b.Steps,
	}
	var requires, final []*Step
	for _, e := range s.Node.Build {
		switch e.Kind {
		case graph.Require:
			requires = append(requires, p.byNode[e.To])
		case graph.Final:
			final = append(final, p.byNode[e.To])
		}
	}
	switch {
	case b.Image != "":
		d.From = b.Image
	case b.RequiresFinalImages:
		d.From = "scratch"
		for _, f := range final {
			if !f.Virtual {
				d.Layers = append(d.Layers, f.Artefact)
			}
		}
	case len(requires) > 0:
		d.From = baseImage(requires[0])
		for _, r := range requires[1:] {
			if !r.Virtual {
				d.Layers = append(d.Layers, r.Artefact)
			}
		}
	default:
		d.From = "scratch"
	}
	copyIdx := 0
	for _, c := range b.Copy {
		from := c.Image
		if c.Package != nil {
			// Copy edges are in the same order as the spec's copy entries.
			from = p.copySource(s, copyIdx)
			copyIdx++
		}
		d.Copy = append(d.Copy, dockerfile.Copy{From: from, Source: c.Source, Destination: c.Destination})
	}
	return d, true
}

// baseImage is what a package building on dep starts from: dep's package
// image, or for a virtual dep (a meta package) whatever that one builds on.
func baseImage(dep *Step) string {
	if !dep.Virtual {
		return dep.Image
	}
	for _, e := range dep.Node.Build {
		if e.Kind == graph.Require {
			for _, d := range dep.Deps {
				if d.Node == e.To {
					return baseImage(d)
				}
			}
		}
	}
	return "scratch"
}

func (p *Plan) copySource(s *Step, i int) string {
	n := 0
	for _, e := range s.Node.Build {
		if e.Kind == graph.Copy {
			if n == i {
				return p.byNode[e.To].Image
			}
			n++
		}
	}
	return ""
}

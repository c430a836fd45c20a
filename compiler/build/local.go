package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
)

// Storing returns a Builder that builds each step of p with b into a new
// entry of c: the artefact and its metadata are written to a
// cache.Writer and committed whole, so a failed, interrupted or crashed
// build leaves no entry. A virtual step gets an entry of metadata alone;
// b never sees it. It does not look the key up first: that is Caching's
// job, in front of it.
func Storing(c *cache.Cache, p *plan.Plan, b Backend, src Source) Builder {
	order := make(map[*plan.Step]int, len(p.Steps))
	for i, s := range p.Steps {
		order[s] = i
	}
	return &storing{c: c, p: p, b: b, src: src, order: order}
}

type storing struct {
	c     *cache.Cache
	p     *plan.Plan
	b     Backend
	src   Source
	order map[*plan.Step]int
}

func (st *storing) Build(ctx context.Context, s *plan.Step, log Log) (Outcome, error) {
	w, err := st.c.Create(s.Key)
	if err != nil {
		return Outcome{}, err
	}
	defer w.Abort()
	var meta *artifact.Metadata
	if !s.Virtual {
		req, err := st.request(s, log)
		if err != nil {
			return Outcome{}, err
		}
		if meta, err = st.artefact(ctx, req, w.ArtefactPath()); err != nil {
			return Outcome{}, err
		}
	}
	if err := w.WriteMetadata(NewMetadata(s, meta)); err != nil {
		return Outcome{}, err
	}
	e, err := w.Commit()
	if err != nil {
		return Outcome{}, err
	}
	return outcomeOf(e, false)
}

// artefact has the backend write the artefact of req to path.
func (st *storing) artefact(ctx context.Context, req *Request, path string) (*artifact.Metadata, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	meta, err := st.b.Build(ctx, req, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, errors.New("artefact: the backend returned no metadata")
	}
	// A cheap check that the metadata is of what was written here; the
	// digest is the artefact writer's own.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() != meta.Size {
		return nil, fmt.Errorf("artefact: the backend wrote %d bytes, its metadata says %d", fi.Size(), meta.Size)
	}
	return meta, nil
}

// request gathers what s builds from: its context and the cache entries
// of every step it builds on, directly or not, in plan order. A missing
// entry is left out: the backend says so if it needs it.
func (st *storing) request(s *plan.Step, log Log) (*Request, error) {
	fsys, files := st.src.Context(s)
	req := &Request{Plan: st.p, Step: s, Context: Context{FS: fsys, Files: files}, Log: log}
	var deps []*plan.Step
	seen := map[*plan.Step]bool{}
	var walk func(*plan.Step)
	walk = func(s *plan.Step) {
		for _, d := range s.Deps {
			if !seen[d] {
				seen[d] = true
				deps = append(deps, d)
				walk(d)
			}
		}
	}
	walk(s)
	slices.SortFunc(deps, func(a, b *plan.Step) int { return st.order[a] - st.order[b] })
	for _, d := range deps {
		e, ok := st.c.Get(d.Key)
		if !ok {
			continue
		}
		m := &Metadata{}
		if err := e.ReadMetadata(m); err != nil {
			return nil, fmt.Errorf("input %s: cache entry %s: %w", d.ID, d.Key, err)
		}
		req.Inputs = append(req.Inputs, Input{Step: d, Artefact: e.Artefact, Metadata: m})
	}
	return req, nil
}

// outcomeOf describes a cache entry.
func outcomeOf(e *cache.Entry, cached bool) (Outcome, error) {
	o := Outcome{Cached: cached, Artefact: e.Artefact, Entry: e}
	var m Metadata
	if err := e.ReadMetadata(&m); err != nil {
		return o, fmt.Errorf("cache entry %s: %w", e.Key, err)
	}
	if m.Artefact != nil {
		o.Digest, o.Size = m.Artefact.Digest, m.Artefact.Size
	}
	return o, nil
}

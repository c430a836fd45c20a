package build

import (
	"context"
	"errors"
	"fmt"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
)

// Remote is a place that has built entries by key: a build cache shared
// through a registry, an upstream repository.
type Remote interface {
	// Fetch fills w with the entry of key when the remote has it and
	// returns true; committing w is the caller's. It returns false and a
	// nil error when the remote does not have it.
	Fetch(ctx context.Context, key string, w *cache.Writer) (bool, error)
	// Push uploads an entry, doing nothing when the remote has it.
	Push(ctx context.Context, e *cache.Entry) error
}

// Fetching returns a Builder that, before handing a step to next, asks
// each remote in turn for its key and commits the first entry found into
// c, answering Cached. A remote that fails is said in the step's log and
// the next one is asked: a remote only saves time.
func Fetching(c *cache.Cache, next Builder, remotes ...Remote) Builder {
	return &fetching{c: c, next: next, remotes: remotes}
}

type fetching struct {
	c       *cache.Cache
	next    Builder
	remotes []Remote
}

func (b *fetching) Build(ctx context.Context, s *plan.Step, log Log) (Outcome, error) {
	for _, r := range b.remotes {
		if e, ok := b.fetch(ctx, r, s, log); ok {
			return outcomeOf(e, true)
		}
	}
	return b.next.Build(ctx, s, log)
}

func (b *fetching) fetch(ctx context.Context, r Remote, s *plan.Step, log Log) (*cache.Entry, bool) {
	w, err := b.c.Create(s.Key)
	if err != nil {
		return nil, false
	}
	defer w.Abort()
	found, err := r.Fetch(ctx, s.Key, w)
	if err != nil {
		log(fmt.Sprintf("etk: %s: %v", r, err))
		return nil, false
	}
	if !found {
		return nil, false
	}
	e, err := w.Commit()
	if err != nil {
		log(fmt.Sprintf("etk: %s: %v", r, err))
		return nil, false
	}
	return e, true
}

// Pushing returns a Builder that pushes the entry of every step next
// gives, built or cached, to each remote in turn, as a tee does. A push
// that fails fails the step: what was asked for is a shared cache that
// has the run.
func Pushing(next Builder, remotes ...Remote) Builder {
	return &pushing{next: next, remotes: remotes}
}

type pushing struct {
	next    Builder
	remotes []Remote
}

func (b *pushing) Build(ctx context.Context, s *plan.Step, log Log) (Outcome, error) {
	o, err := b.next.Build(ctx, s, log)
	if err != nil {
		return o, err
	}
	if o.Entry == nil {
		return Outcome{}, errors.New("push: the build gave no cache entry")
	}
	for _, r := range b.remotes {
		if err := r.Push(ctx, o.Entry); err != nil {
			return Outcome{}, err
		}
	}
	return o, nil
}

package build

import (
	"context"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
)

// Caching returns a Builder that answers a step whose key c holds from
// the entry, as Cached, and hands the others to next.
func Caching(c *cache.Cache, next Builder) Builder {
	return &caching{c: c, next: next}
}

type caching struct {
	c    *cache.Cache
	next Builder
}

func (b *caching) Build(ctx context.Context, s *plan.Step, log Log) (Outcome, error) {
	if e, ok := b.c.Get(s.Key); ok {
		return outcomeOf(e, true)
	}
	return b.next.Build(ctx, s, log)
}

// Locking returns a Builder that holds the key's lock in c around next,
// so that the runs sharing a cache (other etk processes, other Builders
// of this one) build a key once between them: the one that waited finds
// the entry the other committed and answers from it, as Cached, without
// calling next. The lock dies with its process, so a killed run never
// blocks the next one.
func Locking(c *cache.Cache, next Builder) Builder {
	return &locking{c: c, next: next}
}

type locking struct {
	c    *cache.Cache
	next Builder
}

func (b *locking) Build(ctx context.Context, s *plan.Step, log Log) (Outcome, error) {
	unlock, err := b.c.Lock(s.Key)
	if err != nil {
		return Outcome{}, err
	}
	defer unlock()
	if e, ok := b.c.Get(s.Key); ok {
		return outcomeOf(e, true)
	}
	return b.next.Build(ctx, s, log)
}

// Recording returns a Builder that records in c's history the inputs of
// every step next gives an entry, so that a later plan can say why a
// package rebuilds. It belongs where each success is a new entry (under
// Locking), not in front of cache hits.
func Recording(c *cache.Cache, next Builder) Builder {
	return &recording{c: c, next: next}
}

type recording struct {
	c    *cache.Cache
	next Builder
}

func (b *recording) Build(ctx context.Context, s *plan.Step, log Log) (Outcome, error) {
	o, err := b.next.Build(ctx, s, log)
	if err != nil {
		return o, err
	}
	h := cache.History{ID: s.ID, Key: s.Key}
	for _, in := range s.Inputs {
		h.Inputs = append(h.Inputs, cache.Input(in))
	}
	// History only explains rebuilds; failing to write it fails nothing.
	_ = b.c.RecordHistory(s.Pkg().Category, s.Pkg().Name, h)
	return o, nil
}

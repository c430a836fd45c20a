package build

import (
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
)

// Option tunes New.
type Option func(*options)

type options struct {
	fetch, push []Remote
}

// WithRemote shares builds through r: a key missing locally is fetched
// from it before anything is built, and with push every entry of the run
// is pushed to it. Remotes are asked in the order given (a registry
// cache, upstream repositories).
func WithRemote(r Remote, push bool) Option {
	return func(o *options) {
		o.fetch = append(o.fetch, r)
		if push {
			o.push = append(o.push, r)
		}
	}
}

// New returns the Builder etk compile runs: it builds the steps of p
// with backend b into the local cache c, and decorates it, outermost
// first, with:
//
//   - Pushing: every entry of the run goes to the remotes that push;
//   - Caching: a key c has is answered without a lock or a build;
//   - Locking: one build per key among the runs sharing c;
//   - Recording: the history of every new entry;
//   - Fetching: a key a remote has is taken from it, not built;
//   - Storing: b builds the step into a new entry.
//
// The jobs limit is the scheduler's (Options.Jobs), not a decorator's.
func New(b Backend, c *cache.Cache, p *plan.Plan, src Source, opts ...Option) Builder {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bl := Storing(c, p, b, src)
	if len(o.fetch) > 0 {
		bl = Fetching(c, bl, o.fetch...)
	}
	bl = Caching(c, Locking(c, Recording(c, bl)))
	if len(o.push) > 0 {
		bl = Pushing(bl, o.push...)
	}
	return bl
}

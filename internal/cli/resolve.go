package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/spf13/cobra"
)

// errNoEngine: keys name base images by digest, which only an engine
// knows for local images.
var errNoEngine = errors.New("no Docker engine answers, and keys need the digest of base images (start the engine; etk plan --unresolved plans with image names, whose keys match no build)")

// resolver resolves image references to digests through the engine, once
// each; its errors are errors, so no command computes other keys than
// etk compile would. A nil engine fails every resolution.
func resolver(ctx context.Context, e *docker.Engine, pull bool) func(string) (string, error) {
	var mu sync.Mutex
	type result struct {
		id  string
		err error
	}
	seen := map[string]result{}
	return func(ref string) (string, error) {
		if e == nil {
			return "", errNoEngine
		}
		mu.Lock()
		defer mu.Unlock()
		if r, ok := seen[ref]; ok {
			return r.id, r.err
		}
		id, err := e.Resolve(ctx, ref, pull)
		if errors.Is(err, docker.ErrNotFound) {
			err = errors.New("not in the engine (pull it, or run etk compile, which pulls it)")
		}
		if err == nil && id == "" {
			err = fmt.Errorf("the engine has no digest for it")
		}
		seen[ref] = result{id, err}
		return id, err
	}
}

// resolveFlags choose how a command that plans without building resolves
// base images: through the engine, or with --unresolved not at all.
type resolveFlags struct{ unresolved bool }

func (f *resolveFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.unresolved, "unresolved", false, "plan without an engine: name base images instead of resolving their digests (the keys match no build)")
}

// apply sets s's resolver.
func (f *resolveFlags) apply(ctx context.Context, io *streams, s *compiler.Session) {
	if f.unresolved {
		fmt.Fprintln(io.errOut, "etk: --unresolved: base images are named, not resolved; these keys match no build")
		return
	}
	e, err := dockerEngine(ctx)
	if err != nil {
		e = nil
	}
	s.SetImageDigest(resolver(ctx, e, false))
}

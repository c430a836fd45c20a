package buildtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/cache"
)

// Remote is a build.Remote that keeps entries in memory, as a registry
// cache keeps one artifact per key: the metadata as pushed and the
// artefact bytes, checked against the metadata's digest when fetched.
type Remote struct {
	// Name is what the remote prints as, in logs.
	Name string

	mu      sync.Mutex
	entries map[string]remoteEntry
	err     error
	fetches int
	pushes  int
}

type remoteEntry struct {
	metadata []byte
	artefact []byte // nil for a virtual package
}

var _ build.Remote = (*Remote)(nil)

func (r *Remote) String() string { return r.Name }

// FailWith makes every later Fetch and Push fail with err, a Fetch after
// writing the artefact (a download cut off before the metadata came);
// nil heals the remote.
func (r *Remote) FailWith(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Fetch writes the entry of key into w: the artefact, then the metadata.
func (r *Remote) Fetch(ctx context.Context, key string, w *cache.Writer) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.mu.Lock()
	r.fetches++
	e, ok := r.entries[key]
	fail := r.err
	r.mu.Unlock()
	if !ok {
		return false, fail
	}
	var m build.Metadata
	if err := json.Unmarshal(e.metadata, &m); err != nil {
		return false, fmt.Errorf("%s: metadata of %s: %w", r.Name, key, err)
	}
	if e.artefact != nil {
		sum := sha256.Sum256(e.artefact)
		if m.Artefact == nil || m.Artefact.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
			return false, fmt.Errorf("%s: artefact of %s does not match its metadata", r.Name, key)
		}
		if err := os.WriteFile(w.ArtefactPath(), e.artefact, 0o644); err != nil {
			return false, err
		}
	}
	if fail != nil {
		return false, fail
	}
	return true, w.WriteMetadata(json.RawMessage(e.metadata))
}

// Push stores a copy of entry e, unless the remote has its key.
func (r *Remote) Push(ctx context.Context, e *cache.Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushes++
	if r.err != nil {
		return r.err
	}
	if _, ok := r.entries[e.Key]; ok {
		return nil
	}
	meta, err := os.ReadFile(e.Metadata)
	if err != nil {
		return err
	}
	var art []byte
	if e.Artefact != "" {
		if art, err = os.ReadFile(e.Artefact); err != nil {
			return err
		}
	}
	if r.entries == nil {
		r.entries = map[string]remoteEntry{}
	}
	r.entries[e.Key] = remoteEntry{metadata: meta, artefact: art}
	return nil
}

// Has reports whether the remote holds key.
func (r *Remote) Has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.entries[key]
	return ok
}

// Len returns how many entries the remote holds.
func (r *Remote) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries)
}

// Calls returns how many Fetch and Push calls the remote had.
func (r *Remote) Calls() (fetches, pushes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetches, r.pushes
}

// ErrDown is what a remote made to fail says, in tests that need one.
var ErrDown = errors.New("remote down")

package repository

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/repository/compiletree"
	"github.com/etk-build/etk/repository/index"
)

// Upstream is a verified revision of a repository a derivative builds on.
// Its packages are reused by build key: a derivative's package whose key
// equals an upstream package's is that package, byte for byte, and is
// taken from the upstream instead of being built.
type Upstream struct {
	Name string
	// URL is where the upstream is, for derivatives that refer to it.
	URL   string
	Repo  *Repo
	byKey map[string]index.Package
}

// NewUpstream indexes a verified repository revision.
func NewUpstream(name string, r *Repo) *Upstream {
	u := &Upstream{Name: name, Repo: r, byKey: map[string]index.Package{}}
	for _, p := range r.Index.Packages {
		u.byKey[p.Key] = p
	}
	return u
}

func (u *Upstream) String() string { return "upstream " + u.Name }

// Has reports whether the upstream has the package of this build key.
func (u *Upstream) Has(key string) (index.Package, bool) {
	p, ok := u.byKey[key]
	return p, ok
}

// Fetch copies the upstream package of key (metadata and artefact, both
// verified against the signed index) into a cache entry.
func (u *Upstream) Fetch(ctx context.Context, key string, w *cache.Writer) (bool, error) {
	p, ok := u.byKey[key]
	if !ok {
		return false, nil
	}
	meta, err := u.read(ctx, p.Metadata)
	if err != nil {
		return false, fmt.Errorf("%s metadata: %w", p.ID, err)
	}
	if p.Artefact != nil {
		rc, err := u.Repo.FetchArtefact(ctx, p)
		if err != nil {
			return false, err
		}
		f, err := os.Create(w.ArtefactPath())
		if err != nil {
			rc.Close()
			return false, err
		}
		_, err = io.Copy(f, rc)
		rc.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return false, fmt.Errorf("%s artefact: %w", p.ID, err)
		}
	}
	if err := w.WriteMetadata(json.RawMessage(meta)); err != nil {
		return false, err
	}
	return true, nil
}

// Push does nothing: an upstream belongs to someone else.
func (u *Upstream) Push(context.Context, *cache.Entry) error { return nil }

func (u *Upstream) read(ctx context.Context, b index.Blob) ([]byte, error) {
	rc, err := u.Repo.Fetch(ctx, b)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// The signed index gave the size, at most index.MaxMetadataSize or
	// index.MaxTreeSize; Fetch stops one byte past it.
	return io.ReadAll(rc)
}

// CompileTree returns the upstream's compile tree: its package trees, with
// where each came from, and the values its packages were rendered with.
// Trees without an origin are the upstream's own: they get its name and
// revision.
func (u *Upstream) CompileTree(ctx context.Context) (*compiletree.CompileTree, error) {
	t := u.Repo.Index.Tree
	if t == nil {
		return nil, fmt.Errorf("%s: revision %d has no compile tree", u.Name, u.Repo.Snapshot.Revision)
	}
	data, err := u.read(ctx, *t)
	if err != nil {
		return nil, fmt.Errorf("%s compile tree: %w", u.Name, err)
	}
	ct, err := compiletree.Read(ctx, u.Name+" compile tree", data)
	if err != nil {
		return nil, err
	}
	self := u.Repo.Snapshot.Name
	for i := range ct.Trees {
		if ct.Trees[i].Origin == "" {
			ct.Trees[i].Origin, ct.Trees[i].Revision = self, u.Repo.Snapshot.Revision
		}
	}
	// The upstream's own extends, under its name.
	if direct, ok := ct.Extends[""]; ok {
		delete(ct.Extends, "")
		ct.Extends[self] = direct
	}
	return ct, nil
}

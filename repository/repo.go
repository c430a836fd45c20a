package repository

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/etk-build/etk/repository/index"
)

// This file is the read side of a repository: a verified revision, its
// blobs and artefacts, read through any ReadOnlyStore. publish.go writes.

// latest reads and verifies the latest snapshot, if any.
func latest(ctx context.Context, s ReadOnlyStore, t index.Trust) ([]byte, *index.Snapshot, error) {
	b, err := getRef(ctx, s, LatestRef)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	snap, err := verify(b, t)
	return b, snap, err
}

func verify(b []byte, t index.Trust) (*index.Snapshot, error) {
	signed, err := index.DecodeSigned(b)
	if err != nil {
		return nil, err
	}
	return t.Verify(signed)
}

// Repo is a verified revision of a repository.
type Repo struct {
	Snapshot *index.Snapshot
	Index    *index.Index
	// Signers are the ids of the keys whose signatures the snapshot has.
	Signers []string
	// OpenSource opens the repository a package's Source names; without
	// it, packages kept elsewhere cannot be fetched.
	OpenSource func(url string) (ReadOnlyStore, error)
	store      ReadOnlyStore
}

// FetchArtefact opens a package's artefact, from this repository or from
// the one its Source names, verified against the digest this repository's
// signed index gives.
func (r *Repo) FetchArtefact(ctx context.Context, p index.Package) (io.ReadCloser, error) {
	if p.Artefact == nil {
		return nil, fmt.Errorf("%s has no artefact", p.ID)
	}
	if p.Source == "" {
		return r.Fetch(ctx, *p.Artefact)
	}
	if r.OpenSource == nil {
		return nil, fmt.Errorf("%s: its artefact is kept in %s, which this reader cannot open", p.ID, p.Source)
	}
	s, err := r.OpenSource(p.Source)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID, err)
	}
	rc, err := s.GetBlob(ctx, p.Artefact.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: artefact in %s: %w", p.ID, p.Source, err)
	}
	vr, err := index.VerifyBlob(*p.Artefact, index.ContextReader(ctx, rc))
	if err != nil {
		rc.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{vr, rc}, nil
}

// Open reads the latest revision (rev 0) or revision rev of a repository,
// verifying its signature (with t) before it trusts any other byte, and
// the index against the digest the snapshot names.
func Open(ctx context.Context, s ReadOnlyStore, t index.Trust, rev int64) (*Repo, error) {
	name := LatestRef
	if rev > 0 {
		name = RevisionRef(rev)
	}
	b, err := getRef(ctx, s, name)
	if err != nil {
		return nil, err
	}
	signed, err := index.DecodeSigned(b)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", name, err)
	}
	snap, err := t.Verify(signed)
	if err != nil {
		return nil, err
	}
	var signers []string
	for _, sig := range signed.Signatures {
		signers = append(signers, sig.KeyID)
	}
	rc, err := s.GetBlob(ctx, snap.Index.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// The snapshot's signed size (at most index.MaxIndexSize) bounds
	// the read; VerifyBlob stops one byte past it.
	r, err := index.VerifyBlob(snap.Index, rc)
	if err != nil {
		return nil, err
	}
	data, err := index.ReadLimited(ctx, r, fmt.Sprintf("index of revision %d", snap.Revision), snap.Index.Size)
	if err != nil {
		return nil, err
	}
	idx, err := index.DecodeIndex(data)
	if err != nil {
		return nil, err
	}
	return &Repo{Snapshot: snap, Index: idx, Signers: signers, store: s}, nil
}

// Store is the store the revision was read from.
func (r *Repo) Store() ReadOnlyStore { return r.store }

// Fetch opens a blob of the repository, verified as it is read: the
// reader fails at its end when the content does not match b, as soon as
// it holds more bytes than b.Size, and once ctx is done.
func (r *Repo) Fetch(ctx context.Context, b index.Blob) (io.ReadCloser, error) {
	rc, err := r.store.GetBlob(ctx, b.Digest)
	if err != nil {
		return nil, err
	}
	vr, err := index.VerifyBlob(b, index.ContextReader(ctx, rc))
	if err != nil {
		rc.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{vr, rc}, nil
}

// getRef reads a reference, refusing one past index.MaxRefSize whatever
// the store: every store bounds its reads, this says so once more for a
// Store implemented elsewhere.
func getRef(ctx context.Context, s ReadOnlyStore, name string) ([]byte, error) {
	b, err := s.GetRef(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(b) > index.MaxRefSize {
		return nil, index.TooLarge("reference "+name, index.MaxRefSize)
	}
	return b, nil
}

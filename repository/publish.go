package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/repository/index"
)

// Entry is one built package to publish: its metadata.json and, unless it
// has nothing to build, its artefact file.
type Entry struct {
	Metadata []byte
	Artefact string
	// Source, when set, is the repository that already holds the
	// artefact (an upstream): the index refers to it there instead of
	// copying it.
	Source string
}

// PublishOptions describe a publication.
type PublishOptions struct {
	// Name is the repository's name.
	Name string
	// Key signs the snapshot.
	Key index.PrivateKey
	// Time stamps the snapshot (SOURCE_DATE_EPOCH or now).
	Time time.Time
	// TTL is how long the snapshot is valid; zero means the default, 30
	// days, and a negative TTL is an error. (etk publish refuses --ttl 0.)
	TTL time.Duration
	// Force publishes a new revision even when the index did not change
	// (to push the expiry further).
	Force bool
	// Tree is the compile tree (a tar of the package trees and the values
	// they were rendered with), for derivatives; optional.
	Tree []byte
	// TreeMediaType is Tree's media type.
	TreeMediaType string
}

// Result says what a publication did.
type Result struct {
	Snapshot  *index.Snapshot
	Unchanged bool // the index was the latest revision's: nothing published
	Uploaded  int  // blobs uploaded (the rest were there)
}

// maxTries bounds how often a publisher retries after losing the race
// for latest; maxRevisionSkip how many taken revisions it steps over.
const (
	maxTries        = 20
	maxRevisionSkip = 1000
)

func prevRevision(s *index.Snapshot) int64 {
	if s == nil {
		return 0
	}
	return s.Revision
}

// Publish uploads the blobs the store lacks (artefacts, metadata, the
// index) and then, last, a new signed snapshot and the latest pointer. An
// interrupted publish leaves the previous revision intact; running it again
// completes it. Two publishers racing never lose a revision: the loser
// sees the conflict and publishes on top of the winner.
func Publish(ctx context.Context, s Store, entries []Entry, o PublishOptions) (*Result, error) {
	switch {
	case o.TTL == 0:
		o.TTL = 30 * 24 * time.Hour
	case o.TTL < 0:
		return nil, fmt.Errorf("publish %s: negative TTL %s", o.Name, o.TTL)
	}
	res := &Result{}
	idx := &index.Index{Format: index.IndexFormat, Name: o.Name}
	for _, e := range entries {
		var m build.Metadata
		if err := json.Unmarshal(e.Metadata, &m); err != nil {
			return nil, fmt.Errorf("publish: metadata: %w", err)
		}
		p := index.Package{ID: m.ID, Category: m.Category, Name: m.Name, Version: m.Version, Hidden: m.Hidden,
			Description: m.Description, Requires: m.Requires, Conflicts: m.Conflicts, Provides: m.Provides, Key: m.Key,
			Metadata: index.NewBlob(e.Metadata, index.MediaTypeMetadata)}
		if m.Artefact != nil {
			p.Artefact = &index.Blob{Digest: m.Artefact.Digest, Size: m.Artefact.Size, MediaType: index.MediaTypeArtefact}
		}
		if m.Artefact != nil && e.Source != "" {
			if hasUser(e.Source) {
				return nil, fmt.Errorf("publish %s: the URL of its source holds credentials; a repository records none (give the URL without them)", m.ID)
			}
			p.Source = e.Source
		} else if m.Artefact != nil {
			if e.Artefact == "" {
				return nil, fmt.Errorf("publish %s: its artefact file is missing", m.ID)
			}
			n, err := putFile(ctx, s, *p.Artefact, e.Artefact)
			if err != nil {
				return nil, fmt.Errorf("publish %s: %w", m.ID, err)
			}
			res.Uploaded += n
		}
		n, err := putBytes(ctx, s, p.Metadata, e.Metadata)
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", m.ID, err)
		}
		res.Uploaded += n
		idx.Packages = append(idx.Packages, p)
	}
	sortPackages(idx.Packages)
	if o.Tree != nil {
		b := index.NewBlob(o.Tree, o.TreeMediaType)
		n, err := putBytes(ctx, s, b, o.Tree)
		if err != nil {
			return nil, fmt.Errorf("publish the compile tree: %w", err)
		}
		res.Uploaded += n
		idx.Tree = &b
	}
	idxBytes, err := idx.Encode()
	if err != nil {
		return nil, err
	}
	idxBlob := index.NewBlob(idxBytes, index.MediaTypeIndex)
	pub := o.Key.Public().(index.PublicKey)

	for try := 0; try < maxTries; try++ {
		prevBytes, prev, err := latest(ctx, s, index.Trust{Keys: []index.PublicKey{pub}, Now: o.Time, Name: o.Name})
		if err != nil {
			return nil, err
		}
		var rev int64 = 1
		var prevBlob *index.Blob
		if prev != nil {
			if prev.Index.Digest == idxBlob.Digest && !o.Force {
				res.Snapshot, res.Unchanged = prev, true
				return res, nil
			}
			rev = prev.Revision + 1
			b := index.NewBlob(prevBytes, index.MediaTypeSigned)
			prevBlob = &b
		}
		n, err := putBytes(ctx, s, idxBlob, idxBytes)
		if err != nil {
			return nil, err
		}
		res.Uploaded += n
		// The revision's own reference first: it is immutable, so a
		// revision taken by a concurrent publisher, or left behind by an
		// interrupted one, is never rewritten: take the next one.
		var snap *index.Snapshot
		var env []byte
		for ; ; rev++ {
			if rev > maxRevisionSkip+prevRevision(prev) {
				return nil, fmt.Errorf("publish %s: revisions %d to %d are all taken", o.Name, prevRevision(prev)+1, rev-1)
			}
			snap = &index.Snapshot{Name: o.Name, Revision: rev, Index: idxBlob, Timestamp: o.Time.UTC().Truncate(time.Second),
				Expires: o.Time.Add(o.TTL).UTC().Truncate(time.Second), Previous: prevBlob}
			signed, err := index.Sign(snap, o.Key)
			if err != nil {
				return nil, err
			}
			if env, err = signed.Encode(); err != nil {
				return nil, err
			}
			if _, err := putBytes(ctx, s, index.NewBlob(env, index.MediaTypeSigned), env); err != nil {
				return nil, err
			}
			err = s.PutRef(ctx, RevisionRef(rev), nil, env)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrConflict) {
				return nil, err
			}
		}
		var old []byte
		if prev != nil {
			old = prevBytes
		}
		if err := s.PutRef(ctx, LatestRef, old, env); errors.Is(err, ErrConflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		res.Snapshot = snap
		return res, nil
	}
	return nil, fmt.Errorf("publish %s: other publishers kept winning the race after %d tries", o.Name, maxTries)
}

// hasUser reports whether a URL holds user info ("scheme://user:pw@host").
func hasUser(u string) bool {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return false
	}
	host, _, _ := strings.Cut(rest, "/")
	return strings.Contains(host, "@")
}

// LatestRef is the reference of the latest revision.
const LatestRef = "latest"

// RevisionRef is the reference of revision rev.
func RevisionRef(rev int64) string { return "snapshots/" + strconv.FormatInt(rev, 10) }

func putBytes(ctx context.Context, s Store, b index.Blob, data []byte) (int, error) {
	if ok, err := s.HasBlob(ctx, b.Digest); err != nil || ok {
		return 0, err
	}
	return 1, s.PutBlob(ctx, b.Digest, b.Size, bytes.NewReader(data))
}

func putFile(ctx context.Context, s Store, b index.Blob, path string) (int, error) {
	if ok, err := s.HasBlob(ctx, b.Digest); err != nil || ok {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return 1, s.PutBlob(ctx, b.Digest, b.Size, f)
}

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

package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

package project

import (
	"context"
	"errors"
	"fmt"

	"github.com/etk-build/etk/compiler/manifest"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/seen"
)

// PinChange is what Relock did to one upstream's pin.
type PinChange struct {
	Upstream string
	// From is the revision pinned before (0: none); To the one pinned now.
	From, To int64
	// Changes are the packages that differ between From and To, when
	// both could be read.
	Changes *index.Changes
}

// Relock pins every upstream of m in etk.lock: those move says to move go
// to their latest revision, the others keep their pin (or get one if they
// have none). A pin moves only along its repository's history (not to an
// older revision, not to another repository signed by the same key, not to
// a rewritten revision) unless allow says otherwise. URLs are pinned
// without credentials.
func Relock(ctx context.Context, m *manifest.Manifest, move func(string) bool, allow seen.Allow, open func(string) (repository.ReadOnlyStore, error)) ([]PinChange, error) {
	if len(m.Extends) == 0 {
		return nil, usagef("%s extends no upstream", m.File)
	}
	old := &manifest.Lock{}
	if l, err := m.ReadLock(); err == nil {
		old = l
	}
	var next manifest.Lock
	var changes []PinChange
	for _, u := range m.Extends {
		pin, pinned := old.Pin(u.Name)
		rev := int64(0)
		samePlace := pinned && repository.WithoutCredentials(pin.URL) == repository.WithoutCredentials(u.URL)
		if samePlace && (move == nil || !move(u.Name)) {
			rev = pin.Revision
		}
		up, digest, store, err := OpenUpstream(ctx, m, u, rev, open)
		if err != nil {
			return nil, err
		}
		snap := up.Repo.Snapshot
		if pinned {
			if err := checkPin(ctx, store, u, pin, snap, digest, allow); err != nil {
				return nil, err
			}
		}
		next.Upstreams = append(next.Upstreams, manifest.Pin{Name: u.Name, URL: repository.WithoutCredentials(u.URL), Revision: snap.Revision, Repository: snap.Name, Snapshot: digest, Keys: up.Repo.Signers})
		ch := PinChange{Upstream: u.Name, To: snap.Revision}
		if pinned && samePlace {
			ch.From = pin.Revision
			if pin.Revision != snap.Revision {
				if before, _, _, err := OpenUpstream(ctx, m, u, pin.Revision, open); err == nil {
					d := index.Diff(before.Repo.Index, up.Repo.Index)
					ch.Changes = &d
				}
			}
		}
		changes = append(changes, ch)
	}
	return changes, m.WriteLock(&next)
}

// checkPin refuses to move pin to snap (whose signed envelope has digest
// env) unless snap continues it: the same repository, the pinned revision
// unchanged or a later one whose history holds it; allow accepts the rest
// explicitly.
func checkPin(ctx context.Context, s repository.ReadOnlyStore, u manifest.Upstream, pin *manifest.Pin, snap *index.Snapshot, env string, allow seen.Allow) error {
	if pin.Repository != "" && snap.Name != pin.Repository && !allow.Change {
		return fmt.Errorf("upstream %s: %w: %s now serves repository %q, pinned %q", u.Name, index.ErrWrongRepository, repository.WithoutCredentials(u.URL), snap.Name, pin.Repository)
	}
	if snap.Revision == pin.Revision {
		if env != pin.Snapshot && !allow.Change {
			return fmt.Errorf("upstream %s: %w: revision %d is not the one %s pins (snapshot %s, pinned %s): the repository was rewritten", u.Name, index.ErrWrongRepository, pin.Revision, manifest.LockFile, env, pin.Snapshot)
		}
		return nil
	}
	err := seen.Continues(ctx, s, snap, seen.Point{Revision: pin.Revision, Envelope: pin.Snapshot})
	if err == nil || (allow.Rollback && errors.Is(err, index.ErrRollback)) || (allow.Change && errors.Is(err, index.ErrWrongRepository)) {
		return nil
	}
	return fmt.Errorf("upstream %s: %w", u.Name, err)
}

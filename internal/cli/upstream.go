package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/etk-build/etk/compiler/manifest"
	"github.com/etk-build/etk/project"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/seen"
	"github.com/spf13/cobra"
)

// openUpstream verifies revision rev (0: latest) of an upstream and
// returns it with the digest of its signed snapshot, and its store.
func openUpstream(ctx context.Context, m *manifest.Manifest, u manifest.Upstream, rev int64) (*repository.Upstream, string, repository.ReadOnlyStore, error) {
	return project.OpenUpstream(ctx, m, u, rev, openStore)
}

// checkPin refuses to move pin to snap (whose signed envelope has digest
// env) unless snap continues it: the same repository, the pinned revision
// unchanged or a later one whose history holds it; allow accepts the
// rest explicitly.
func checkPin(ctx context.Context, s repository.ReadOnlyStore, u manifest.Upstream, pin *manifest.Pin, snap *index.Snapshot, env string, allow seen.Allow) error {
	if pin.Repository != "" && snap.Name != pin.Repository && !allow.Change {
		return fmt.Errorf("upstream %s: %w: %s now serves repository %q, pinned %q", u.Name, index.ErrWrongRepository, u.URL, snap.Name, pin.Repository)
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

func newLockCmd(out *streams) *cobra.Command {
	var h historyFlags
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Pin every upstream of the manifest's extends: to a verified revision (etk.lock)",
		Long: `Write etk.lock: for each upstream of the manifest's extends:, its URL, the
revision, the digest of its signed snapshot and the ids of the keys that
signed it. An upstream already pinned stays where it is (etk update moves it).
Compile, install and image refuse an upstream that does not match the lock.`,
		Example: "  etk lock",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return relock(cmd.Context(), out, nil, &h)
		},
	}
	h.AddFlags(cmd, "revision of an upstream")
	return cmd
}

func newUpdateCmd(out *streams) *cobra.Command {
	var h historyFlags
	cmd := &cobra.Command{
		Use:   "update [UPSTREAM...]",
		Short: "Move upstream pins to their latest revisions, and say what changed",
		Long: `Move the pins of UPSTREAM... (default: all) in etk.lock to the latest revision
of each, and print what changed. A pin moves only forward along the
upstream's history: a latest revision older than the pinned one (a mirror
rolled back) is refused unless --allow-rollback, and one of another
repository, or whose history does not hold the pinned revision (another
repository signed by the same key, or the upstream rebuilt), unless
--allow-repo-change.`,
		Example: "  etk update foundation",
		RunE: func(cmd *cobra.Command, args []string) error {
			all := map[string]bool{}
			for _, a := range args {
				all[a] = true
			}
			if len(args) == 0 {
				all = nil
			}
			return relock(cmd.Context(), out, func(name string) bool { return all == nil || all[name] }, &h)
		},
	}
	h.AddFlags(cmd, "revision of an upstream")
	return cmd
}

// relock pins upstreams: those move says to move go to their latest
// revision; the others keep their pin (or get one if they have none). A
// pin moves only along its repository's history unless h says otherwise.
func relock(ctx context.Context, out *streams, move func(string) bool, h *historyFlags) error {
	m, err := currentManifest()
	if err != nil {
		return err
	}
	if m == nil {
		return usagef("no manifest.yaml here or above")
	}
	if len(m.Extends) == 0 {
		return usagef("%s extends no upstream", m.File)
	}
	old := &manifest.Lock{}
	if l, err := m.ReadLock(); err == nil {
		old = l
	}
	var next manifest.Lock
	for _, u := range m.Extends {
		pin, pinned := old.Pin(u.Name)
		rev := int64(0)
		samePlace := pinned && withoutUser(pin.URL) == withoutUser(u.URL)
		if samePlace && (move == nil || !move(u.Name)) {
			rev = pin.Revision
		}
		up, digest, store, err := openUpstream(ctx, m, u, rev)
		if err != nil {
			return err
		}
		snap := up.Repo.Snapshot
		if pinned {
			if err := checkPin(ctx, store, u, pin, snap, digest, h.allow()); err != nil {
				return h.hint(err)
			}
		}
		keys := up.Repo.Signers
		next.Upstreams = append(next.Upstreams, manifest.Pin{Name: u.Name, URL: withoutUser(u.URL), Revision: snap.Revision, Repository: snap.Name, Snapshot: digest, Keys: keys})
		switch {
		case !pinned:
			fmt.Fprintf(out.errOut, "%s: pinned to revision %d\n", u.Name, snap.Revision)
		case pin.Revision != snap.Revision && samePlace:
			fmt.Fprintf(out.errOut, "%s: revision %d -> %d\n", u.Name, pin.Revision, snap.Revision)
			if before, _, _, err := openUpstream(ctx, m, u, pin.Revision); err == nil {
				ch := index.Diff(before.Repo.Index, up.Repo.Index)
				for _, p := range ch.Added {
					fmt.Fprintf(out.out, "+ %s\n", p.ID)
				}
				for _, p := range ch.Removed {
					fmt.Fprintf(out.out, "- %s\n", p.ID)
				}
				for _, c := range ch.Changed {
					fmt.Fprintf(out.out, "~ %s -> %s\n", c.Old.ID, c.New.ID)
				}
			}
		default:
			fmt.Fprintf(out.errOut, "%s: revision %d\n", u.Name, snap.Revision)
		}
	}
	return m.WriteLock(&next)
}

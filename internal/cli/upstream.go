package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/etk-build/etk/compiler/manifest"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
	"github.com/spf13/cobra"
)

// loadUpstreams opens every upstream at its pinned revision, refusing one
// that does not match etk.lock, and adds its compile tree under the
// project's trees and its values under the project's values.
func (p *project) loadUpstreams(ctx context.Context) error {
	m := p.manifest
	if len(m.Extends) == 0 {
		return nil
	}
	lock, err := m.ReadLock()
	if err != nil {
		return err
	}
	var layers []values.Values
	for _, u := range m.Extends {
		pin, ok := lock.Pin(u.Name)
		if !ok {
			return fmt.Errorf("upstream %s is not in %s; run etk lock", u.Name, m.LockPath())
		}
		if pin.URL != u.URL {
			return fmt.Errorf("upstream %s: the manifest says %s but %s pins %s; run etk update %s", u.Name, shown(u.URL), manifest.LockFile, shown(pin.URL), u.Name)
		}
		up, digest, err := openUpstream(ctx, m, u, pin.Revision)
		if err != nil {
			return err
		}
		if digest != pin.Snapshot {
			return fmt.Errorf("upstream %s revision %d is not the one %s pins (snapshot %s, pinned %s): the repository was rewritten; check it, then run etk update %s", u.Name, pin.Revision, manifest.LockFile, digest, pin.Snapshot, u.Name)
		}
		trees, vals, err := up.CompileTree(ctx)
		if err != nil {
			return err
		}
		for i, t := range trees {
			p.cfg.Trees = append(p.cfg.Trees, tree.Source{Name: fmt.Sprintf("upstream:%s/%d", u.Name, i), FS: t})
		}
		layers = append(layers, vals)
		p.upstreams = append(p.upstreams, up)
	}
	p.upstreamValues = values.Merge(layers...)
	return nil
}

// openUpstream verifies revision rev (0: latest) of an upstream and
// returns it with the digest of its signed snapshot.
func openUpstream(ctx context.Context, m *manifest.Manifest, u manifest.Upstream, rev int64) (*repository.Upstream, string, error) {
	if len(u.Trust) == 0 {
		return nil, "", fmt.Errorf("upstream %s: no trusted keys (extends: trust:)", u.Name)
	}
	t := index.Trust{}
	for _, k := range u.Trust {
		pub, err := index.ReadPublicKeyFile(m.Path(k))
		if err != nil {
			return nil, "", err
		}
		t.Keys = append(t.Keys, pub)
	}
	s, err := openStore(u.URL)
	if err != nil {
		return nil, "", err
	}
	r, err := repository.Open(ctx, s, t, rev)
	if err != nil {
		return nil, "", fmt.Errorf("upstream %s: %w", u.Name, err)
	}
	env, err := s.GetRef(ctx, repository.RevisionRef(r.Snapshot.Revision))
	if err != nil {
		return nil, "", fmt.Errorf("upstream %s: %w", u.Name, err)
	}
	sum := sha256.Sum256(env)
	r.OpenSource = openStore
	up := repository.NewUpstream(u.Name, r)
	up.URL = absoluteURL(m.Path, u.URL)
	return up, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// absoluteURL makes a folder repository's path absolute, so that a
// derivative's index can name it for readers elsewhere.
func absoluteURL(resolve func(string) string, url string) string {
	if strings.Contains(url, "://") {
		return url
	}
	if abs, err := filepath.Abs(resolve(url)); err == nil {
		return abs
	}
	return url
}

func newLockCmd(out *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Pin every upstream of the manifest's extends: to a verified revision (etk.lock)",
		Long: `Write etk.lock: for each upstream of the manifest's extends:, its URL, the
revision, the digest of its signed snapshot and the ids of the keys that
signed it. An upstream already pinned stays where it is (etk update moves it).
Compile, install and image refuse an upstream that does not match the lock.`,
		Example: "  etk lock",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return relock(cmd.Context(), out, nil)
		},
	}
}

func newUpdateCmd(out *streams) *cobra.Command {
	return &cobra.Command{
		Use:     "update [UPSTREAM...]",
		Short:   "Move upstream pins to their latest revisions, and say what changed",
		Example: "  etk update foundation",
		RunE: func(cmd *cobra.Command, args []string) error {
			all := map[string]bool{}
			for _, a := range args {
				all[a] = true
			}
			if len(args) == 0 {
				all = nil
			}
			return relock(cmd.Context(), out, func(name string) bool { return all == nil || all[name] })
		},
	}
}

// relock pins upstreams: those move says to move go to their latest
// revision; the others keep their pin (or get one if they have none).
func relock(ctx context.Context, out *streams, move func(string) bool) error {
	m := currentManifest()
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
		if pinned && pin.URL == u.URL && (move == nil || !move(u.Name)) {
			rev = pin.Revision
		}
		up, digest, err := openUpstream(ctx, m, u, rev)
		if err != nil {
			return err
		}
		snap := up.Repo.Snapshot
		keys := up.Repo.Signers
		next.Upstreams = append(next.Upstreams, manifest.Pin{Name: u.Name, URL: u.URL, Revision: snap.Revision, Snapshot: digest, Keys: keys})
		switch {
		case !pinned:
			fmt.Fprintf(out.errOut, "%s: pinned to revision %d\n", u.Name, snap.Revision)
		case pin.Revision != snap.Revision && pin.URL == u.URL:
			fmt.Fprintf(out.errOut, "%s: revision %d -> %d\n", u.Name, pin.Revision, snap.Revision)
			if before, _, err := openUpstream(ctx, m, u, pin.Revision); err == nil {
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

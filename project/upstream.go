package project

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
	"github.com/etk-build/etk/repository/compiletree"
	"github.com/etk-build/etk/repository/index"
)

// loadUpstreams opens every upstream at its pinned revision, refusing one
// that does not match etk.lock, and adds its compile tree under the
// project's trees and its values under the project's values.
func (p *Project) loadUpstreams(ctx context.Context) error {
	m := p.Manifest
	if len(m.Extends) == 0 {
		return nil
	}
	if p.opts.OpenStore == nil {
		return fmt.Errorf("%s extends upstreams, and no way to open a repository was given", m.File)
	}
	lock, err := m.ReadLock()
	if err != nil {
		return err
	}
	var layers []values.Values
	p.Extends = map[string][]string{}
	for _, u := range m.Extends {
		pin, ok := lock.Pin(u.Name)
		if !ok {
			return fmt.Errorf("upstream %s is not in %s; run etk lock", u.Name, m.LockPath())
		}
		// The lock records where, never with whose credentials.
		if repository.WithoutCredentials(pin.URL) != repository.WithoutCredentials(u.URL) {
			return fmt.Errorf("upstream %s: the manifest says %s but %s pins %s; run etk update %s", u.Name, repository.WithoutCredentials(u.URL), manifest.LockFile, repository.WithoutCredentials(pin.URL), u.Name)
		}
		up, digest, _, err := OpenUpstream(ctx, m, u, pin.Revision, p.opts.OpenStore)
		if err != nil {
			return err
		}
		if digest != pin.Snapshot {
			return fmt.Errorf("upstream %s revision %d is not the one %s pins (snapshot %s, pinned %s): the repository was rewritten; check it, then run etk update %s", u.Name, pin.Revision, manifest.LockFile, digest, pin.Snapshot, u.Name)
		}
		ct, err := up.CompileTree(ctx)
		if err != nil {
			return err
		}
		name := up.Repo.Snapshot.Name
		p.Extends[""] = append(p.Extends[""], name)
		for repo, direct := range ct.Extends {
			p.Extends[repo] = direct
		}
		if _, ok := ct.Extends[name]; !ok {
			p.Extends[name] = nil
		}
		if err := p.addUpstreamTrees(u.Name, ct); err != nil {
			return err
		}
		layers = append(layers, ct.Values)
		p.Upstreams = append(p.Upstreams, up)
	}
	if err := ExtendsCycle(p.Name(), p.Extends); err != nil {
		return fmt.Errorf("%s: %w", m.File, err)
	}
	p.upstreamValues = values.Merge(layers...)
	return nil
}

// OpenUpstream verifies revision rev (0: latest) of an upstream of m and
// returns it with the digest of its signed snapshot, and its store.
func OpenUpstream(ctx context.Context, m *manifest.Manifest, u manifest.Upstream, rev int64, open func(string) (repository.ReadOnlyStore, error)) (*repository.Upstream, string, repository.ReadOnlyStore, error) {
	if len(u.Trust) == 0 {
		return nil, "", nil, fmt.Errorf("upstream %s: no trusted keys (extends: trust:)", u.Name)
	}
	t := index.Trust{}
	for _, k := range u.Trust {
		pub, err := index.ReadPublicKeyFile(m.Path(k))
		if err != nil {
			return nil, "", nil, err
		}
		t.Keys = append(t.Keys, pub)
	}
	s, err := open(u.URL)
	if err != nil {
		return nil, "", nil, err
	}
	r, err := repository.Open(ctx, s, t, rev)
	if err != nil {
		return nil, "", nil, fmt.Errorf("upstream %s: %w", u.Name, err)
	}
	env, err := s.GetRef(ctx, repository.RevisionRef(r.Snapshot.Revision))
	if err != nil {
		return nil, "", nil, fmt.Errorf("upstream %s: %w", u.Name, err)
	}
	sum := sha256.Sum256(env)
	r.OpenSource = open
	up := repository.NewUpstream(u.Name, r)
	up.URL = absoluteURL(m.Path, u.URL)
	return up, "sha256:" + hex.EncodeToString(sum[:]), s, nil
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

// addUpstreamTrees adds the trees of an upstream's compile tree. A tree met
// twice (two upstreams built on one repository) is added once; the same
// tree at two revisions is an error, since packages would be defined twice.
func (p *Project) addUpstreamTrees(alias string, ct *compiletree.CompileTree) error {
	if p.treeRevs == nil {
		p.treeRevs = map[string]int64{}
	}
	ordinal := map[string]int{}
	for _, t := range ct.Trees {
		id := fmt.Sprintf("%s#%d", t.Origin, ordinal[t.Origin])
		ordinal[t.Origin]++
		if rev, ok := p.treeRevs[id]; ok {
			if rev != t.Revision {
				return fmt.Errorf("upstream %s is built on revision %d of %s, another upstream on revision %d: pin upstreams built on the same revision", alias, t.Revision, t.Origin, rev)
			}
			continue
		}
		p.treeRevs[id] = t.Revision
		p.Config.Trees = append(p.Config.Trees, tree.Source{
			Name: fmt.Sprintf("upstream:%s/%d", t.Origin, ordinal[t.Origin]-1), FS: t.FS,
			Overlay: t.Overlay, Origin: t.Origin, Revision: t.Revision,
		})
	}
	return nil
}

// ExtendsCycle reports a cycle through the project (named self) in its
// extends graph ("" is the project).
func ExtendsCycle(self string, extends map[string][]string) error {
	graph := map[string][]string{self: extends[""]}
	for repo, direct := range extends {
		if repo != "" && repo != self {
			graph[repo] = direct
		}
	}
	if c := compiletree.Cycle(graph, self); c != nil {
		return fmt.Errorf("extends cycle: %s (a repository cannot be built on itself)", strings.Join(c, " -> "))
	}
	return nil
}

// CompileTree packs the session's trees with their provenance, the values
// and the extends graph (see repository/compiletree).
func (p *Project) CompileTree(trees []tree.Source) ([]byte, error) {
	var out []compiletree.Tree
	for _, src := range trees {
		out = append(out, compiletree.Tree{Origin: src.Origin, Revision: src.Revision, Overlay: src.Overlay, FS: src.FS})
	}
	return compiletree.Write(out, p.Config.Values, p.Extends)
}

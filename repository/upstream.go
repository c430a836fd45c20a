package repository

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing/fstest"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/repository/index"
	"github.com/klauspost/compress/zstd"
	"go.yaml.in/yaml/v3"
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

// CompileTree returns the upstream's package trees and the values its
// packages were rendered with, from the compile tree of its index.
func (u *Upstream) CompileTree(ctx context.Context) ([]fs.FS, map[string]any, error) {
	t := u.Repo.Index.Tree
	if t == nil {
		return nil, nil, fmt.Errorf("%s: revision %d has no compile tree", u.Name, u.Repo.Snapshot.Revision)
	}
	data, err := u.read(ctx, *t)
	if err != nil {
		return nil, nil, fmt.Errorf("%s compile tree: %w", u.Name, err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderMaxMemory(index.MaxTreeExpandedSize))
	if err != nil {
		return nil, nil, err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	files := fstest.MapFS{}
	var values map[string]any
	var trees []string
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s compile tree: %w", u.Name, err)
		}
		name := path.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || strings.HasPrefix(name, "../") || path.IsAbs(name) {
			continue
		}
		if h.Size > index.MaxTreeFileSize {
			return nil, nil, index.TooLarge(fmt.Sprintf("%s compile tree: %s (%d bytes)", u.Name, name, h.Size), index.MaxTreeFileSize)
		}
		if total += h.Size; total > index.MaxTreeExpandedSize {
			return nil, nil, index.TooLarge(u.Name+" compile tree, expanded", index.MaxTreeExpandedSize)
		}
		b, err := index.ReadLimited(ctx, tr, fmt.Sprintf("%s compile tree: %s", u.Name, name), index.MaxTreeFileSize)
		if err != nil {
			return nil, nil, err
		}
		if name == "values.yaml" {
			if err := yaml.Unmarshal(b, &values); err != nil {
				return nil, nil, fmt.Errorf("%s compile tree values: %w", u.Name, err)
			}
			continue
		}
		files[name] = &fstest.MapFile{Data: b, Mode: fs.FileMode(h.Mode) & fs.ModePerm}
		parts := strings.SplitN(name, "/", 3)
		if len(parts) == 3 && parts[0] == "trees" {
			root := parts[0] + "/" + parts[1]
			if len(trees) == 0 || trees[len(trees)-1] != root {
				trees = append(trees, root)
			}
		}
	}
	var out []fs.FS
	for _, root := range trees {
		sub, err := fs.Sub(files, root)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, sub)
	}
	return out, values, nil
}

package repository

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/repository/index"
)

// PackageMetadata reads the metadata of an indexed package, verified
// against the signed index, and checks that the two agree on what the
// package and its artefact are: they are signed together, so a
// disagreement means one of them was made for another package.
func (r *Repo) PackageMetadata(ctx context.Context, p index.Package) (*build.Metadata, error) {
	rc, err := r.Fetch(ctx, p.Metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.ID, err)
	}
	defer rc.Close()
	data, err := index.ReadLimited(ctx, rc, p.ID+" metadata", index.MaxMetadataSize)
	if err != nil {
		return nil, err
	}
	var m build.Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: metadata: %w", p.ID, err)
	}
	switch {
	case m.ID != p.ID || m.Key != p.Key:
		return nil, fmt.Errorf("%s: its metadata is of %s (key %.12s), not of the indexed package (key %.12s)", p.ID, m.ID, m.Key, p.Key)
	case (p.Artefact == nil) != (m.Artefact == nil):
		return nil, fmt.Errorf("%s: the index and the metadata disagree on whether it has an artefact", p.ID)
	case p.Artefact != nil && (p.Artefact.Digest != m.Artefact.Digest || p.Artefact.Size != m.Artefact.Size):
		return nil, fmt.Errorf("%s: %w: the index names artefact %s (%d bytes), its metadata %s (%d bytes)", p.ID, artifact.ErrMismatch, p.Artefact.Digest, p.Artefact.Size, m.Artefact.Digest, m.Artefact.Size)
	}
	return &m, nil
}

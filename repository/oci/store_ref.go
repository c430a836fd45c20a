package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/etk-build/etk/internal/network"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// revisionRE is a revision as repository.RevisionRef writes it.
var revisionRE = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// tagOf maps a reference name to its tag: latest to latest,
// snapshots/<N> to rev-<N>. Nothing else maps, so that the mapping stays
// one-to-one and clear of other tools' tags (sha256-<hex> referrers).
// channelTagRE keeps "channel-<name>" a valid tag (at most 128 bytes).
var channelTagRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func tagOf(ref string) (string, error) {
	if ref == repository.LatestRef {
		return "latest", nil
	}
	if rev, ok := strings.CutPrefix(ref, "snapshots/"); ok && revisionRE.MatchString(rev) {
		return "rev-" + rev, nil
	}
	if ch, ok := strings.CutPrefix(ref, "channels/"); ok && channelTagRE.MatchString(ch) {
		return "channel-" + ch, nil
	}
	return "", fmt.Errorf("reference %q has no tag: only %s, snapshots/<revision> and channels/<name> have", ref, repository.LatestRef)
}

// refConfig is the config blob of a reference artifact.
type refConfig struct {
	Name string `json:"name"`
}

// GetRef implements repository.Store: it reads the manifest tagged for
// ref and the blob of its one layer.
func (s *Store) GetRef(ctx context.Context, ref string) ([]byte, error) {
	tag, err := tagOf(ref)
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	b, _, err := s.getRef(ctx, tag)
	if errors.Is(err, errNoTag) {
		err = fmt.Errorf("reference %s: %w", ref, repository.ErrNotFound)
	}
	return b, s.wrap("get reference", ":"+tag, err)
}

// errNoTag: the tag does not exist.
var errNoTag = errors.New("no such tag")

// getRef reads the value under tag and the digest of its manifest.
func (s *Store) getRef(ctx context.Context, tag string) ([]byte, v1.Hash, error) {
	d, err := s.puller.Get(ctx, s.repo.Tag(tag))
	if isNotFound(err) {
		return nil, v1.Hash{}, errNoTag
	} else if err != nil {
		return nil, v1.Hash{}, err
	}
	if d.MediaType != types.OCIManifestSchema1 {
		return nil, v1.Hash{}, fmt.Errorf("%w: manifest of type %s", ErrBadReference, d.MediaType)
	}
	m, err := v1.ParseManifest(bytes.NewReader(d.Manifest))
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("%w: %v", ErrBadReference, err)
	}
	switch {
	case m.Config.MediaType != RefConfigMediaType:
		return nil, v1.Hash{}, fmt.Errorf("%w: config of type %s", ErrBadReference, m.Config.MediaType)
	case len(m.Layers) == 0:
		return nil, v1.Hash{}, fmt.Errorf("%w: no layers", ErrBadReference)
	case m.Layers[0].MediaType != SnapshotMediaType:
		return nil, v1.Hash{}, fmt.Errorf("%w: layer of type %s", ErrBadReference, m.Layers[0].MediaType)
	case m.Layers[0].Size > index.MaxRefSize:
		return nil, v1.Hash{}, fmt.Errorf("%w: %w", ErrBadReference, index.TooLarge(fmt.Sprintf("layer of %d bytes", m.Layers[0].Size), index.MaxRefSize))
	}
	open := func(ctx context.Context) (io.ReadCloser, error) {
		l, err := s.puller.Layer(ctx, s.repo.Digest(m.Layers[0].Digest.String()))
		if err != nil {
			return nil, err
		}
		return l.Compressed()
	}
	rc, err := open(ctx)
	if err != nil {
		return nil, v1.Hash{}, fmt.Errorf("layer: %w", err)
	}
	rc = network.Resume(ctx, rc, open)
	defer rc.Close()
	// ggcr checks the digest at the end of the body; the limit lets us
	// check the size.
	b, err := index.ReadLimited(ctx, rc, "layer", m.Layers[0].Size)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if int64(len(b)) != m.Layers[0].Size {
		return nil, v1.Hash{}, fmt.Errorf("layer: got %d bytes, manifest says %d", len(b), m.Layers[0].Size)
	}
	return b, d.Digest, nil
}

// PutRef implements repository.Store: read and compare, write, read back.
// The Store's doc comment says which race this cannot see.
func (s *Store) PutRef(ctx context.Context, ref string, old, data []byte) error {
	tag, err := tagOf(ref)
	if err != nil {
		return fmt.Errorf("oci: %w", err)
	}
	return s.wrap("put reference", ":"+tag, s.putRef(ctx, ref, tag, old, data))
}

func (s *Store) putRef(ctx context.Context, ref, tag string, old, data []byte) error {
	conflict := fmt.Errorf("reference %s: %w", ref, repository.ErrConflict)
	cur, _, err := s.getRef(ctx, tag)
	switch {
	case errors.Is(err, errNoTag):
		if old != nil {
			return conflict
		}
	case err != nil:
		return err
	case old == nil || !bytes.Equal(cur, old):
		return conflict
	}

	refs, err := s.referenced(ctx, data)
	if err != nil {
		return err
	}
	raw, blobs, err := refArtifact(ref, data, refs...)
	if err != nil {
		return err
	}
	for _, l := range blobs {
		if err := s.pusher.Upload(ctx, s.repo, l); err != nil {
			return err
		}
	}
	want, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	t := s.repo.Tag(tag)
	if err := s.pusher.Put(ctx, t, rawManifest(raw)); err != nil {
		return err
	}
	got, err := s.puller.Head(ctx, t)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if got.Digest != want {
		return conflict
	}
	return nil
}

// referenced lists the blobs a snapshot names (its index, and every
// artefact, metadata and compile tree of the index), so that the
// reference's manifest points at them: a revision tag is then a complete
// artifact that registry garbage collection keeps and `oras copy` copies.
// Data that is not a snapshot references nothing more.
func (s *Store) referenced(ctx context.Context, data []byte) ([]v1.Descriptor, error) {
	env, err := index.DecodeSigned(data)
	if err != nil {
		return nil, nil
	}
	var snap index.Snapshot
	if json.Unmarshal(env.Payload, &snap) != nil || snap.Index.Digest == "" {
		return nil, nil
	}
	rc, err := s.GetBlob(ctx, snap.Index.Digest)
	if err != nil {
		return nil, fmt.Errorf("index of the snapshot: %w", err)
	}
	defer rc.Close()
	vr, err := index.VerifyBlob(snap.Index, rc)
	if err != nil {
		return nil, err
	}
	b, err := index.ReadLimited(ctx, vr, "index of the snapshot", min(snap.Index.Size, index.MaxIndexSize))
	if err != nil {
		return nil, err
	}
	idx, err := index.DecodeIndex(b)
	if err != nil {
		return nil, err
	}
	blobs := []index.Blob{snap.Index}
	if idx.Tree != nil {
		blobs = append(blobs, *idx.Tree)
	}
	for _, p := range idx.Packages {
		// An artefact kept in another repository is not a blob of this one.
		if p.Artefact != nil && p.Source == "" {
			blobs = append(blobs, *p.Artefact)
		}
		blobs = append(blobs, p.Metadata)
	}
	seen := map[string]bool{}
	var out []v1.Descriptor
	for _, bl := range blobs {
		if seen[bl.Digest] {
			continue
		}
		seen[bl.Digest] = true
		h, err := v1.NewHash(bl.Digest)
		if err != nil {
			return nil, err
		}
		mt := bl.MediaType
		if mt == "" {
			mt = string(blobMediaType)
		}
		out = append(out, v1.Descriptor{MediaType: types.MediaType(mt), Size: bl.Size, Digest: h})
	}
	return out, nil
}

// refArtifact is the manifest of the artifact holding data as reference
// ref: its config, the data as its first layer, then the blobs the data
// references.
func refArtifact(ref string, data []byte, refs ...v1.Descriptor) ([]byte, []v1.Layer, error) {
	cb, err := json.Marshal(refConfig{Name: ref})
	if err != nil {
		return nil, nil, err
	}
	cfg := static.NewLayer(cb, RefConfigMediaType)
	layer := static.NewLayer(data, SnapshotMediaType)
	cd, err := partial.Descriptor(cfg)
	if err != nil {
		return nil, nil, err
	}
	ld, err := partial.Descriptor(layer)
	if err != nil {
		return nil, nil, err
	}
	ld.Annotations = map[string]string{titleAnnotation: snapshotTitle}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        *cd,
		Layers:        append([]v1.Descriptor{*ld}, refs...),
	}
	raw, err := json.Marshal(m)
	return raw, []v1.Layer{layer, cfg}, err
}

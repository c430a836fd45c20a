package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/internal/network"
	"github.com/etk-build/etk/repository/index"
)

// Media types of the parts of a cache artifact.
const (
	ConfigMediaType   types.MediaType = "application/vnd.etk.package.config.v1+json"
	ArtefactMediaType types.MediaType = index.MediaTypeArtefact
	MetadataMediaType types.MediaType = index.MediaTypeMetadata
)

const (
	titleAnnotation = "org.opencontainers.image.title"
)

var keyRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Cache is a remote build cache: one OCI artifact per build key, tagged
// with the key, in one repository. It is safe for concurrent use.
type Cache struct {
	repo   name.Repository
	puller *remote.Puller
	pusher *remote.Pusher
}

// NewCache returns the cache kept in repo, like "127.0.0.1:5000/etk/cache"
// or "ghcr.io/org/cache". Loopback and localhost registries are spoken to
// over plain HTTP, the others over HTTPS. It makes no request.
func NewCache(repo string, opts ...Option) (*Cache, error) {
	c, err := connect(repo, opts)
	if err != nil {
		return nil, err
	}
	return &Cache{repo: c.repo, puller: c.puller, pusher: c.pusher}, nil
}

// client is what the cache and the store share: a repository and the
// puller and pusher that speak to it.
type client struct {
	repo   name.Repository
	puller *remote.Puller
	pusher *remote.Pusher
}

// connect sets up a client of repo; it makes no request.
func connect(repo string, opts []Option) (*client, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	shown := shownRepo(repo)
	repo, auth, hasUser := splitUser(repo)
	r, err := name.NewRepository(repo)
	if err != nil {
		// ggcr's message quotes its input.
		return nil, fmt.Errorf("oci: bad repository %q: %s", shown, strings.ReplaceAll(err.Error(), repo, shown))
	}
	keychain := o.keychain
	if hasUser {
		keychain = hostKeychain{registry: r.RegistryStr(), auth: auth, next: o.keychain}
	}
	ropts := []remote.Option{
		remote.WithAuthFromKeychain(keychain),
		remote.WithTransport(o.transport),
		remote.WithRetryBackoff(o.backoff),
		remote.WithRetryPredicate(retryable),
		remote.WithUserAgent("etk"),
	}
	puller, err := remote.NewPuller(ropts...)
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	pusher, err := remote.NewPusher(ropts...)
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	return &client{repo: r, puller: puller, pusher: pusher}, nil
}

// String is the repository, as in "127.0.0.1:5000/etk/cache".
func (c *Cache) String() string { return c.repo.String() }

// config is the artifact's config blob.
type config struct {
	Key string `json:"key"`
	ID  string `json:"id"`
}

// Fetch looks key up. When it is there, Fetch downloads the artefact (if
// any) to w.ArtefactPath() and then writes the metadata, byte for byte as
// pushed, and returns true; committing w is left to the caller. When it is
// not, Fetch returns false and a nil error. On error Fetch leaves nothing
// in w, and the caller should Abort it.
//
// Blobs are checked against the manifest's digests and sizes as they are
// read, so a corrupted download is an error, never an entry.
func (c *Cache) Fetch(ctx context.Context, key string, w *cache.Writer) (bool, error) {
	ok, err := c.fetch(ctx, key, w)
	return ok, c.wrap("fetch", key, err)
}

func (c *Cache) fetch(ctx context.Context, key string, w *cache.Writer) (bool, error) {
	if !keyRE.MatchString(key) {
		return false, errors.New("bad key")
	}
	d, err := c.puller.Get(ctx, c.repo.Tag(key))
	if isNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	meta, art, err := parseManifest(d)
	if err != nil {
		return false, err
	}
	raw, err := c.readMetadata(ctx, meta)
	if err != nil {
		return false, fmt.Errorf("metadata: %w", err)
	}
	var md build.Metadata
	if err := json.Unmarshal(raw, &md); err != nil {
		return false, fmt.Errorf("%w: metadata: %v", ErrBadArtifact, err)
	}
	if md.Key != key {
		return false, fmt.Errorf("%w: metadata is of key %q", ErrBadArtifact, md.Key)
	}
	switch {
	case art == nil && md.Artefact != nil:
		return false, fmt.Errorf("%w: artefact layer missing", ErrBadArtifact)
	case art != nil && md.Artefact == nil:
		return false, fmt.Errorf("%w: artefact layer of a package without artefact", ErrBadArtifact)
	case art != nil && md.Artefact.Digest != art.Digest.String():
		return false, fmt.Errorf("%w: artefact layer %s, metadata says %s", ErrBadArtifact, art.Digest, md.Artefact.Digest)
	}
	if art != nil {
		if err := c.download(ctx, *art, w.ArtefactPath()); err != nil {
			return false, fmt.Errorf("artefact: %w", err)
		}
	}
	// The metadata goes last: a writer holding it holds a whole entry.
	// WriteMetadata re-indents the JSON, which gives back the bytes the
	// local cache wrote.
	if err := w.WriteMetadata(json.RawMessage(raw)); err != nil {
		os.Remove(w.ArtefactPath())
		return false, fmt.Errorf("metadata: %w", err)
	}
	return true, nil
}

// parseManifest checks that d is an etk cache artifact and returns its
// metadata and artefact (nil if none) layers.
func parseManifest(d *remote.Descriptor) (meta v1.Descriptor, art *v1.Descriptor, err error) {
	if d.MediaType != types.OCIManifestSchema1 {
		return meta, nil, fmt.Errorf("%w: manifest of type %s", ErrBadArtifact, d.MediaType)
	}
	m, err := v1.ParseManifest(bytes.NewReader(d.Manifest))
	if err != nil {
		return meta, nil, fmt.Errorf("%w: %v", ErrBadArtifact, err)
	}
	if m.Config.MediaType != ConfigMediaType {
		return meta, nil, fmt.Errorf("%w: config of type %s", ErrBadArtifact, m.Config.MediaType)
	}
	var metas int
	for i, l := range m.Layers {
		switch l.MediaType {
		case MetadataMediaType:
			meta = l
			metas++
		case ArtefactMediaType:
			if art != nil {
				return meta, nil, fmt.Errorf("%w: two artefact layers", ErrBadArtifact)
			}
			art = &m.Layers[i]
		default:
			return meta, nil, fmt.Errorf("%w: layer of type %s", ErrBadArtifact, l.MediaType)
		}
	}
	if metas != 1 {
		return meta, nil, fmt.Errorf("%w: %d metadata layers", ErrBadArtifact, metas)
	}
	if meta.Size > index.MaxMetadataSize {
		return meta, nil, fmt.Errorf("%w: %w", ErrBadArtifact, index.TooLarge(fmt.Sprintf("metadata of %d bytes", meta.Size), index.MaxMetadataSize))
	}
	return meta, art, nil
}

// blob opens the blob of d. ggcr checks the digest when the body ends;
// reading at most one byte past the manifest's size lets the caller check
// the size.
func (c *Cache) blob(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	open := func(ctx context.Context) (io.ReadCloser, error) {
		l, err := c.puller.Layer(ctx, c.repo.Digest(d.Digest.String()))
		if err != nil {
			return nil, err
		}
		return l.Compressed()
	}
	rc, err := open(ctx)
	if err != nil {
		return nil, err
	}
	// A body dropped mid-way is opened again and resumed.
	rc = network.Resume(ctx, rc, open)
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, d.Size+1), rc}, nil
}

func (c *Cache) readMetadata(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	rc, err := c.blob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := index.ReadLimited(ctx, rc, "metadata", d.Size)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("got %d bytes, manifest says %d", len(b), d.Size)
	}
	return b, nil
}

// download copies the blob of d to path, which it removes on error.
func (c *Cache) download(ctx context.Context, d v1.Descriptor, path string) (err error) {
	rc, err := c.blob(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
		}
	}()
	n, err := io.Copy(f, index.ContextReader(ctx, rc))
	if err != nil {
		return err
	}
	if n > d.Size {
		return index.TooLarge(fmt.Sprintf("artefact %s", d.Digest), d.Size)
	}
	if n != d.Size {
		return fmt.Errorf("got %d bytes, manifest says %d", n, d.Size)
	}
	return f.Close()
}

// Push uploads entry e as the artifact tagged e.Key. A key already there
// is left alone: keys name content. Blobs the repository holds are not
// uploaded again.
func (c *Cache) Push(ctx context.Context, e *cache.Entry) error {
	return c.wrap("push", e.Key, c.push(ctx, e))
}

func (c *Cache) push(ctx context.Context, e *cache.Entry) error {
	if !keyRE.MatchString(e.Key) {
		return errors.New("bad key")
	}
	tag := c.repo.Tag(e.Key)
	if _, err := c.puller.Head(ctx, tag); err == nil {
		return nil
	} else if !isNotFound(err) {
		return err
	}

	raw, err := os.ReadFile(e.Metadata)
	if err != nil {
		return err
	}
	var md build.Metadata
	if err := json.Unmarshal(raw, &md); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if md.Key != e.Key {
		return fmt.Errorf("metadata is of key %q", md.Key)
	}

	var layers []v1.Layer
	var titles []string
	if e.Artefact != "" {
		l, err := artefactLayer(e.Artefact, &md)
		if err != nil {
			return fmt.Errorf("artefact: %w", err)
		}
		layers, titles = append(layers, l), append(titles, "artefact.tar.zst")
	} else if md.Artefact != nil {
		return errors.New("metadata names an artefact the entry does not have")
	}
	layers, titles = append(layers, static.NewLayer(raw, MetadataMediaType)), append(titles, "metadata.json")
	cb, err := json.Marshal(config{Key: e.Key, ID: md.ID})
	if err != nil {
		return err
	}
	cfg := static.NewLayer(cb, ConfigMediaType)

	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Annotations:   map[string]string{titleAnnotation: md.ID},
	}
	for i, l := range append(layers, cfg) {
		if err := c.pusher.Upload(ctx, c.repo, l); err != nil {
			return err
		}
		d, err := partial.Descriptor(l)
		if err != nil {
			return err
		}
		if i == len(layers) {
			m.Config = *d
			break
		}
		d.Annotations = map[string]string{titleAnnotation: titles[i]}
		m.Layers = append(m.Layers, *d)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.pusher.Push(ctx, tag, rawManifest(b))
}

// artefactLayer is the artefact file as a layer, read from disk when
// uploaded. Its digest comes from the metadata when there (the registry
// checks it on upload), else from reading the file.
func artefactLayer(path string, md *build.Metadata) (v1.Layer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	l := &fileLayer{path: path, size: fi.Size()}
	if md.Artefact != nil && md.Artefact.Digest != "" {
		if md.Artefact.Size != fi.Size() {
			return nil, fmt.Errorf("%d bytes, metadata says %d", fi.Size(), md.Artefact.Size)
		}
		if l.digest, err = v1.NewHash(md.Artefact.Digest); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if l.digest, l.size, err = v1.SHA256(f); err != nil {
			return nil, err
		}
	}
	return partial.CompressedToLayer(l)
}

// fileLayer is a partial.CompressedLayer backed by a file.
type fileLayer struct {
	path   string
	digest v1.Hash
	size   int64
}

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return ArtefactMediaType, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

// rawManifest is a manifest to PUT as is.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

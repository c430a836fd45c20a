package oci

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"regexp"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/etk-build/etk/internal/network"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// Store is an etk repository (repository.Store) kept in one repository of
// an OCI registry. It is safe for concurrent use.
//
// # Blobs
//
// Every blob of the etk repository (artefacts, metadata, indexes, signed
// snapshots) is a blob of the registry repository, under its own digest.
// Uploads stream from the caller's reader and are checked against the
// digest twice: while read, and by the registry when committed.
//
// # References
//
// A reference is a tag holding a small OCI artifact:
//
//	latest          -> tag latest
//	snapshots/<N>   -> tag rev-<N>   (N a revision: 1, 2, ..., no leading zeros)
//
// Other names have no tag and are refused. The tag's manifest is an OCI
// image manifest whose config (application/vnd.etk.ref.v1+json) is
// {"name":"<reference>"} and whose only layer
// (application/vnd.etk.snapshot.v1.dsse+json, titled snapshot.dsse.json)
// is the reference's bytes: the signed snapshot, the same blob Publish
// uploads under its digest. So `oras manifest fetch` and `oras pull` of
// repo:rev-12 show and fetch the snapshot of revision 12. The manifest
// depends only on the name and the bytes: two writers of the same value
// write the same manifest.
//
// # Compare-and-swap, and its limit
//
// Registries cannot update a tag conditionally, so PutRef does its best
// in three steps: read the tag and compare its value with old (nil: the
// tag must not exist); write the new manifest under the tag; read the tag
// back, and return repository.ErrConflict when it names another manifest
// than ours. A writer that lands between our write and our read-back is
// seen, and we report the conflict. What cannot be seen is a writer whose
// whole write and read-back fall between our read and our write: we
// overwrite its value, both writers think they won, and the last one
// keeps the tag. Publish writes rev-N tags with old nil and never rewrites
// them, so for two publishers to both "create" rev-N they must pick the
// same revision and interleave exactly so, within the few milliseconds
// between a read and a write; in every other interleaving one of them
// sees the tag taken or the read-back differ and Publish retries with the
// next revision. When it does happen, rev-N holds the last writer's
// snapshot while latest may link to the other's (readers verify the
// signature of whichever they get; the link by digest no longer leads to
// rev-N). The same race on latest drops one publisher's move of latest:
// latest names the last writer's revision, whose previous link skips the
// other's. Registries that answer reads from a lagging cache widen the
// window. Publishers that must never race should be serialised outside
// the registry (one CI job at a time), or publish to a folder repository
// (repository/dir), whose references are swapped under a lock. The
// store conformance suite (repository/storetest, with BestEffortCAS)
// checks what this promises and shows the limit under contention: eight
// writers incrementing one reference in a tight loop lose increments, and
// more than one of eight writers creating one tag at once can be told it
// won; the final value is always one whose writer was told it won.
//
// # Garbage collection
//
// Artefact, metadata and index blobs are referenced by no manifest, only
// by the signed index and snapshots. A registry's garbage collector
// (distribution's `registry garbage-collect`, retention policies of
// hosted registries) deletes such blobs: keep it off the repositories
// holding etk repositories.
type Store struct {
	repo   name.Repository
	puller *remote.Puller
	pusher *remote.Pusher
}

var _ repository.Store = (*Store)(nil)

// Media types of the reference artifacts.
const (
	RefConfigMediaType types.MediaType = "application/vnd.etk.ref.v1+json"
	SnapshotMediaType  types.MediaType = index.MediaTypeSigned
)

// ErrBadReference: a tag of a reference names something that is not an
// etk reference artifact.
var ErrBadReference = errors.New("not an etk reference artifact")

const (
	// blobMediaType is what uploads of blobs declare; registries store
	// blobs without a type, and only manifests say what they are.
	blobMediaType types.MediaType = "application/octet-stream"
	snapshotTitle string          = "snapshot.dsse.json"
)

// NewStore returns the etk repository kept in repo, like
// "127.0.0.1:5000/etk/foundation" or "ghcr.io/org/foundation". Loopback
// and localhost registries are spoken to over plain HTTP, the others over
// HTTPS. Credentials come from the Docker config and its helpers unless
// WithKeychain says otherwise. It makes no request.
func NewStore(repo string, opts ...Option) (*Store, error) {
	c, err := connect(repo, opts)
	if err != nil {
		return nil, err
	}
	return &Store{repo: c.repo, puller: c.puller, pusher: c.pusher}, nil
}

// String is the repository, as in "127.0.0.1:5000/etk/foundation".
func (s *Store) String() string { return s.repo.String() }

// wrap makes err safe to log, naming the operation and what it was on
// ("@sha256:..." or ":tag").
func (s *Store) wrap(op, what string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{msg: fmt.Sprintf("oci: %s %s%s: %s", op, s.repo, what, describe(err)), err: err}
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func parseDigest(digest string) (v1.Hash, error) {
	if !digestRE.MatchString(digest) {
		return v1.Hash{}, fmt.Errorf("bad digest %q", digest)
	}
	return v1.NewHash(digest)
}

// HasBlob implements repository.Store with a HEAD of the blob.
func (s *Store) HasBlob(ctx context.Context, digest string) (bool, error) {
	ok, err := s.hasBlob(ctx, digest)
	return ok, s.wrap("stat blob", "@"+digest, err)
}

func (s *Store) hasBlob(ctx context.Context, digest string) (bool, error) {
	if _, err := parseDigest(digest); err != nil {
		return false, err
	}
	l, err := s.puller.Layer(ctx, s.repo.Digest(digest))
	if err != nil {
		return false, err
	}
	// A remote layer's Size is a HEAD of the blob.
	if _, err := l.Size(); isNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// GetBlob implements repository.Store. The reader streams the blob from
// the registry; ggcr fails its last Read when the digest does not match,
// and callers verify what they read anyway.
func (s *Store) GetBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	rc, err := s.getBlob(ctx, digest)
	return rc, s.wrap("get blob", "@"+digest, err)
}

func (s *Store) getBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	if _, err := parseDigest(digest); err != nil {
		return nil, err
	}
	open := func(ctx context.Context) (io.ReadCloser, error) {
		l, err := s.puller.Layer(ctx, s.repo.Digest(digest))
		if err != nil {
			return nil, err
		}
		return l.Compressed()
	}
	rc, err := open(ctx)
	if isNotFound(err) {
		return nil, repository.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &opReader{rc: network.Resume(ctx, rc, open), wrap: func(err error) error { return s.wrap("get blob", "@"+digest, err) }}, nil
}

// opReader makes the errors of a body safe to log and names what it is.
type opReader struct {
	rc   io.ReadCloser
	wrap func(error) error
}

func (r *opReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF {
		err = r.wrap(err)
	}
	return n, err
}

func (r *opReader) Close() error { return r.rc.Close() }

// PutBlob implements repository.Store. A blob the registry holds is not
// uploaded again. Content is never held in memory: a reader that is also
// an io.ReaderAt and an io.Seeker (a file, a bytes.Reader) is read in
// place from its current offset, as many times as retries need; another
// reader is first copied to a temporary file. A negative size means
// unknown.
func (s *Store) PutBlob(ctx context.Context, digest string, size int64, r io.Reader) error {
	return s.wrap("put blob", "@"+digest, s.putBlob(ctx, digest, size, r))
}

func (s *Store) putBlob(ctx context.Context, digest string, size int64, r io.Reader) error {
	h, err := parseDigest(digest)
	if err != nil {
		return err
	}
	ra, isRA := r.(io.ReaderAt)
	sk, isSeeker := r.(io.Seeker)
	var src io.ReaderAt
	if isRA && isSeeker && size >= 0 {
		off, err := sk.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		// A longer source is refused here: the upload sends size bytes,
		// and a registry may take them (they have the digest) before
		// the byte past them fails the request.
		if n, _ := ra.ReadAt(make([]byte, 1), off+size); n > 0 {
			return fmt.Errorf("content is longer than %d bytes", size)
		}
		// One byte past the size, to tell a source that grows.
		src = io.NewSectionReader(ra, off, size+1)
	} else {
		// Spare a copy of what the registry has.
		if ok, err := s.hasBlob(ctx, digest); err != nil || ok {
			return err
		}
		f, n, err := spool(ctx, r, h, size)
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		src, size = f, n
	}
	l, err := partial.CompressedToLayer(&readerAtLayer{src: src, digest: h, size: size, mediaType: blobMediaType})
	if err != nil {
		return err
	}
	return s.pusher.Upload(ctx, s.repo, l)
}

// spool copies r to a temporary file, checking that it has digest h and
// (unless negative) size, until ctx is done: a source that never ends
// would otherwise fill the disk.
func spool(ctx context.Context, r io.Reader, h v1.Hash, size int64) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "etk-blob-*")
	if err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(f, &verifier{r: index.ContextReader(ctx, r), want: h, size: size, h: sha256.New()})
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return f, n, nil
}

// readerAtLayer is a partial.CompressedLayer whose bytes are read from an
// io.ReaderAt, afresh for each try of an upload, and checked against its
// digest and size on the way.
type readerAtLayer struct {
	src       io.ReaderAt
	digest    v1.Hash
	size      int64
	mediaType types.MediaType
}

func (l *readerAtLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *readerAtLayer) Size() (int64, error)                { return l.size, nil }
func (l *readerAtLayer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Compressed reads with ReadAt, which leaves the source's offset alone,
// so a body the HTTP client still drains can't disturb the next try's.
func (l *readerAtLayer) Compressed() (io.ReadCloser, error) {
	r := io.NewSectionReader(l.src, 0, l.size+1)
	return io.NopCloser(&verifier{r: r, want: l.digest, size: l.size, h: sha256.New()}), nil
}

// verifier passes r through and, instead of io.EOF, returns an error when
// what it read is not size (if not negative) bytes of digest want.
type verifier struct {
	r    io.Reader
	want v1.Hash
	size int64
	h    hash.Hash
	n    int64
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		return n, fmt.Errorf("content is longer than %d bytes", v.size)
	}
	if err == io.EOF {
		if v.size >= 0 && v.n != v.size {
			return n, fmt.Errorf("content has %d bytes, want %d", v.n, v.size)
		}
		if got := fmt.Sprintf("sha256:%x", v.h.Sum(nil)); got != v.want.String() {
			return n, fmt.Errorf("content has digest %s", got)
		}
	}
	return n, err
}

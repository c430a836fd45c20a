package image

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/etk-build/etk/compiler/artifact"
)

// gzipLevel is fixed: the layer digests depend on it.
const gzipLevel = 6

// unit is what one layer holds: the artefact of one package, or of a run
// of packages merged.
type unit struct {
	pkgs    []Layer
	epoch   time.Time // mtime of a merged layer's entries
	tempDir string
}

func (u *unit) ids() []string {
	ids := make([]string, len(u.pkgs))
	for i, p := range u.pkgs {
		ids[i] = p.ID
	}
	return ids
}

// write writes the unit's layer tar to w.
func (u *unit) write(ctx context.Context, w io.Writer) error {
	if len(u.pkgs) == 1 {
		if err := convert(ctx, u.pkgs[0], w); err != nil {
			return fmt.Errorf("package %s: %w", u.pkgs[0].ID, err)
		}
		return nil
	}
	openers := make([]artifact.Opener, len(u.pkgs))
	for i, p := range u.pkgs {
		openers[i] = func() (io.ReadCloser, error) { return decompress(p) }
	}
	pr, pw := io.Pipe()
	merged := make(chan error, 1)
	go func() {
		_, err := artifact.Delta(ctx, openers, artifact.Spec{Epoch: u.epoch, TempDir: u.tempDir}, pw)
		pw.CloseWithError(err)
		merged <- err
	}()
	// Delta's output is this process's own artefact, made of bounded
	// reads of the packages' artefacts.
	zr, zerr := zstd.NewReader(pipeEnd{pr}, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20))
	err := zerr
	if err == nil {
		err = convertTar(ctx, zr.IOReadCloser(), w)
	}
	pr.CloseWithError(errAbandoned)
	if merr := <-merged; merr != nil && !errors.Is(merr, errAbandoned) {
		err = merr
	}
	if err != nil {
		return fmt.Errorf("packages %s: %w", strings.Join(u.ids(), ", "), err)
	}
	return nil
}

// errAbandoned ends a writer whose reader went away.
var errAbandoned = errors.New("reader closed")

// pipeEnd is a pipe's reader whose Close tells the writer errAbandoned.
type pipeEnd struct{ *io.PipeReader }

func (p pipeEnd) Close() error { return p.CloseWithError(errAbandoned) }

// mergeEpoch is the latest mtime of the artefacts of a merged unit. Every
// entry of an artefact has the same mtime, so the first one says it.
func (u *unit) mergeEpoch(ctx context.Context) error {
	for _, p := range u.pkgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := decompress(p)
		if err != nil {
			return fmt.Errorf("package %s: %w", p.ID, err)
		}
		h, err := tar.NewReader(rc).Next()
		rc.Close()
		switch {
		case err == io.EOF:
			continue
		case err != nil:
			return fmt.Errorf("package %s: %w: %v", p.ID, ErrBadArtefact, err)
		}
		if h.ModTime.After(u.epoch) {
			u.epoch = h.ModTime
		}
	}
	return nil
}

// convert reads a package's artefact and writes it to w as a layer tar,
// then reads the zstd frame to its end, which checks its checksum.
func convert(ctx context.Context, p Layer, w io.Writer) error {
	rc, err := decompress(p)
	if err != nil {
		return err
	}
	return convertTar(ctx, rc, w)
}

// convertTar converts the tar rc (which it closes) to a layer tar.
func convertTar(ctx context.Context, rc io.ReadCloser, w io.Writer) error {
	defer rc.Close()
	if err := toLayer(ctx, rc, w); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("%w: %w", ErrBadArtefact, err)
	}
	return nil
}

type tarReadCloser struct {
	io.ReadCloser
	src io.Closer
}

func (t tarReadCloser) Close() error {
	t.ReadCloser.Close()
	return t.src.Close()
}

// decompress opens a package's artefact and returns its tar, bounded by
// its metadata (artifact.Decompress): an artefact cannot make a layer
// larger than the metadata promises.
func decompress(p Layer) (io.ReadCloser, error) {
	rc, err := p.Artefact()
	if err != nil {
		return nil, err
	}
	var src io.Reader = rc
	if p.Metadata != nil && p.Metadata.Digest != "" {
		src = &artefactVerifier{r: rc, h: sha256.New(), want: p.Metadata.Digest, id: p.ID}
	}
	tr, err := artifact.Decompress(src, p.Metadata)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("%w: %w", ErrBadArtefact, err)
	}
	return tarReadCloser{tr, rc}, nil
}

// artefactVerifier fails at the end of an artefact that is not the one
// its metadata names: the bytes Build checked are the bytes it reads.
type artefactVerifier struct {
	r    io.Reader
	h    hash.Hash
	want string
	id   string
}

func (v *artefactVerifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("%w: package %s: artefact %s, its metadata names %s", ErrArtefactChanged, v.id, got, v.want)
		}
	}
	return n, err
}

// checkArtefact reads a package's artefact once against its metadata
// (artifact.Expect): an entry the metadata does not list, or lists
// otherwise, never reaches a layer.
func checkArtefact(ctx context.Context, p Layer) error {
	rc, err := p.Artefact()
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := artifact.Walk(ctx, rc, nil, artifact.Expect(p.Metadata)); err != nil {
		return fmt.Errorf("%w: %w", ErrBadArtefact, err)
	}
	return nil
}

// layer is a v1.Layer whose bytes are made again from its unit on each
// read, and checked against what Build measured.
type layer struct {
	u              *unit
	digest, diffID v1.Hash
	size           int64
}

var _ v1.Layer = (*layer)(nil)

// measure makes u's layer once to learn its digests and size.
func measure(ctx context.Context, u *unit) (*layer, error) {
	diffID, digest := sha256.New(), sha256.New()
	size := &counter{}
	gz, err := gzip.NewWriterLevel(io.MultiWriter(digest, size), gzipLevel)
	if err != nil {
		return nil, err
	}
	if err := u.write(ctx, io.MultiWriter(diffID, gz)); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return &layer{u: u, digest: hashOf(digest), diffID: hashOf(diffID), size: size.n}, nil
}

func (l *layer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *layer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *layer) Size() (int64, error)                { return l.size, nil }
func (l *layer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

// Compressed implements v1.Layer. A layer may be gigabytes, so nothing is
// kept: each call makes the bytes again.
func (l *layer) Compressed() (io.ReadCloser, error) {
	rc := pipe(func(ctx context.Context, w io.Writer) error {
		gz, err := gzip.NewWriterLevel(w, gzipLevel)
		if err != nil {
			return err
		}
		if err := l.u.write(ctx, gz); err != nil {
			return err
		}
		return gz.Close()
	})
	return &verifier{rc: rc, h: sha256.New(), want: l.digest, size: l.size, what: "layer " + l.digest.String()}, nil
}

// Uncompressed implements v1.Layer.
func (l *layer) Uncompressed() (io.ReadCloser, error) {
	rc := pipe(l.u.write)
	return &verifier{rc: rc, h: sha256.New(), want: l.diffID, size: -1, what: "layer with diff ID " + l.diffID.String()}, nil
}

// pipe runs fn in a goroutine and returns what it writes. Closing the
// reader early cancels fn's context and waits for fn to return, so that
// nothing (Delta's spool) outlives the read.
func pipe(fn func(ctx context.Context, w io.Writer) error) io.ReadCloser {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(fn(ctx, pw))
	}()
	return &pipeReader{pr: pr, cancel: cancel, done: done}
}

type pipeReader struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
}

func (p *pipeReader) Read(b []byte) (int, error) { return p.pr.Read(b) }

func (p *pipeReader) Close() error {
	p.cancel()
	p.pr.CloseWithError(errAbandoned)
	<-p.done
	return nil
}

// verifier fails the read that reaches the end of other bytes than want.
type verifier struct {
	rc   io.ReadCloser
	h    hash.Hash
	n    int64
	want v1.Hash
	size int64 // -1: not checked
	what string
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if got := hashOf(v.h); got != v.want || (v.size >= 0 && v.n != v.size) {
			return n, fmt.Errorf("%w: %s: read %d bytes of %s", ErrArtefactChanged, v.what, v.n, got)
		}
	}
	return n, err
}

func (v *verifier) Close() error { return v.rc.Close() }

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

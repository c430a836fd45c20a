package index

import (
	"context"
	"fmt"
	"io"
)

// Limits of the bytes read from a repository before (or while) they are
// verified. Every store (repository/dir, repository/httpstore,
// repository/oci) and every decoder holds a read to the limit of its kind,
// so that a hostile or broken mirror can make a read fail but never fill
// memory or disk: a reference is read into memory only up to
// MaxRefSize; the signed snapshot then names the index by size, which
// may not exceed MaxIndexSize; the index names every metadata.json and
// compile tree by size, which may not exceed MaxMetadataSize and
// MaxTreeSize; artefacts are streamed, never held in memory, and a
// stream stops one byte past the size the signed index gives
// (VerifyBlob). docs/security.md lists them.
const (
	// MaxRefSize bounds a reference: a signed snapshot (about a
	// kilobyte) or a channel (about 300 bytes a version).
	MaxRefSize = MaxSignedSize
	// MaxSignedSize bounds a signed envelope, a snapshot or a channel.
	MaxSignedSize = 1 << 20
	// MaxIndexSize bounds an index.json (about 700 bytes a package).
	MaxIndexSize = 128 << 20
	// MaxMetadataSize bounds a package's metadata.json, which lists every
	// file of its artefact.
	MaxMetadataSize = 256 << 20
	// MaxTreeSize bounds a compile tree (the rendered specs and values a
	// derivative builds on), compressed; MaxTreeFileSize bounds one file
	// of it, expanded, and MaxTreeExpandedSize all its files together.
	MaxTreeSize         = 256 << 20
	MaxTreeFileSize     = 64 << 20
	MaxTreeExpandedSize = 1 << 30
	// MaxKeyFileSize bounds a key file (one line).
	MaxKeyFileSize = 64 << 10
)

// TooLarge returns the error of what (a reference, a blob, a file) being
// larger than limit bytes; it names both.
func TooLarge(what string, limit int64) error {
	return &tooLarge{what: what, limit: limit}
}

type tooLarge struct {
	what  string
	limit int64
}

func (e *tooLarge) Error() string {
	return fmt.Sprintf("%s: larger than %s, the limit etk sets for it", e.what, humanBytes(e.limit))
}

// Is makes errors.Is(err, ErrTooLarge) hold.
func (e *tooLarge) Is(target error) bool { return target == ErrTooLarge }

// ReadLimited reads all of r into memory, at most limit bytes: more is a
// TooLarge error naming what. It stops as soon as ctx is done.
func ReadLimited(ctx context.Context, r io.Reader, what string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(ContextReader(ctx, r), limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, TooLarge(what, limit)
	}
	return b, nil
}

// ContextReader is r, failing with ctx's error once ctx is done, so that
// a read that never ends (a device, a stalled peer without deadlines) is
// stopped by a cancel or a signal.
func ContextReader(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r
	}
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

package repository

import (
	"context"
	"errors"
	"io"
)

// Store is where a repository's bytes live: content-addressed blobs, and a
// few named references (snapshots/<revision>, latest) that point at them.
type Store interface {
	// HasBlob reports whether the blob of digest ("sha256:<hex>") exists.
	HasBlob(ctx context.Context, digest string) (bool, error)
	// PutBlob stores a blob, verifying size and digest; it is a no-op
	// when the blob exists.
	PutBlob(ctx context.Context, digest string, size int64, r io.Reader) error
	// GetBlob opens a blob. Callers verify what they read.
	GetBlob(ctx context.Context, digest string) (io.ReadCloser, error)
	// GetRef reads a reference, or returns ErrNotFound.
	GetRef(ctx context.Context, name string) ([]byte, error)
	// PutRef sets a reference when its current value is old (nil: when it
	// does not exist yet), atomically; otherwise it returns ErrConflict.
	PutRef(ctx context.Context, name string, old, data []byte) error
}

var (
	// ErrNotFound: no such blob or reference.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a reference changed under us (another publisher).
	ErrConflict = errors.New("reference changed concurrently")
)

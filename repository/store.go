package repository

import (
	"context"
	"errors"
	"io"
)

// ReadOnlyStore is where a repository's bytes are read from:
// content-addressed blobs, and a few named references (latest,
// snapshots/<revision>, channels/<name>) that point at them. Readers
// (Open, ReadChannel, an Upstream, install) need no more; a web server or
// a mirror is only this (repository/httpstore). Nothing read is trusted:
// the reader verifies a reference's signature and every blob against the
// digest and size the signed index gives.
//
// Implementations are safe for concurrent use, and stop a read once its
// context is done.
type ReadOnlyStore interface {
	// HasBlob reports whether the blob of digest ("sha256:<hex>") exists.
	HasBlob(ctx context.Context, digest string) (bool, error)
	// GetBlob opens a blob, or returns ErrNotFound. Callers verify what
	// they read (index.VerifyBlob), which also bounds it.
	GetBlob(ctx context.Context, digest string) (io.ReadCloser, error)
	// GetRef reads a reference, or returns ErrNotFound. A reference
	// larger than index.MaxRefSize is an index.ErrTooLarge error.
	GetRef(ctx context.Context, name string) ([]byte, error)
}

// Store is a repository that can also be written: what Publish and
// PublishChannel need (a folder, repository/dir; an OCI registry,
// repository/oci). repository/storetest is the suite every Store passes.
type Store interface {
	ReadOnlyStore
	// PutBlob stores a blob, verifying that r holds size bytes (unless
	// size is negative: unknown) of digest; it is a no-op when the blob
	// exists. A failed or cancelled put leaves no blob behind.
	PutBlob(ctx context.Context, digest string, size int64, r io.Reader) error
	// PutRef sets a reference when its current value is old (nil: when it
	// does not exist yet), atomically; otherwise it returns ErrConflict.
	// A Store whose compare-and-swap has a limit says which in its doc
	// (repository/oci).
	PutRef(ctx context.Context, name string, old, data []byte) error
}

var (
	// ErrNotFound: no such blob or reference.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a reference changed under us (another publisher).
	ErrConflict = errors.New("reference changed concurrently")
)

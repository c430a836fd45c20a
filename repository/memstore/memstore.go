package memstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// Store is a repository in memory. The zero value is not ready: use New.
// It is safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	blobs map[string][]byte
	refs  map[string][]byte
}

var _ repository.Store = (*Store)(nil)

// New returns an empty repository.
func New() *Store {
	return &Store{blobs: map[string][]byte{}, refs: map[string][]byte{}}
}

// The names a folder repository (repository/dir) accepts, so that what
// works here works there.
var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	refRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)
)

func checkDigest(digest string) error {
	if !digestRE.MatchString(digest) {
		return fmt.Errorf("memstore: bad digest %q", digest)
	}
	return nil
}

func checkRef(name string) error {
	if !refRE.MatchString(name) || strings.Contains(name, "..") {
		return fmt.Errorf("memstore: bad reference name %q", name)
	}
	return nil
}

// HasBlob implements repository.ReadOnlyStore.
func (s *Store) HasBlob(ctx context.Context, digest string) (bool, error) {
	if err := checkDigest(digest); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blobs[digest]
	return ok, nil
}

// GetBlob implements repository.ReadOnlyStore. The reader stops when ctx
// is done.
func (s *Store) GetBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: blob %s: %w", digest, err)
	}
	s.mu.Lock()
	b, ok := s.blobs[digest]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("memstore: blob %s: %w", digest, repository.ErrNotFound)
	}
	// Blobs are never changed once stored, so readers share them.
	return io.NopCloser(index.ContextReader(ctx, bytes.NewReader(b))), nil
}

// PutBlob implements repository.Store. A source longer than size is
// refused once it passes size, without reading the rest.
func (s *Store) PutBlob(ctx context.Context, digest string, size int64, r io.Reader) error {
	if err := checkDigest(digest); err != nil {
		return err
	}
	if ok, err := s.HasBlob(ctx, digest); err != nil || ok {
		return err
	}
	src := index.ContextReader(ctx, r)
	if size >= 0 {
		src = io.LimitReader(src, size+1)
	}
	b, err := io.ReadAll(src)
	if err != nil {
		return fmt.Errorf("memstore: put blob %s: %w", digest, err)
	}
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest || (size >= 0 && int64(len(b)) != size) {
		return fmt.Errorf("memstore: put blob %s: content has digest %s and size %d, want size %d", digest, got, len(b), size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blobs[digest]; !ok {
		s.blobs[digest] = b
	}
	return nil
}

// GetRef implements repository.ReadOnlyStore. The bytes are the caller's.
func (s *Store) GetRef(ctx context.Context, name string) ([]byte, error) {
	if err := checkRef(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: reference %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.refs[name]
	if !ok {
		return nil, fmt.Errorf("memstore: reference %s: %w", name, repository.ErrNotFound)
	}
	// Never nil: an empty reference exists, and nil means none to PutRef.
	return append([]byte{}, b...), nil
}

// PutRef implements repository.Store: compare and swap under the
// store's mutex.
func (s *Store) PutRef(ctx context.Context, name string, old, data []byte) error {
	if err := checkRef(name); err != nil {
		return err
	}
	if len(data) > index.MaxRefSize {
		return fmt.Errorf("memstore: put %w", index.TooLarge(fmt.Sprintf("reference %s (%d bytes)", name, len(data)), index.MaxRefSize))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: reference %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.refs[name]
	if ok && (old == nil || !bytes.Equal(cur, old)) || !ok && old != nil {
		return fmt.Errorf("memstore: reference %s: %w", name, repository.ErrConflict)
	}
	s.refs[name] = append([]byte{}, data...)
	return nil
}

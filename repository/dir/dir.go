// Package dir owns the folder backend of etk repositories: blobs under
// blobs/sha256/, references as small files, everything written to a
// temporary name and renamed, and references compared-and-swapped under a
// file lock, so that an interrupted or concurrent publish never leaves a
// reader a half-written file or loses a revision. The folder can be served
// as it is over HTTP.
package dir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/etk-build/etk/repository"
)

// Store is a repository in a folder.
type Store struct{ root string }

var _ repository.Store = (*Store)(nil)

// Open opens (creating) a repository folder.
func Open(root string) (*Store, error) {
	for _, d := range []string{"blobs/sha256", "refs", ".tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("repository %s: %w", root, err)
		}
	}
	return &Store{root: root}, nil
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
var refRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)

func (s *Store) blobPath(digest string) (string, error) {
	if !digestRE.MatchString(digest) {
		return "", fmt.Errorf("bad digest %q", digest)
	}
	return filepath.Join(s.root, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")), nil
}

func (s *Store) refPath(name string) (string, error) {
	if !refRE.MatchString(name) || strings.Contains(name, "..") {
		return "", fmt.Errorf("bad reference name %q", name)
	}
	return filepath.Join(s.root, "refs", filepath.FromSlash(name)), nil
}

// HasBlob implements repository.Store.
func (s *Store) HasBlob(_ context.Context, digest string) (bool, error) {
	p, err := s.blobPath(digest)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// PutBlob implements repository.Store.
func (s *Store) PutBlob(ctx context.Context, digest string, size int64, r io.Reader) error {
	p, err := s.blobPath(digest)
	if err != nil {
		return err
	}
	if ok, _ := s.HasBlob(ctx, digest); ok {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, ".tmp"), "blob-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store blob %s: %w", digest, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest || (size >= 0 && n != size) {
		return fmt.Errorf("store blob %s: content has digest %s and size %d, want size %d", digest, got, n, size)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// GetBlob implements repository.Store.
func (s *Store) GetBlob(_ context.Context, digest string) (io.ReadCloser, error) {
	p, err := s.blobPath(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", digest, repository.ErrNotFound)
	}
	return f, err
}

// GetRef implements repository.Store.
func (s *Store) GetRef(_ context.Context, name string) ([]byte, error) {
	p, err := s.refPath(name)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reference %s: %w", name, repository.ErrNotFound)
	}
	return b, err
}

// PutRef implements repository.Store: under an exclusive lock of the
// repository, compare the reference with old, then rename the new value
// into place.
func (s *Store) PutRef(_ context.Context, name string, old, data []byte) error {
	p, err := s.refPath(name)
	if err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(s.root, ".tmp", "refs.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	cur, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if old != nil {
			return fmt.Errorf("reference %s: %w", name, repository.ErrConflict)
		}
	case err != nil:
		return err
	case old == nil || !bytes.Equal(cur, old):
		return fmt.Errorf("reference %s: %w", name, repository.ErrConflict)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, ".tmp"), "ref-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

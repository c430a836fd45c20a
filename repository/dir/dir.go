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
	"sync"
	"syscall"
	"time"

	"github.com/etk-build/etk/internal/leftover"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// Store is a repository in a folder.
type Store struct {
	root  string
	sweep sync.Once
}

var _ repository.Store = (*Store)(nil)

// dirs are the folders of a repository folder; none may be a symbolic
// link.
var dirs = []string{"blobs", "blobs/sha256", "refs", ".tmp"}

// tmpPatterns name what writes leave in .tmp while they run.
var tmpPatterns = []string{"blob-*", "ref-*"}

// Open opens (creating) a repository folder.
func Open(root string) (*Store, error) {
	for _, d := range dirs {
		p := filepath.Join(root, filepath.FromSlash(d))
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("repository %s: %w", root, err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("repository %s: %w", root, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("repository %s: %s is %s, not a folder; a repository folder holds no links", root, d, kind(fi.Mode()))
		}
	}
	return &Store{root: root}, nil
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
var refRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)

// blobName is a blob's file, relative to the root, slash-separated.
func blobName(digest string) (string, error) {
	if !digestRE.MatchString(digest) {
		return "", fmt.Errorf("bad digest %q", digest)
	}
	return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:"), nil
}

func refName(name string) (string, error) {
	if !refRE.MatchString(name) || strings.Contains(name, "..") {
		return "", fmt.Errorf("bad reference name %q", name)
	}
	return "refs/" + name, nil
}

func (s *Store) path(rel string) string { return filepath.Join(s.root, filepath.FromSlash(rel)) }

// kind says what a file that is not a regular one is.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a folder"
	}
	return "not a regular file"
}

// open opens the regular file rel of the repository, refusing anything
// else and never leaving the folder: os.Root refuses a path that climbs
// out of the root (through "..", or a link of a parent folder), and the
// file itself must be no link at all. A missing file is fs.ErrNotExist.
func (s *Store) open(what, rel string) (*os.File, int64, error) {
	r, err := os.OpenRoot(s.root)
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	name := filepath.FromSlash(rel)
	fi, err := r.Lstat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, err
		}
		if strings.Contains(err.Error(), "escapes") {
			return nil, 0, fmt.Errorf("%s (%s) leads out of the repository folder through a symbolic link; a repository folder holds none", what, rel)
		}
		return nil, 0, fmt.Errorf("%s (%s): %w", what, rel, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s (%s) is %s; a repository folder holds regular files only", what, rel, kind(fi.Mode()))
	}
	f, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("%s (%s): %w", what, rel, err)
	}
	// It may have been swapped since the Lstat.
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s (%s) is not a regular file", what, rel)
	}
	return f, fi.Size(), nil
}

// readRef reads reference name, bounded by index.MaxRefSize.
func (s *Store) readRef(ctx context.Context, name string) ([]byte, error) {
	rel, err := refName(name)
	if err != nil {
		return nil, err
	}
	what := "reference " + name
	f, size, err := s.open(what, rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > index.MaxRefSize {
		return nil, index.TooLarge(fmt.Sprintf("%s (%s, %d bytes)", what, rel, size), index.MaxRefSize)
	}
	return index.ReadLimited(ctx, f, what, index.MaxRefSize)
}

// HasBlob implements repository.Store.
func (s *Store) HasBlob(_ context.Context, digest string) (bool, error) {
	rel, err := blobName(digest)
	if err != nil {
		return false, err
	}
	f, _, err := s.open("blob "+digest, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f.Close()
	return true, nil
}

// sweepTmp removes what dead writers left in .tmp, once per Store: only
// writers pay for it, and a reader never writes to the folder.
func (s *Store) sweepTmp() {
	s.sweep.Do(func() { leftover.Sweep(s.path(".tmp"), tmpPatterns...) })
}

// Leftovers lists the temporary files of .tmp: those of writers that died
// (Live false, removed by the next write) and those of live writers.
func (s *Store) Leftovers() ([]leftover.Entry, error) {
	return leftover.Scan(s.path(".tmp"), tmpPatterns...)
}

// PutBlob implements repository.Store.
func (s *Store) PutBlob(ctx context.Context, digest string, size int64, r io.Reader) error {
	rel, err := blobName(digest)
	if err != nil {
		return err
	}
	if ok, _ := s.HasBlob(ctx, digest); ok {
		return nil
	}
	s.sweepTmp()
	tmp, err := leftover.CreateTemp(s.path(".tmp"), "blob-*")
	if err != nil {
		return err
	}
	// Closing releases the lock, so it comes after the rename.
	defer tmp.Close()
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), index.ContextReader(ctx, r))
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		return fmt.Errorf("store blob %s: %w", digest, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest || (size >= 0 && n != size) {
		return fmt.Errorf("store blob %s: content has digest %s and size %d, want size %d", digest, got, n, size)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	return s.rename(tmp.Name(), rel)
}

// rename moves a temporary file of .tmp to rel, inside the folder: a
// parent of rel that is a link out of it is an error, not a way out.
func (s *Store) rename(tmp, rel string) error {
	r, err := os.OpenRoot(s.root)
	if err != nil {
		return err
	}
	defer r.Close()
	name := filepath.FromSlash(rel)
	if err := r.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return r.Rename(filepath.Join(".tmp", filepath.Base(tmp)), name)
}

// GetBlob implements repository.Store. The reader stops when ctx is done.
func (s *Store) GetBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	rel, err := blobName(digest)
	if err != nil {
		return nil, err
	}
	f, _, err := s.open("blob "+digest, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", digest, repository.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{index.ContextReader(ctx, f), f}, nil
}

// GetRef implements repository.Store.
func (s *Store) GetRef(ctx context.Context, name string) ([]byte, error) {
	b, err := s.readRef(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reference %s: %w", name, repository.ErrNotFound)
	}
	return b, err
}

// PutRef implements repository.Store: under an exclusive lock of the
// repository, compare the reference with old, then rename the new value
// into place.
func (s *Store) PutRef(ctx context.Context, name string, old, data []byte) error {
	rel, err := refName(name)
	if err != nil {
		return err
	}
	s.sweepTmp()
	lock, err := os.OpenFile(s.path(".tmp/refs.lock"), os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := flock(ctx, lock); err != nil {
		return fmt.Errorf("reference %s: lock the repository: %w", name, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	cur, err := s.readRef(ctx, name)
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
	tmp, err := leftover.CreateTemp(s.path(".tmp"), "ref-*")
	if err != nil {
		return err
	}
	defer tmp.Close()
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	// The last moment a cancel can still leave the reference as it was.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("reference %s: %w", name, err)
	}
	return s.rename(tmp.Name(), rel)
}

// flock takes the exclusive lock of f, waiting for another publisher to
// release it until ctx is done: a blocking flock could not be cancelled.
func flock(ctx context.Context, f *os.File) error {
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

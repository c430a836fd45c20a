//go:build linux

package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/etk-build/etk/repository/seen"
	"golang.org/x/sys/unix"
)

// SeenFile is where a root keeps what it remembers of the repositories it
// installed from: the newest revision of each it trusted (see
// repository/seen).
const SeenFile = reservedDir + "/seen.json"

const seenName = "seen.json"

// Seen calls fn with what the root remembers of the repositories it
// installed from and, when fn returns nil, writes it back, under the
// database lock. A root that has no database yet gets one only once fn
// succeeds.
func (r *Root) Seen(ctx context.Context, fn func(*seen.State) error) error {
	t, err := openTree(r.dir)
	if err != nil {
		return fmt.Errorf("seen: %w", err)
	}
	defer t.close()
	_, unlock, err := r.lockDB(ctx, t, false)
	if errors.Is(err, unix.ENOENT) {
		s, _ := seen.Decode(nil)
		if err := fn(s); err != nil {
			return err
		}
		_, unlock, err = r.lockDB(ctx, t, true)
	}
	if err != nil {
		return fmt.Errorf("seen: %w", err)
	}
	defer unlock()
	dfd, err := t.openDir(reservedDir, nil)
	if err != nil {
		return fmt.Errorf("seen: %w", err)
	}
	defer unix.Close(dfd)
	data, err := readAt(dfd, seenName, seen.MaxStateSize)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("seen: %s: %w", SeenFile, err)
	}
	s, err := seen.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", SeenFile, err)
	}
	if err := fn(s); err != nil {
		return err
	}
	out, err := s.Encode()
	if err != nil {
		return err
	}
	if err := writeAt(dfd, seenName, out); err != nil {
		return fmt.Errorf("seen: %s: %w", SeenFile, err)
	}
	return nil
}

// readAt reads name in the directory fd, without following a symlink, up
// to max bytes.
func readAt(fd int, name string, max int64) ([]byte, error) {
	f, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	file := os.NewFile(uintptr(f), name)
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("more than %d bytes", max)
	}
	return data, err
}

// writeAt replaces name in the directory fd with data: a temporary file,
// synced, renamed over it.
func writeAt(fd int, name string, data []byte) error {
	tmp := tempName()
	f, err := unix.Openat(fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	file := os.NewFile(uintptr(f), tmp)
	_, err = file.Write(data)
	if err == nil {
		err = file.Sync()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(fd, tmp, fd, name)
	}
	if err != nil {
		unix.Unlinkat(fd, tmp, 0)
		return err
	}
	return unix.Fsync(fd)
}

package seen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// UpdateFile reads the state in the file path (missing: an empty state),
// calls fn with it and, when fn returns nil, writes it back (a temporary
// file renamed over it), holding an exclusive lock on path+".lock"
// throughout so that concurrent clients do not lose each other's records.
func UpdateFile(ctx context.Context, path string, fn func(*State) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	lk, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lk.Close()
	for {
		err := unix.Flock(int(lk.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			return fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	data, err := readBounded(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s, err := Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := fn(s); err != nil {
		return err
	}
	out, err := s.Encode()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".seen-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(out)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxStateSize+1))
	if err == nil && len(data) > MaxStateSize {
		err = fmt.Errorf("%s: more than %d bytes", path, MaxStateSize)
	}
	return data, err
}

// DefaultFile is the user's state file: $XDG_CONFIG_HOME/etk/seen.json
// (~/.config/etk/seen.json).
func DefaultFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "etk", "seen.json"), nil
}

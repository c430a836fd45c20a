package leftover

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// lockSuffix names the lock file of a folder made by MkdirTemp.
const lockSuffix = ".lock"

// maxTries bounds the retries of a creation that lost a race with a
// sweep (the sweep removed the new file before it was locked).
const maxTries = 10

// CreateTemp creates a new file in dir, named as os.CreateTemp names it
// from pattern, and locks it: until the file is closed no sweep removes
// it. Rename it into place before closing it.
func CreateTemp(dir, pattern string) (*os.File, error) {
	for range maxTries {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			// A sweep holds it: it saw an unlocked file and removes it.
			f.Close()
			continue
		}
		if same(f, f.Name()) {
			return f, nil
		}
		// A sweep removed it between its creation and our lock.
		f.Close()
	}
	return nil, fmt.Errorf("create a temporary file in %s: lost %d races with cleaners", dir, maxTries)
}

// same reports whether path still names the file f has open.
func same(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Lstat(path)
	return err == nil && os.SameFile(a, b)
}

// MkdirTemp creates a new folder in dir named prefix and a random suffix,
// held by a lock on the file beside it (<folder>.lock) until release,
// which removes the folder, its content and the lock file.
func MkdirTemp(dir, prefix string) (path string, release func() error, err error) {
	for range maxTries {
		lock, err := CreateTemp(dir, prefix+"*"+lockSuffix)
		if err != nil {
			return "", nil, err
		}
		path := strings.TrimSuffix(lock.Name(), lockSuffix)
		if err := os.Mkdir(path, 0o755); err != nil {
			os.Remove(lock.Name())
			lock.Close()
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return "", nil, err
		}
		release := func() error {
			err := os.RemoveAll(path)
			if rerr := os.Remove(lock.Name()); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = rerr
			}
			lock.Close()
			return err
		}
		return path, release, nil
	}
	return "", nil, fmt.Errorf("create a temporary folder in %s: lost %d races", dir, maxTries)
}

// Entry is a scratch file or folder found by Scan or Sweep.
type Entry struct {
	// Path is the file or folder.
	Path string
	// Size is its size, for a folder the sum of its files'.
	Size int64
	// Live says a running process holds it; Sweep never removes those.
	Live bool
}

// Scan lists the entries of dir whose names match one of patterns
// (filepath.Match), saying which are live. A folder's lock file is not
// listed apart from the folder.
func Scan(dir string, patterns ...string) ([]Entry, error) {
	return walk(dir, patterns, false)
}

// Sweep removes the entries of dir whose names match one of patterns and
// that no live process holds, and returns them (and the live ones, Live
// set, which it leaves).
func Sweep(dir string, patterns ...string) ([]Entry, error) {
	return walk(dir, patterns, true)
}

func walk(dir string, patterns []string, remove bool) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	var errs []error
	seen := map[string]bool{}
	for _, de := range des {
		name := de.Name()
		base := strings.TrimSuffix(name, lockSuffix)
		if !matches(base, patterns) && !matches(name, patterns) || seen[base] {
			continue
		}
		p := filepath.Join(dir, name)
		var e Entry
		var err error
		switch {
		case strings.HasSuffix(name, lockSuffix) && isDir(filepath.Join(dir, base)):
			seen[base] = true
			e, err = folder(filepath.Join(dir, base), remove)
		case de.IsDir():
			seen[name] = true
			e, err = folder(p, remove)
		case de.Type().IsRegular():
			e, err = file(p, remove)
		default:
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if e.Path != "" {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, errors.Join(errs...)
}

func matches(name string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

// tryLock takes path's lock when free; a missing file is free.
func tryLock(path string) (f *os.File, free bool, err error) {
	f, err = os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, true, nil
}

func file(p string, remove bool) (Entry, error) {
	f, free, err := tryLock(p)
	if err != nil || f == nil && free {
		return Entry{}, err
	}
	e := Entry{Path: p, Live: !free}
	if fi, err := os.Lstat(p); err == nil {
		e.Size = fi.Size()
	}
	if f != nil {
		defer f.Close()
		// Still the file we locked? A creator may have lost it to a
		// sweep and made another of the same name meanwhile.
		if remove && same(f, p) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return e, err
			}
		}
	}
	return e, nil
}

// folder handles a folder of MkdirTemp. A folder without a lock file is
// dead: MkdirTemp makes the lock first and release removes it last.
func folder(p string, remove bool) (Entry, error) {
	lockPath := p + lockSuffix
	f, free, err := tryLock(lockPath)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Path: p, Live: !free, Size: du(p)}
	if f != nil {
		defer f.Close()
	}
	if remove && free {
		if err := os.RemoveAll(p); err != nil {
			return e, err
		}
		if f != nil && same(f, lockPath) {
			if err := os.Remove(lockPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return e, err
			}
		}
	}
	return e, nil
}

func du(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

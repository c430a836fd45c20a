//go:build linux

package install

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// tree is a root folder reached only through file descriptors: a path is
// walked one element at a time with O_NOFOLLOW, so no symlink, whether it
// was in the root before or an artefact just wrote it, is ever followed.
type tree struct {
	fd int
}

func openTree(dir string) (*tree, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &tree{fd: fd}, nil
}

func (t *tree) close() { unix.Close(t.fd) }

// elems splits a clean absolute path into its elements and refuses
// anything else: whatever a record or an artefact says, no element is
// empty, "." or "..".
func elems(p string) ([]string, error) {
	if p == "/" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("%w: %q is not absolute", ErrUnsafePath, p)
	}
	parts := strings.Split(p[1:], "/")
	for _, e := range parts {
		if e == "" || e == "." || e == ".." || strings.ContainsRune(e, 0) {
			return nil, fmt.Errorf("%w: %q is not clean", ErrUnsafePath, p)
		}
	}
	return parts, nil
}

// mkdirFunc creates the missing directory name in the directory fd (the
// path p) and returns nil when it did.
type mkdirFunc func(fd int, p, name string) error

// visitFunc is called with each directory openDir goes through but the
// root, and its path.
type visitFunc func(fd int, p string) error

// openDir opens the directory p. A missing element is created by mkdir,
// or is an error wrapping ENOENT when mkdir is nil. An element that is a
// symlink is an error wrapping ErrUnsafePath; one that is another
// non-directory wraps ENOTDIR.
func (t *tree) openDir(p string, mkdir mkdirFunc) (int, error) {
	return t.walk(p, mkdir, nil)
}

// walk is openDir calling visit, unless nil, on the way.
func (t *tree) walk(p string, mkdir mkdirFunc, visit visitFunc) (int, error) {
	parts, err := elems(p)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Dup(t.fd)
	if err != nil {
		return -1, err
	}
	cur := "/"
	for _, e := range parts {
		next := path.Join(cur, e)
		nfd, err := openDirAt(fd, e)
		if errors.Is(err, unix.ENOENT) && mkdir != nil {
			if err = mkdir(fd, next, e); err == nil {
				nfd, err = openDirAt(fd, e)
			}
		}
		if err != nil {
			err = describeOpen(fd, next, e, err)
		} else if visit != nil {
			if err = visit(nfd, next); err != nil {
				unix.Close(nfd)
			}
		}
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd, cur = nfd, next
	}
	return fd, nil
}

func openDirAt(fd int, name string) (int, error) {
	for {
		nfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return nfd, err
		}
	}
}

// describeOpen turns the error of opening name in fd (the path p) into
// one that says whether a symlink was in the way.
func describeOpen(fd int, p, name string, err error) error {
	errno, ok := err.(unix.Errno)
	if !ok {
		return err
	}
	if errno == unix.ELOOP || errno == unix.ENOTDIR {
		var st unix.Stat_t
		if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return fmt.Errorf("%w: %s is a symlink", ErrUnsafePath, p)
		}
		errno = unix.ENOTDIR
	}
	return &os.PathError{Op: "open", Path: p, Err: errno}
}

// absent reports whether err says a path is not there when seen without
// following symlinks: missing, or under a symlink or a non-directory.
func absent(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, ErrUnsafePath)
}

// lstat returns what name in fd is, never following a symlink; ok is
// false when nothing is there.
func lstat(fd int, name string) (st unix.Stat_t, ok bool, err error) {
	err = unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return st, false, nil
	}
	return st, err == nil, err
}

func isDir(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFDIR }

// tempName is a name for a file being written or a path set aside. The
// artefact format never needs it: names are random and created
// exclusively.
func tempName() string {
	var b [8]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return ".etk-" + hex.EncodeToString(b[:])
}

// renameNoReplace renames old to new in the directory fd, failing if new
// exists. Filesystems without RENAME_NOREPLACE get a check and a rename.
func renameNoReplace(fd int, old, new string) error {
	err := unix.Renameat2(fd, old, fd, new, unix.RENAME_NOREPLACE)
	if err != unix.EINVAL && err != unix.ENOSYS {
		return err
	}
	if _, ok, err := lstat(fd, new); err != nil || ok {
		if err == nil {
			err = unix.EEXIST
		}
		return err
	}
	return unix.Renameat(fd, old, fd, new)
}

// readNames lists the directory fd (which it leaves open).
func readNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	return f.Readdirnames(-1)
}

// removeAllAt removes name and its subtree from the directory fd without
// following symlinks.
func removeAllAt(fd int, name string) error {
	err := unix.Unlinkat(fd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	dfd, err := openDirAt(fd, name)
	if err != nil {
		return err
	}
	names, err := readNames(dfd)
	for _, n := range names {
		if err == nil {
			err = removeAllAt(dfd, n)
		}
	}
	unix.Close(dfd)
	if err != nil {
		return err
	}
	return unix.Unlinkat(fd, name, unix.AT_REMOVEDIR)
}

// split is path.Split for a clean absolute path, the directory cleaned.
func split(p string) (dir, base string) {
	dir, base = path.Split(p)
	return path.Clean(dir), base
}

// comparePaths orders paths element by element, as artefacts and records
// list them: "/a", "/a/b", "/a-b".
func comparePaths(a, b string) int {
	for a != "" && b != "" {
		ea, ra, _ := strings.Cut(a, "/")
		eb, rb, _ := strings.Cut(b, "/")
		if c := strings.Compare(ea, eb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return len(a) - len(b)
}

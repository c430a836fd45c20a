//go:build linux

package install

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
	"golang.org/x/sys/unix"
)

// The writers of entries: each creates its entry under a temporary name
// in the parent directory pfd, sets its metadata, and renames it into
// place (a directory is made in place: mkdir is exclusive already).

func (in *installer) mkdir(pfd int, dir, base string, f artifact.File, mtime time.Time) error {
	// 0700 until the commit, so that a read-only directory can still be
	// filled by a user who is not root.
	if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
		return pathErr("mkdir", f.Path, err)
	}
	in.journal = append(in.journal, undo{dir: dir, name: base, isDir: true})
	dfd, err := openDirAt(pfd, base)
	if err != nil {
		return pathErr("open", f.Path, err)
	}
	defer unix.Close(dfd)
	if in.opts.privileged {
		if err := unix.Fchown(dfd, f.UID, f.GID); err != nil {
			return pathErr("chown", f.Path, err)
		}
	}
	if err := in.setXattrs(dfd, "", f); err != nil {
		return err
	}
	in.files[f.Path] = File{Path: f.Path, Type: f.Type, Mode: f.Mode}
	in.dirs = append(in.dirs, dirMeta{f: f, mtime: mtime})
	return nil
}

func (in *installer) writeFile(pfd int, dir, base string, f artifact.File, mtime time.Time, content io.Reader) error {
	tmp := tempName()
	fd, err := unix.Openat(pfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return pathErr("create", f.Path, err)
	}
	file := os.NewFile(uintptr(fd), f.Path)
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(file, h), content)
	if err != nil {
		err = fmt.Errorf("%s: %w", f.Path, err)
	} else {
		err = in.finish(pfd, fd, tmp, f, mtime)
	}
	var st unix.Stat_t
	if err == nil {
		err = pathErr("stat", f.Path, unix.Fstat(fd, &st))
	}
	if cerr := file.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		unix.Unlinkat(pfd, tmp, 0)
		return err
	}
	if err := in.place(pfd, dir, tmp, base); err != nil {
		return err
	}
	in.wrote[f.Path] = inode{st.Dev, st.Ino}
	in.files[f.Path] = File{Path: f.Path, Type: f.Type, Mode: f.Mode, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}
	return nil
}

// node writes a symlink, a device node or a fifo.
func (in *installer) node(pfd int, dir, base string, f artifact.File, mtime time.Time) error {
	tmp := tempName()
	var err error
	switch f.Type {
	case artifact.TypeSymlink:
		err = unix.Symlinkat(f.Link, pfd, tmp)
	case artifact.TypeFifo:
		err = unix.Mknodat(pfd, tmp, unix.S_IFIFO|0o600, 0)
	case artifact.TypeChar, artifact.TypeBlock:
		if f.Devmajor < 0 || f.Devminor < 0 || f.Devmajor > math.MaxUint32 || f.Devminor > math.MaxUint32 {
			return fmt.Errorf("%s: bad device number %d,%d", f.Path, f.Devmajor, f.Devminor)
		}
		mode := uint32(unix.S_IFCHR)
		if f.Type == artifact.TypeBlock {
			mode = unix.S_IFBLK
		}
		err = unix.Mknodat(pfd, tmp, mode|0o600, int(unix.Mkdev(uint32(f.Devmajor), uint32(f.Devminor))))
	default:
		return fmt.Errorf("%s: unsupported type %q", f.Path, f.Type)
	}
	if err != nil {
		return pathErr("create", f.Path, err)
	}
	var st unix.Stat_t
	err = in.finish(pfd, -1, tmp, f, mtime)
	if err == nil {
		err = pathErr("stat", f.Path, unix.Fstatat(pfd, tmp, &st, unix.AT_SYMLINK_NOFOLLOW))
	}
	if err != nil {
		unix.Unlinkat(pfd, tmp, 0)
		return err
	}
	if err := in.place(pfd, dir, tmp, base); err != nil {
		return err
	}
	in.wrote[f.Path] = inode{st.Dev, st.Ino}
	in.files[f.Path] = File{Path: f.Path, Type: f.Type, Mode: f.Mode, Link: f.Link}
	return nil
}

// link writes a hardlink to a file this install wrote, checking that the
// path still names that file.
func (in *installer) link(pfd int, dir, base string, f artifact.File) error {
	tdir, tbase := split(f.Link)
	tfd, err := in.t.openDir(tdir, nil)
	if err != nil {
		return err
	}
	defer unix.Close(tfd)
	tmp := tempName()
	if err := unix.Linkat(tfd, tbase, pfd, tmp, 0); err != nil {
		return pathErr("link", f.Path, err)
	}
	var st unix.Stat_t
	err = unix.Fstatat(pfd, tmp, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && (inode{st.Dev, st.Ino}) != in.wrote[f.Link] {
		err = fmt.Errorf("%w: %s is no longer the file this install wrote", ErrUnsafePath, f.Link)
	}
	if err != nil {
		unix.Unlinkat(pfd, tmp, 0)
		return pathErr("link", f.Path, err)
	}
	if err := in.place(pfd, dir, tmp, base); err != nil {
		return err
	}
	t := in.files[f.Link]
	in.files[f.Path] = File{Path: f.Path, Type: f.Type, Mode: t.Mode, Digest: t.Digest, Link: f.Link}
	return nil
}

// finish sets the owner (as root), mode, xattrs and mtime of the new
// non-directory tmp in pfd; fd, unless -1, is it open.
func (in *installer) finish(pfd, fd int, tmp string, f artifact.File, mtime time.Time) error {
	if in.opts.privileged {
		if err := unix.Fchownat(pfd, tmp, f.UID, f.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return pathErr("chown", f.Path, err)
		}
	}
	// After the chown, which clears setuid and setgid.
	var err error
	switch {
	case f.Type == artifact.TypeSymlink:
	case fd >= 0:
		err = unix.Fchmod(fd, f.Mode)
	default:
		err = unix.Fchmodat(pfd, tmp, f.Mode, 0)
	}
	if err != nil {
		return pathErr("chmod", f.Path, err)
	}
	xfd, proc := fd, ""
	if fd < 0 {
		proc = fmt.Sprintf("/proc/self/fd/%d/%s", pfd, tmp)
	}
	if err := in.setXattrs(xfd, proc, f); err != nil {
		return err
	}
	ts := unix.NsecToTimespec(mtime.UnixNano())
	return pathErr("set mtime", f.Path, unix.UtimesNanoAt(pfd, tmp, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
}

// setXattrs sets f's extended attributes on fd or, when proc is set, on
// that path without following it. A filesystem or a user that cannot
// have them gets a warning.
func (in *installer) setXattrs(fd int, proc string, f artifact.File) error {
	keys := make([]string, 0, len(f.Xattrs))
	for k := range f.Xattrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, err := base64.StdEncoding.DecodeString(f.Xattrs[k])
		if err != nil {
			return fmt.Errorf("%s: xattr %s: %w", f.Path, k, err)
		}
		if proc != "" {
			err = unix.Lsetxattr(proc, k, v, 0)
		} else {
			err = unix.Fsetxattr(fd, k, v, 0)
		}
		switch {
		case err == nil:
		case err == unix.ENOTSUP || err == unix.EPERM || err == unix.EACCES || (proc != "" && err == unix.ENOENT):
			in.warn("%s: xattr %s not set: %v", f.Path, k, err)
		default:
			return fmt.Errorf("%s: xattr %s: %w", f.Path, k, err)
		}
	}
	return nil
}

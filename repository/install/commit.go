//go:build linux

package install

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"

	"github.com/etk-build/etk/compiler/artifact"
	"golang.org/x/sys/unix"
)

// prune applies the artefact's deletions once all its entries are
// written, so that they never touch them. It sets aside what they remove,
// except the database, paths other packages list and what this install
// wrote; a directory holding any of those stays and loses the rest.
func (in *installer) prune(ctx context.Context) error {
	if len(in.deleted) == 0 && len(in.opaque) == 0 {
		return nil
	}
	keep := map[string]bool{reservedDir: true}
	for p := range in.files {
		keep[p] = true
	}
	for p := range in.asides {
		keep[p] = true
	}
	for p := range in.own.by {
		keep[p] = true
	}
	in.keep = newPathSet(keep)
	for _, p := range in.deleted {
		if err := in.remove(ctx, p); err != nil {
			return err
		}
	}
	for _, d := range in.opaque {
		fd, err := in.t.openDir(d, nil)
		if absent(err) {
			continue
		}
		if err != nil {
			return err
		}
		names, err := readNames(fd)
		unix.Close(fd)
		if err != nil {
			return pathErr("read", d, err)
		}
		slices.Sort(names)
		for _, n := range names {
			if err := in.remove(ctx, path.Join(d, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove sets p aside, or what of its subtree prune may remove.
func (in *installer) remove(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, base := split(p)
	fd, err := in.t.openDir(dir, nil)
	if absent(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	st, ok, err := lstat(fd, base)
	if !ok {
		return pathErr("lstat", p, err)
	}
	if reserved(p) || in.asides[p] {
		return nil
	}
	kept := in.keep.has(p)
	if isDir(&st) && (kept || len(in.keep.below(p)) > 0) {
		dfd, err := openDirAt(fd, base)
		if err != nil {
			return pathErr("open", p, err)
		}
		names, err := readNames(dfd)
		unix.Close(dfd)
		if err != nil {
			return pathErr("read", p, err)
		}
		slices.Sort(names)
		for _, n := range names {
			if err := in.remove(ctx, path.Join(p, n)); err != nil {
				return err
			}
		}
		return nil
	}
	if kept {
		if ow := in.own.by[p]; len(ow) > 0 {
			if _, ours := in.files[p]; !ours {
				in.warn("%s: not deleted: owned by %s", p, ow[0].rec.ID)
			}
		}
		return nil
	}
	return in.setAside(fd, dir, base)
}

// leftovers sets aside the files of the replaced version that the new
// one does not list and no other package does; its directories go after
// the commit, if empty.
func (in *installer) leftovers() error {
	if in.old == nil {
		return nil
	}
	for _, f := range slices.Backward(in.old.Files) {
		if _, ok := in.files[f.Path]; ok || len(in.own.by[f.Path]) > 0 {
			continue
		}
		if f.Type == artifact.TypeDir {
			if !f.Foreign {
				in.leftDirs = append(in.leftDirs, f.Path)
			}
			continue
		}
		dir, base := split(f.Path)
		fd, err := in.t.openDir(dir, nil)
		if absent(err) {
			continue
		}
		if err != nil {
			return err
		}
		st, ok, err := lstat(fd, base)
		if ok && !isDir(&st) {
			err = in.setAside(fd, dir, base)
		}
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// commit finishes an install whose record is written: it drops the paths
// taken over from other packages' records, removes what was set aside and
// the replaced version's empty directories, and sets directories' owner,
// mode and mtime, deepest first, now that nothing changes in them.
func (in *installer) commit(db int) error {
	var errs []error
	recs := make([]*record, 0, len(in.lost))
	for rec := range in.lost {
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b *record) int { return strings.Compare(a.ID, b.ID) })
	for _, rec := range recs {
		rec.Files = slices.DeleteFunc(rec.Files, func(f File) bool { return in.lost[rec][f.Path] })
		if err := writeRecord(db, rec); err != nil {
			errs = append(errs, err)
		}
	}
	for _, u := range in.journal {
		if u.backup == "" {
			continue
		}
		fd, err := in.t.openDir(u.dir, nil)
		if err == nil {
			err = removeAllAt(fd, u.backup)
			unix.Close(fd)
		}
		if err != nil {
			errs = append(errs, pathErr("remove", path.Join(u.dir, u.backup), err))
		}
	}
	slices.SortFunc(in.leftDirs, func(a, b string) int { return comparePaths(b, a) })
	for _, d := range in.leftDirs {
		rmdirIfEmpty(in.t, d)
	}
	for _, d := range slices.Backward(in.dirs) {
		if err := in.applyDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		in.opts.log.Warn(err.Error(), "package", in.p.ID)
	}
	return errors.Join(errs...)
}

func (in *installer) applyDir(d dirMeta) error {
	f := d.f
	dir, base := split(f.Path)
	pfd, err := in.t.openDir(dir, nil)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	fd, err := openDirAt(pfd, base)
	if err != nil {
		return pathErr("open", f.Path, err)
	}
	defer unix.Close(fd)
	if d.existed {
		if in.opts.privileged {
			if err := unix.Fchown(fd, f.UID, f.GID); err != nil {
				return pathErr("chown", f.Path, err)
			}
		}
		if err := in.setXattrs(fd, "", f); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, f.Mode); err != nil {
		return pathErr("chmod", f.Path, err)
	}
	ts := unix.NsecToTimespec(d.mtime.UnixNano())
	return pathErr("set mtime", f.Path, unix.UtimesNanoAt(pfd, base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
}

// rmdirIfEmpty removes the directory p if it is empty and there.
func rmdirIfEmpty(t *tree, p string) bool {
	dir, base := split(p)
	fd, err := t.openDir(dir, nil)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Unlinkat(fd, base, unix.AT_REMOVEDIR) == nil
}

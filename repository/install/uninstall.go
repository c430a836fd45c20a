//go:build linux

package install

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/etk-build/etk/compiler/artifact"
	"golang.org/x/sys/unix"
)

// Uninstall removes the package with this ID: the files it lists, then
// its record. It keeps a path another installed package also lists, a
// directory that is foreign or not empty, and a path that has become a
// directory since; it removes a file even if it changed since the
// install. When some removal fails, the record stays, so that Uninstall
// can be run again.
func (r *Root) Uninstall(ctx context.Context, id string) error {
	if err := r.uninstall(ctx, id); err != nil {
		return fmt.Errorf("uninstall %s: %w", id, err)
	}
	return nil
}

func (r *Root) uninstall(ctx context.Context, id string) error {
	t, err := openTree(r.dir)
	if err != nil {
		return err
	}
	defer t.close()
	db, unlock, err := r.lockDB(ctx, t, false)
	if errors.Is(err, unix.ENOENT) {
		return ErrNotInstalled
	}
	if err != nil {
		return err
	}
	defer unlock()
	recs, err := readRecords(db)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(recs, func(rec *record) bool { return rec.ID == id })
	if i < 0 {
		return ErrNotInstalled
	}
	rec := recs[i]
	own := newOwnership(slices.Delete(recs, i, i+1))
	var errs []error
	for _, f := range slices.Backward(rec.Files) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(own.by[f.Path]) > 0 {
			continue
		}
		if f.Type == artifact.TypeDir {
			if !f.Foreign && len(own.paths.below(f.Path)) == 0 {
				rmdirIfEmpty(t, f.Path)
			}
			continue
		}
		if err := removeFile(t, f.Path); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := unix.Unlinkat(db, rec.file, 0); err != nil {
		return pathErr("remove", rec.file, err)
	}
	return unix.Fsync(db)
}

// removeFile removes the non-directory p, if there.
func removeFile(t *tree, p string) error {
	dir, base := split(p)
	fd, err := t.openDir(dir, nil)
	if absent(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	st, ok, err := lstat(fd, base)
	if !ok || isDir(&st) {
		return pathErr("lstat", p, err)
	}
	return pathErr("remove", p, unix.Unlinkat(fd, base, 0))
}

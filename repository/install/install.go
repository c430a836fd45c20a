//go:build linux

package install

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/repository/index"
	"golang.org/x/sys/unix"
)

// Install unpacks the artefact (nil for a virtual package) into the root
// and records the package in the database. It does nothing when the same
// ID with the same Key is installed; another version, or the same ID with
// another Key, is replaced: its files that the new one does not list are
// removed. Install reads the artefact to its end, twice when it can seek
// (an io.ReaderAt and io.Seeker), else from a copy in TempDir.
//
// It never writes outside the root and, on failure, removes what it wrote
// and puts back what it replaced, leaving the database as it was.
func (r *Root) Install(ctx context.Context, p Package, artefact io.Reader) error {
	if err := p.validate(); err != nil {
		return fmt.Errorf("install %s: %w", p.ID, err)
	}
	if artefact != nil && p.Artefact == nil {
		return fmt.Errorf("install %s: %w: an artefact without the metadata that describes it", p.ID, ErrBadPackage)
	}
	if err := r.install(ctx, p, artefact); err != nil {
		return fmt.Errorf("install %s: %w", p.ID, err)
	}
	return nil
}

// installer is one Install under way.
type installer struct {
	*Root
	t   *tree
	p   Package
	own *ownership // other packages' paths
	old *record    // the installed version of the package, if any

	oldFiles map[string]File  // old's files by path
	files    map[string]File  // what the package will list
	wrote    map[string]inode // hardlink targets: what this install wrote
	skipped  map[string]bool  // device nodes not created
	journal  []undo           // what to undo on failure, in order done
	asides   map[string]bool  // paths set aside (undo.backup), never pruned
	dirs     []dirMeta        // directory metadata, applied after the commit
	deleted  []string         // whiteouts
	opaque   []string         // directories whose previous contents go
	lost     map[*record]map[string]bool
	leftDirs []string // the old version's directories the new one lacks
	keep     *pathSet // what deletions leave alone
	warnings []string
}

type inode struct{ dev, ino uint64 }

// undo removes name from dir (a directory if isDir) or, when backup is
// set, renames backup back to name.
type undo struct {
	dir, name, backup string
	isDir             bool
}

type dirMeta struct {
	f       artifact.File
	mtime   time.Time
	existed bool // owner and xattrs are applied late too
}

func (r *Root) install(ctx context.Context, p Package, artefact io.Reader) error {
	t, err := openTree(r.dir)
	if err != nil {
		return err
	}
	defer t.close()
	if artefact != nil {
		// Refused before anything, the database included, is written.
		if _, err := artifact.TarBound(p.Artefact); err != nil {
			return err
		}
		if err := checkDevices(p, &r.opts); err != nil {
			return err
		}
		if err := room(t, r.dir, p.Artefact); err != nil {
			return err
		}
	}
	db, unlock, err := r.lockDB(ctx, t, true)
	if err != nil {
		return err
	}
	defer unlock()
	recs, err := readRecords(db)
	if err != nil {
		return err
	}
	in := &installer{
		Root: r, t: t, p: p,
		files: map[string]File{}, wrote: map[string]inode{}, skipped: map[string]bool{},
		asides: map[string]bool{}, lost: map[*record]map[string]bool{},
	}
	var others []*record
	name := recordName(p.Category, p.Name)
	for _, rec := range recs {
		switch {
		case rec.file != name:
			others = append(others, rec)
		case rec.Category != p.Category || rec.Name != p.Name:
			return fmt.Errorf("%w: database file %s belongs to %s", ErrBadPackage, rec.file, rec.ID)
		case rec.ID == p.ID && rec.Key == p.Key:
			return nil
		default:
			in.old, in.oldFiles = rec, map[string]File{}
			for _, f := range rec.Files {
				in.oldFiles[f.Path] = f
			}
		}
	}
	in.own = newOwnership(others)
	if artefact != nil {
		in.warnModes(p.Artefact)
		if err := in.unpack(ctx, artefact); err != nil {
			return in.rollback(err)
		}
	}
	if err := in.prune(ctx); err != nil {
		return in.rollback(err)
	}
	if err := in.leftovers(); err != nil {
		return in.rollback(err)
	}
	if err := unix.Syncfs(t.fd); err != nil {
		return in.rollback(fmt.Errorf("sync: %w", err))
	}
	rec := &record{file: name, InstalledPackage: InstalledPackage{Package: p, Files: in.list(), Warnings: in.warnings}}
	if err := writeRecord(db, rec); err != nil {
		return in.rollback(err)
	}
	if err := in.commit(db); err != nil {
		return fmt.Errorf("installed, but: %w", err)
	}
	return nil
}

// unpack writes the artefact's entries. Walk checks the format, and the
// artefact against its metadata, and hands over each entry; a second
// reader of the same bytes yields the tar headers, for the mtimes
// artifact.File does not carry. Both are bounded by the metadata.
func (in *installer) unpack(ctx context.Context, artefact io.Reader) error {
	m := in.p.Artefact
	a, b, done, err := twice(ctx, artefact, m.Size, in.opts.tempDir)
	if err != nil {
		return err
	}
	defer done()
	zr, err := artifact.Decompress(b, m)
	if err != nil {
		return err
	}
	defer zr.Close()
	side := tar.NewReader(zr)
	_, err = artifact.Walk(ctx, a, func(f artifact.File, content io.Reader) error {
		hdr, err := side.Next()
		if err != nil || "/"+strings.TrimSuffix(hdr.Name, "/") != entryName(f) {
			return fmt.Errorf("%w: %s: the artefact changed while read", artifact.ErrBadArtefact, f.Path)
		}
		return in.entry(f, hdr.ModTime, content)
	}, artifact.Expect(m))
	return err
}

// entryName is the path of the tar entry Walk made f from.
func entryName(f artifact.File) string {
	switch f.Type {
	case artifact.TypeWhiteout:
		dir, base := split(f.Path)
		return path.Join(dir, ".wh."+base)
	case artifact.TypeOpaque:
		return path.Join(f.Path, ".wh..wh..opq")
	}
	return f.Path
}

// twice returns two readers of r's bytes, and a function that releases
// them. A copy stops past size bytes (when size is set): more is not the
// artefact the metadata describes.
func twice(ctx context.Context, r io.Reader, size int64, tempDir string) (a, b io.Reader, done func(), err error) {
	if rs, ok := r.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		off, err := rs.Seek(0, io.SeekCurrent)
		if err == nil {
			end, err := rs.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, nil, nil, err
			}
			return io.NewSectionReader(rs, off, end-off), io.NewSectionReader(rs, off, end-off), func() {}, nil
		}
	}
	f, err := os.CreateTemp(tempDir, "etk-artefact-*")
	if err != nil {
		return nil, nil, nil, err
	}
	os.Remove(f.Name()) // the open file is all we need
	src := index.ContextReader(ctx, r)
	if size > 0 {
		src = io.LimitReader(src, size+1)
	}
	n, err := io.Copy(f, src)
	if err == nil && size > 0 && n > size {
		err = fmt.Errorf("%w: more than the %d compressed bytes its metadata says", artifact.ErrMismatch, size)
	}
	if err != nil {
		f.Close()
		return nil, nil, nil, err
	}
	return io.NewSectionReader(f, 0, n), io.NewSectionReader(f, 0, n), func() { f.Close() }, nil
}

// entry installs one entry of the artefact.
func (in *installer) entry(f artifact.File, mtime time.Time, content io.Reader) error {
	switch f.Type {
	case artifact.TypeWhiteout:
		in.deleted = append(in.deleted, f.Path)
		return nil
	case artifact.TypeOpaque:
		if f.Path == "/" {
			return fmt.Errorf("%w: opaque marker for the root", ErrUnsafePath)
		}
		in.opaque = append(in.opaque, f.Path)
		return nil
	}
	if _, err := elems(f.Path); err != nil || f.Path == "/" {
		return fmt.Errorf("%w: %q", ErrUnsafePath, f.Path)
	}
	if reserved(f.Path) || (f.Type != artifact.TypeDir && strings.HasPrefix(reservedDir, f.Path+"/")) {
		return fmt.Errorf("%w: %s", ErrReserved, f.Path)
	}
	dir, base := split(f.Path)
	pfd, err := in.t.walk(dir, in.mkdirParent, in.listParent)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := in.claim(f.Path, f.Type); err != nil {
		return err
	}
	switch f.Type {
	case artifact.TypeChar, artifact.TypeBlock:
		if !in.opts.privileged {
			in.warn("%s: device node not created: not running as root", f.Path)
			in.skipped[f.Path] = true
			return nil
		}
	case artifact.TypeHardlink:
		if in.skipped[f.Link] {
			in.warn("%s: hardlink to %s not created: its target was not", f.Path, f.Link)
			return nil
		}
		if _, ok := in.wrote[f.Link]; !ok {
			return fmt.Errorf("%w: hardlink %s to %s, which this install did not write", ErrUnsafePath, f.Path, f.Link)
		}
	}
	st, exists, err := lstat(pfd, base)
	if err != nil {
		return pathErr("lstat", f.Path, err)
	}
	if f.Type == artifact.TypeDir && exists && isDir(&st) {
		in.files[f.Path] = File{Path: f.Path, Type: f.Type, Mode: f.Mode, Foreign: in.foreign(f.Path)}
		in.dirs = append(in.dirs, dirMeta{f: f, mtime: mtime, existed: true})
		return nil
	}
	if exists {
		if err := in.setAside(pfd, dir, base); err != nil {
			return err
		}
	}
	switch f.Type {
	case artifact.TypeDir:
		return in.mkdir(pfd, dir, base, f, mtime)
	case artifact.TypeFile:
		return in.writeFile(pfd, dir, base, f, mtime, content)
	case artifact.TypeHardlink:
		return in.link(pfd, dir, base, f)
	default:
		return in.node(pfd, dir, base, f, mtime)
	}
}

// claim checks that writing p (of type typ) takes nothing from another
// package, or, with AllowReplace, notes what they lose.
func (in *installer) claim(p, typ string) error {
	var victims []string
	for _, ow := range in.own.by[p] {
		if typ != artifact.TypeDir || ow.file.Type != artifact.TypeDir {
			victims = append(victims, p)
			break
		}
	}
	if typ != artifact.TypeDir {
		victims = append(victims, in.own.paths.below(p)...)
	}
	if len(victims) == 0 {
		return nil
	}
	if !in.opts.allowReplace {
		for _, v := range victims {
			for _, ow := range in.own.by[v] {
				if in.mayReplace(ow.rec.ID) {
					continue
				}
				if v == p {
					return fmt.Errorf("%w: %s is owned by %s, also in %s", ErrConflict, p, ow.rec.ID, in.p.ID)
				}
				return fmt.Errorf("%w: %s is owned by %s, and %s replaces %s", ErrConflict, v, ow.rec.ID, in.p.ID, p)
			}
		}
	}
	for _, v := range victims {
		for _, ow := range in.own.by[v] {
			if in.lost[ow.rec] == nil {
				in.lost[ow.rec] = map[string]bool{}
			}
			in.lost[ow.rec][v] = true
		}
	}
	return nil
}

// mayReplace reports whether the package being installed may take over
// files of the installed package id: one of the packages it was built on
// (Package.Replaces), whose files its artefact modifies by design.
func (in *installer) mayReplace(id string) bool {
	for _, r := range in.p.Replaces {
		if r == id {
			return true
		}
	}
	return false
}

// mkdirParent creates a parent the artefact does not list: 0755, owned
// by root (or the current user).
func (in *installer) mkdirParent(fd int, p, name string) error {
	if err := in.claim(p, artifact.TypeDir); err != nil {
		return err
	}
	if err := unix.Mkdirat(fd, name, 0o700); err != nil {
		return pathErr("mkdir", p, err)
	}
	dir, _ := split(p)
	in.journal = append(in.journal, undo{dir: dir, name: name, isDir: true})
	var err error
	if in.opts.privileged {
		err = unix.Fchownat(fd, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err == nil {
		err = unix.Fchmodat(fd, name, 0o755, 0)
	}
	if err != nil {
		return pathErr("mkdir", p, err)
	}
	in.files[p] = File{Path: p, Type: artifact.TypeDir, Mode: 0o755}
	return nil
}

// listParent lists an existing parent of an entry as the package's
// directory too, so that the last package using it removes it.
func (in *installer) listParent(fd int, p string) error {
	if _, ok := in.files[p]; ok {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return pathErr("stat", p, err)
	}
	in.files[p] = File{Path: p, Type: artifact.TypeDir, Mode: st.Mode & 0o7777, Foreign: in.foreign(p)}
	return nil
}

// foreign reports whether the existing directory p was in the root before
// any package listed it.
func (in *installer) foreign(p string) bool {
	if f, ok := in.oldFiles[p]; ok && !f.Foreign {
		return false
	}
	return in.own.foreign(p)
}

// setAside renames what is at dir/base to a temporary name: the commit
// removes it, a rollback puts it back.
func (in *installer) setAside(pfd int, dir, base string) error {
	name := tempName()
	if err := renameNoReplace(pfd, base, name); err != nil {
		return pathErr("set aside", path.Join(dir, base), err)
	}
	in.journal = append(in.journal, undo{dir: dir, name: base, backup: name})
	in.asides[path.Join(dir, name)] = true
	return nil
}

// place renames the temporary tmp to base, which must not exist.
func (in *installer) place(pfd int, dir, tmp, base string) error {
	if err := renameNoReplace(pfd, tmp, base); err != nil {
		unix.Unlinkat(pfd, tmp, 0)
		return pathErr("rename", path.Join(dir, base), err)
	}
	in.journal = append(in.journal, undo{dir: dir, name: base})
	return nil
}

func (in *installer) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	in.warnings = append(in.warnings, msg)
	in.opts.log.Warn(msg, "package", in.p.ID)
}

// list is the package's files in path order.
func (in *installer) list() []File {
	out := make([]File, 0, len(in.files))
	for _, f := range in.files {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b File) int { return comparePaths(a.Path, b.Path) })
	return out
}

// rollback undoes the journal, last step first, and returns cause with
// whatever could not be undone.
func (in *installer) rollback(cause error) error {
	var errs []error
	for i := len(in.journal) - 1; i >= 0; i-- {
		u := in.journal[i]
		fd, err := in.t.openDir(u.dir, nil)
		if err == nil {
			switch {
			case u.backup != "":
				err = renameNoReplace(fd, u.backup, u.name)
			case u.isDir:
				err = unix.Unlinkat(fd, u.name, unix.AT_REMOVEDIR)
			default:
				err = unix.Unlinkat(fd, u.name, 0)
			}
			unix.Close(fd)
		}
		if err != nil {
			errs = append(errs, pathErr("undo", path.Join(u.dir, u.name), err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(cause, fmt.Errorf("rollback: %w", errors.Join(errs...)))
	}
	return cause
}

func pathErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(unix.Errno); !ok {
		return err
	}
	return &os.PathError{Op: op, Path: p, Err: err}
}

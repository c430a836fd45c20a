//go:build linux

package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
	"golang.org/x/sys/unix"
)

// Database locations inside the root, and the format of its records.
const (
	DatabaseDir  = "/var/lib/etk/installed"
	RecordFormat = "etk-installed/v1"

	// reservedDir is never written by an artefact, and never removed by
	// a deletion.
	reservedDir = "/var/lib/etk"
	lockName    = ".lock"
)

// Root is a target root folder and its install database. Its methods may
// be called concurrently, also from several processes: changes to the
// database are serialised by a lock file in it.
type Root struct {
	dir  string
	opts options
}

// Option configures a Root.
type Option func(*options)

type options struct {
	allowReplace bool
	output       io.Writer
	log          *slog.Logger
	tempDir      string
	privileged   bool            // running as root: chown, device nodes
	devices      map[string]bool // package names and IDs allowed device nodes
}

// AllowReplace lets a package take over paths other installed packages
// own; they are dropped from those packages' records.
func AllowReplace() Option { return func(o *options) { o.allowReplace = true } }

// AllowDevices lets the named packages ("category/name", or an ID
// "category/name@version") install device nodes; "*" allows every
// package. Without it, a package whose metadata lists a device node is
// refused (ErrNotAllowed) before anything is written.
func AllowDevices(names ...string) Option {
	return func(o *options) {
		if o.devices == nil {
			o.devices = map[string]bool{}
		}
		for _, n := range names {
			o.devices[n] = true
		}
	}
}

// Output receives the stdout and stderr of finalizer commands; the
// default discards them.
func Output(w io.Writer) Option { return func(o *options) { o.output = w } }

// Logger receives warnings (device nodes skipped, deletions kept,
// cleanup failures); the default discards them.
func Logger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// TempDir holds a copy of an artefact that Install cannot read twice
// (one that is not an io.ReaderAt and io.Seeker); the default is
// os.TempDir().
func TempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }

// Open returns the Root at dir, which must be a directory. Nothing is
// written until a package is installed.
func Open(dir string, opts ...Option) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open root: %s is not a directory", abs)
	}
	o := options{output: io.Discard, log: slog.New(slog.DiscardHandler), privileged: os.Geteuid() == 0}
	for _, opt := range opts {
		opt(&o)
	}
	return &Root{dir: abs, opts: o}, nil
}

// Dir is the root's absolute path.
func (r *Root) Dir() string { return r.dir }

// Package is what Install needs to know of a package besides its
// artefact.
type Package struct {
	ID       string `json:"id"` // "category/name@version"
	Category string `json:"category,omitempty"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Key      string `json:"key"` // the build key: same ID and Key, same artefact
	// Finalize holds the commands Finalize runs, each as the last
	// argument of Shell.
	Finalize []string `json:"finalize,omitempty"`
	// Shell runs a finalizer command; empty means {"/bin/sh", "-c"}.
	Shell []string `json:"shell,omitempty"`
	// Replaces are the ids of packages whose files this one may take over
	// without a conflict: those it needs, since its artefact records what
	// it changed on top of them (a user added to /etc/passwd, say).
	Replaces []string `json:"replaces,omitempty"`
	// Artefact is the artefact's metadata, from the package's signed
	// metadata.json: Install refuses an artefact that is not exactly
	// what it lists (artifact.Expect), and one it describes against the
	// install policy. Required with an artefact; not recorded.
	Artefact *artifact.Metadata `json:"-"`
}

// InstalledPackage is a package as the database records it.
type InstalledPackage struct {
	Package
	// Files lists what the package installed, in path order: its
	// artefact's entries and the missing parents created for them.
	Files []File `json:"files"`
	// Warnings says what was not installed as the artefact asked.
	Warnings []string `json:"warnings,omitempty"`
}

// File is a path a package installed.
type File struct {
	Path   string `json:"path"`             // absolute and clean
	Type   string `json:"type"`             // an artifact.Type* constant
	Mode   uint32 `json:"mode"`             // permission, setuid, setgid and sticky bits
	Digest string `json:"digest,omitempty"` // "sha256:<hex>" of a regular file's content
	Link   string `json:"link,omitempty"`   // a symlink's target, a hardlink's path
	// Foreign marks a directory that was in the root, listed by no
	// package, before this package listed it: it is never removed.
	Foreign bool `json:"foreign,omitempty"`
}

// record is one file of the database.
type record struct {
	Format string `json:"format"`
	InstalledPackage
	file string // base name in the database
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)

func (p *Package) validate() error {
	switch {
	case p.ID == "":
		return fmt.Errorf("%w: no ID", ErrBadPackage)
	case !nameRE.MatchString(p.Name):
		return fmt.Errorf("%w: name %q", ErrBadPackage, p.Name)
	case p.Category != "" && !nameRE.MatchString(p.Category):
		return fmt.Errorf("%w: category %q", ErrBadPackage, p.Category)
	}
	return nil
}

// recordName is the database file of a package: one per category and
// name, so installing another version replaces the installed one.
func recordName(category, name string) string { return category + "_" + name + ".json" }

// Installed lists the installed packages, sorted by ID.
func (r *Root) Installed() ([]InstalledPackage, error) {
	t, err := openTree(r.dir)
	if err != nil {
		return nil, fmt.Errorf("installed: %w", err)
	}
	defer t.close()
	db, err := t.openDir(DatabaseDir, nil)
	if errors.Is(err, unix.ENOENT) {
		return []InstalledPackage{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("installed: database: %w", err)
	}
	defer unix.Close(db)
	recs, err := readRecords(db)
	if err != nil {
		return nil, fmt.Errorf("installed: %w", err)
	}
	out := make([]InstalledPackage, len(recs))
	for i, rec := range recs {
		out[i] = rec.InstalledPackage
	}
	return out, nil
}

// lockDB opens the database, creating it when create is set, and takes
// its lock. With create unset, a missing database is an error wrapping
// ENOENT.
func (r *Root) lockDB(ctx context.Context, t *tree, create bool) (db int, unlock func(), err error) {
	var mkdir mkdirFunc
	if create {
		mkdir = func(fd int, _, name string) error {
			if err := unix.Mkdirat(fd, name, 0o755); err != nil && err != unix.EEXIST {
				return err
			}
			return nil
		}
	}
	db, err = t.openDir(DatabaseDir, mkdir)
	if err != nil {
		return -1, nil, fmt.Errorf("database: %w", err)
	}
	lk, err := unix.Openat(db, lockName, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		unix.Close(db)
		return -1, nil, fmt.Errorf("database lock: %w", err)
	}
	for {
		err = unix.Flock(lk, unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	if err != nil {
		unix.Close(lk)
		unix.Close(db)
		return -1, nil, fmt.Errorf("database lock: %w", err)
	}
	return db, func() { unix.Close(lk); unix.Close(db) }, nil
}

// readRecords reads every record of the database db, sorted by ID.
func readRecords(db int) ([]*record, error) {
	names, err := readNames(db)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	sort.Strings(names)
	var recs []*record
	for _, n := range names {
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".json") {
			continue
		}
		rec, err := readRecord(db, n)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadRecord, filepath.Join(DatabaseDir, n), err)
		}
		recs = append(recs, rec)
	}
	slices.SortFunc(recs, func(a, b *record) int { return strings.Compare(a.ID, b.ID) })
	return recs, nil
}

func readRecord(db int, name string) (*record, error) {
	fd, err := unix.Openat(db, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var rec record
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, err
	}
	rec.file = name
	switch {
	case rec.Format != RecordFormat:
		return nil, fmt.Errorf("format %q, want %q", rec.Format, RecordFormat)
	case rec.validate() != nil:
		return nil, rec.validate()
	case recordName(rec.Category, rec.Name) != name:
		return nil, fmt.Errorf("holds %s, not %s", rec.ID, name)
	}
	for _, file := range rec.Files {
		if _, err := elems(file.Path); err != nil || file.Path == "/" {
			return nil, fmt.Errorf("%w: path %q", ErrUnsafePath, file.Path)
		}
		if reserved(file.Path) {
			return nil, fmt.Errorf("%w: %s", ErrReserved, file.Path)
		}
	}
	return &rec, nil
}

// writeRecord replaces the record's file in db with a temporary file
// renamed over it, synced.
func writeRecord(db int, rec *record) error {
	rec.Format = RecordFormat
	if rec.Files == nil {
		rec.Files = []File{}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp := tempName()
	fd, err := unix.Openat(db, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("write record %s: %w", rec.file, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(db, tmp, db, rec.file)
	}
	if err != nil {
		unix.Unlinkat(db, tmp, 0)
		return fmt.Errorf("write record %s: %w", rec.file, err)
	}
	return unix.Fsync(db)
}

// reserved reports whether p is the database's directory or under it.
func reserved(p string) bool {
	return p == reservedDir || strings.HasPrefix(p, reservedDir+"/")
}

// pathSet is a set of paths that answers "is anything below p in it".
type pathSet struct {
	sorted []string // byte order: a path's descendants are contiguous
	in     map[string]bool
}

func newPathSet(paths map[string]bool) *pathSet {
	s := &pathSet{in: paths}
	for p := range paths {
		s.sorted = append(s.sorted, p)
	}
	sort.Strings(s.sorted)
	return s
}

func (s *pathSet) has(p string) bool { return s.in[p] }

// below returns the members strictly under p.
func (s *pathSet) below(p string) []string {
	prefix := strings.TrimSuffix(p, "/") + "/"
	i := sort.SearchStrings(s.sorted, prefix)
	j := i
	for j < len(s.sorted) && strings.HasPrefix(s.sorted[j], prefix) {
		j++
	}
	return s.sorted[i:j]
}

// ownership says which other installed packages list a path.
type ownership struct {
	paths *pathSet
	by    map[string][]owner
}

type owner struct {
	rec  *record
	file File
}

func newOwnership(recs []*record) *ownership {
	o := &ownership{by: map[string][]owner{}}
	set := map[string]bool{}
	for _, rec := range recs {
		for _, f := range rec.Files {
			o.by[f.Path] = append(o.by[f.Path], owner{rec, f})
			set[f.Path] = true
		}
	}
	o.paths = newPathSet(set)
	return o
}

// foreign reports whether every package listing the directory p found it
// in the root.
func (o *ownership) foreign(p string) bool {
	for _, ow := range o.by[p] {
		if !ow.file.Foreign {
			return false
		}
	}
	return true
}

package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/etk-build/etk/internal/leftover"
)

// Cache is a folder of entries, one per build key:
//
//	<dir>/entries/<key[:2]>/<key>/artefact.tar.zst   (absent for virtual packages)
//	<dir>/entries/<key[:2]>/<key>/metadata.json
//	<dir>/history/<category>/<name>.json             the inputs of the last build
//	<dir>/locks/<key>.lock                           held while a key is built
//	<dir>/tmp/                                       entries being written
//	<dir>/tmp/run-*/ and run-*.lock                  one run's scratch files (image saves, spools)
//
// An entry appears by renaming a complete folder into place, so it is
// either all there or not there at all.
type Cache struct {
	dir string
}

// Entry is a cached build.
type Entry struct {
	Key      string
	Dir      string
	Artefact string // path of the artefact, "" when the package has none
	Metadata string // path of metadata.json
}

var keyRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Open opens (creating) a cache folder.
func Open(dir string) (*Cache, error) {
	for _, d := range []string{"entries", "history", "locks", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
	}
	return &Cache{dir: dir}, nil
}

// DefaultDir is the cache's default place: the user cache folder.
func DefaultDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "etk")
	}
	return filepath.Join(os.TempDir(), "etk-cache")
}

// Dir is the cache's folder.
func (c *Cache) Dir() string { return c.dir }

func (c *Cache) entryDir(key string) string {
	return filepath.Join(c.dir, "entries", key[:2], key)
}

// Get returns the entry of key, if it is complete.
func (c *Cache) Get(key string) (*Entry, bool) {
	if !keyRE.MatchString(key) {
		return nil, false
	}
	dir := c.entryDir(key)
	e := &Entry{Key: key, Dir: dir, Metadata: filepath.Join(dir, "metadata.json")}
	if _, err := os.Stat(e.Metadata); err != nil {
		return nil, false
	}
	if a := filepath.Join(dir, "artefact.tar.zst"); exists(a) {
		e.Artefact = a
	}
	return e, true
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Writer fills a new entry: the artefact (optional) and the metadata.
type Writer struct {
	c    *Cache
	key  string
	tmp  string
	done bool
}

// Create starts writing the entry of key in a temporary folder. Commit
// publishes it; Abort (or a crash) leaves nothing behind but a temporary
// folder that the next Open of a writer for the same key clears.
func (c *Cache) Create(key string) (*Writer, error) {
	if !keyRE.MatchString(key) {
		return nil, fmt.Errorf("cache: bad key %q", key)
	}
	tmp := filepath.Join(c.dir, "tmp", key)
	// A leftover from a killed run: we hold the key's lock, so it is dead.
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &Writer{c: c, key: key, tmp: tmp}, nil
}

// ArtefactPath is where to write the artefact before Commit.
func (w *Writer) ArtefactPath() string { return filepath.Join(w.tmp, "artefact.tar.zst") }

// WriteMetadata writes metadata.json from v.
func (w *Writer) WriteMetadata(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeSynced(filepath.Join(w.tmp, "metadata.json"), append(b, '\n'))
}

// Commit moves the entry into place.
func (w *Writer) Commit() (*Entry, error) {
	if w.done {
		return nil, errors.New("cache: entry already committed or aborted")
	}
	w.done = true
	if f := w.ArtefactPath(); exists(f) {
		if err := syncFile(f); err != nil {
			return nil, err
		}
	}
	dst := w.c.entryDir(w.key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(w.tmp, dst); err != nil {
		// Someone committed the same key meanwhile: keys name content, so
		// theirs is as good as ours.
		if e, ok := w.c.Get(w.key); ok {
			os.RemoveAll(w.tmp)
			return e, nil
		}
		return nil, fmt.Errorf("cache: commit %s: %w", w.key, err)
	}
	e, ok := w.c.Get(w.key)
	if !ok {
		return nil, fmt.Errorf("cache: commit %s: entry has no metadata", w.key)
	}
	return e, nil
}

// Abort drops the entry being written.
func (w *Writer) Abort() {
	if !w.done {
		w.done = true
		os.RemoveAll(w.tmp)
	}
}

func writeSynced(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Lock takes the build lock of key, waiting for another process holding
// it. The lock dies with the process, so a killed run never blocks the
// next one.
func (c *Cache) Lock(key string) (unlock func(), err error) {
	if !keyRE.MatchString(key) {
		return nil, fmt.Errorf("cache: bad key %q", key)
	}
	f, err := os.OpenFile(filepath.Join(c.dir, "locks", key+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("cache: lock %s: %w", key, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Open opens the artefact of an entry.
func (e *Entry) Open() (io.ReadCloser, error) {
	if e.Artefact == "" {
		return nil, fmt.Errorf("cache: entry %s has no artefact", e.Key)
	}
	return os.Open(e.Artefact)
}

// ReadMetadata decodes the entry's metadata into v.
func (e *Entry) ReadMetadata(v any) error {
	b, err := os.ReadFile(e.Metadata)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// runPattern names the scratch folders of runs in tmp/.
const runPattern = "run-*"

// RunDir makes a folder of tmp/ for one run's scratch files (the engine's
// image saves, the artefact writer's spools), locked until release, which
// removes it. It first removes the folders of runs that died (killed, out
// of power) and never those of live runs, however old: a folder is a
// dead run's when nobody holds its lock (internal/leftover).
func (c *Cache) RunDir() (dir string, release func() error, err error) {
	tmp := filepath.Join(c.dir, "tmp")
	if _, err := leftover.Sweep(tmp, runPattern); err != nil {
		return "", nil, fmt.Errorf("cache: clean what dead runs left: %w", err)
	}
	d, release, err := leftover.MkdirTemp(tmp, "run-")
	if err != nil {
		return "", nil, fmt.Errorf("cache: %w", err)
	}
	return d, release, nil
}

// Leftover is scratch space found in tmp/: a run's folder, or an entry
// being written.
type Leftover struct {
	leftover.Entry
	// Kind is "run" (a run's scratch folder) or "entry" (an entry being
	// written, whose key nobody builds).
	Kind string
}

// Leftovers lists what runs left in tmp/, live (Live) or dead; with
// remove, it removes the dead ones. Entries being written count as dead
// when nobody holds their key's lock.
func (c *Cache) Leftovers(remove bool) ([]Leftover, error) {
	tmp := filepath.Join(c.dir, "tmp")
	scan := leftover.Scan
	if remove {
		scan = leftover.Sweep
	}
	runs, err := scan(tmp, runPattern)
	var out []Leftover
	for _, e := range runs {
		out = append(out, Leftover{Entry: e, Kind: "run"})
	}
	des, rerr := os.ReadDir(tmp)
	if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return out, rerr
	}
	for _, de := range des {
		if !de.IsDir() || !keyRE.MatchString(de.Name()) {
			continue
		}
		e, lerr := c.entryLeftover(de.Name(), remove)
		if lerr != nil {
			err = errors.Join(err, lerr)
			continue
		}
		out = append(out, e)
	}
	return out, err
}

// entryLeftover describes tmp/<key>, dead unless its key's lock is held.
func (c *Cache) entryLeftover(key string, remove bool) (Leftover, error) {
	p := filepath.Join(c.dir, "tmp", key)
	e := Leftover{Entry: leftover.Entry{Path: p}, Kind: "entry"}
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				e.Size += fi.Size()
			}
		}
		return nil
	})
	f, err := os.OpenFile(filepath.Join(c.dir, "locks", key+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return e, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		e.Live = true
		return e, nil
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if remove {
		return e, os.RemoveAll(p)
	}
	return e, nil
}

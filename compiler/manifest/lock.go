package manifest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Upstream is one `extends:` entry: a repository this project builds on.
type Upstream struct {
	// Name names the upstream in messages and in etk.lock.
	Name string `yaml:"name"`
	// URL is the repository (a folder, http(s)://, oci://).
	URL string `yaml:"url"`
	// Trust are the upstream's public key files, relative to the manifest.
	Trust []string `yaml:"trust"`
}

// LockFile is the lock's name, beside the manifest.
const LockFile = "etk.lock"

// Lock pins each upstream to one signed revision.
type Lock struct {
	Upstreams []Pin `yaml:"upstreams"`
}

// Pin is one upstream's pinned revision. etk lock and etk update move a
// pin only forward along the repository's history: to a later revision
// whose chain of previous snapshots holds the pinned one, of the same
// Repository; anything else (an older revision, another repository
// signed by the same keys, the pinned revision rewritten) needs
// --allow-rollback or --allow-repo-change.
type Pin struct {
	Name     string `yaml:"name"`
	URL      string `yaml:"url"`
	Revision int64  `yaml:"revision"`
	// Repository is the name the upstream's snapshots carry (and
	// sign); empty in locks written before it was recorded.
	Repository string   `yaml:"repository,omitempty"`
	Snapshot   string   `yaml:"snapshot"` // sha256 of the signed snapshot
	Keys       []string `yaml:"keys"`     // ids of the keys that signed it
}

// Pin returns the pin of upstream name.
func (l *Lock) Pin(name string) (*Pin, bool) {
	for i := range l.Upstreams {
		if l.Upstreams[i].Name == name {
			return &l.Upstreams[i], true
		}
	}
	return nil, false
}

// LockPath is where the project's lock is.
func (m *Manifest) LockPath() string { return filepath.Join(m.Dir, LockFile) }

// ReadLock reads etk.lock; a missing lock is an error saying how to make it.
func (m *Manifest) ReadLock() (*Lock, error) {
	f, err := os.Open(m.LockPath())
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%s: the manifest extends upstream repositories but there is no lock; run etk lock", m.LockPath())
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A lock is a few lines a pin; one that is not is not read whole.
	b, err := io.ReadAll(io.LimitReader(f, MaxLockSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxLockSize {
		return nil, fmt.Errorf("%s: larger than the %d bytes a lock may have", m.LockPath(), MaxLockSize)
	}
	var l Lock
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%s: %w", m.LockPath(), err)
	}
	return &l, nil
}

// MaxLockSize bounds etk.lock.
const MaxLockSize = 1 << 20

// WriteLock writes etk.lock (to a temporary name, then renamed).
func (m *Manifest) WriteLock(l *Lock) error {
	b, err := yaml.Marshal(l)
	if err != nil {
		return err
	}
	b = append([]byte("# etk.lock: the upstream revisions this project builds on. Written by\n# etk lock and etk update; commit it.\n"), b...)
	tmp := m.LockPath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, m.LockPath())
}

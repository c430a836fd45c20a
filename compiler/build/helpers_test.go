package build_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
)

// smallTree: a base, two packages on it (one with a script in its
// context), one on both, and a meta package (virtual) needing that one.
func smallTree() fstest.MapFS {
	return fstest.MapFS{
		"base/definition.yaml": {Data: []byte("name: base\ncategory: distro\nversion: 1.0\n")},
		"base/build.yaml":      {Data: []byte("image: etk.local/nothing:1\nsteps: [true]\n")},
		"base/motd":            {Data: []byte("hello\n"), Mode: 0o644},
		"a/definition.yaml":    {Data: []byte("name: a\ncategory: apps\nversion: 1.0\n")},
		"a/build.yaml":         {Data: []byte("requires: [{name: base, category: distro}]\nsteps: [./a.sh]\n")},
		"a/a.sh":               {Data: []byte("#!/bin/sh\necho a\n"), Mode: 0o755},
		"b/definition.yaml":    {Data: []byte("name: b\ncategory: apps\nversion: 1.0\n")},
		"b/build.yaml":         {Data: []byte("requires: [{name: base, category: distro}]\nsteps: [true]\n")},
		"c/definition.yaml":    {Data: []byte("name: c\ncategory: apps\nversion: 1.0\n")},
		"c/build.yaml":         {Data: []byte("requires: [{name: a, category: apps}, {name: b, category: apps}]\nsteps: [true]\n")},
		"meta/definition.yaml": {Data: []byte("name: all\ncategory: meta\nversion: 1\nrequires: [{name: c, category: apps}]\n")},
		"meta/build.yaml":      {Data: []byte("")},
	}
}

const (
	baseID = "distro/base@1.0"
	aID    = "apps/a@1.0"
	bID    = "apps/b@1.0"
	cID    = "apps/c@1.0"
	allID  = "meta/all@1"
)

// project is a loaded tree and its plan of every package.
type project struct {
	s *compiler.Session
	p *plan.Plan
}

func load(t testing.TB, fsys fstest.MapFS) project {
	t.Helper()
	ctx := context.Background()
	s, diags := compiler.Load(ctx, compiler.Config{Trees: []tree.Source{{Name: "t", FS: fsys}}, Values: values.Values{}})
	if s == nil || diags.HasErrors() {
		t.Fatal(diags)
	}
	p, diags := s.Plan(ctx, s.Graph.Nodes)
	if p == nil {
		t.Fatal(diags)
	}
	return project{s, p}
}

func (pr project) step(t testing.TB, id string) *plan.Step {
	t.Helper()
	for _, s := range pr.p.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s", id)
	return nil
}

func openCache(t testing.TB, dir string) *cache.Cache {
	t.Helper()
	c, err := cache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// logs is a Log that keeps its lines.
type logs struct{ lines []string }

func (l *logs) log(line string) { l.lines = append(l.lines, line) }

func states(sum *build.Summary) map[string]build.EventKind {
	out := map[string]build.EventKind{}
	for _, r := range sum.Results {
		out[r.Step.ID] = r.State
	}
	return out
}

// entryFiles lists what the entry of key holds, as "name sha256" lines.
func entryFiles(t testing.TB, c *cache.Cache, key string) []string {
	t.Helper()
	e, ok := c.Get(key)
	if !ok {
		t.Fatalf("no entry %s", key)
	}
	var out []string
	for _, p := range []string{e.Metadata, e.Artefact} {
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %x", filepath.Base(p), sha256.Sum256(data)))
	}
	return out
}

// artefactText returns the content of each regular file of an entry's
// artefact, by path.
func artefactText(t testing.TB, c *cache.Cache, key string) map[string]string {
	t.Helper()
	e, ok := c.Get(key)
	if !ok {
		t.Fatalf("no entry %s", key)
	}
	f, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	_, err = artifact.Walk(context.Background(), f, func(fi artifact.File, r io.Reader) error {
		if fi.Type != artifact.TypeFile {
			return nil
		}
		data, err := io.ReadAll(r)
		out[fi.Path] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// leftovers lists what the cache's scratch folder holds: a build that
// failed or was stopped must leave nothing there.
func leftovers(t testing.TB, c *cache.Cache) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(c.Dir(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// waitForLockWaiter returns once some open file description waits for
// the lock of key in c (Linux: a "->" line in /proc/locks), so a test
// knows a second run is blocked on the lock and not merely slow.
func waitForLockWaiter(t testing.TB, c *cache.Cache, key string) {
	t.Helper()
	path := filepath.Join(c.Dir(), "locks", key+".lock")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil {
			ino := fi.Sys().(*syscall.Stat_t).Ino
			data, err := os.ReadFile("/proc/locks")
			if err != nil {
				t.Fatalf("read /proc/locks: %v", err)
			}
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) > 6 && f[1] == "->" && strings.HasSuffix(f[6], fmt.Sprintf(":%d", ino)) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nobody waits for the lock of %s", key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

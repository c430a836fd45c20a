package docker_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/google/go-cmp/cmp"
)

const memBase = "etk.local/mem/base:1"

// memTree: a base unpacked from an image (full extraction), a and b on
// it (delta), c on a with b's artefact layered in (an artefact image).
func memTree(extra map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		"base/definition.yaml": {Data: []byte("name: base\ncategory: distro\nversion: 1.0\n")},
		"base/build.yaml":      {Data: []byte("image: " + memBase + "\nunpack: true\nsteps: [echo base]\n")},
		"a/definition.yaml":    {Data: []byte("name: a\ncategory: apps\nversion: 1.0\n")},
		"a/build.yaml":         {Data: []byte("requires: [{name: base, category: distro}]\nsteps: [echo a]\n")},
		"a/a.sh":               {Data: []byte("echo a\n")},
		"b/definition.yaml":    {Data: []byte("name: b\ncategory: apps\nversion: 1.0\n")},
		"b/build.yaml":         {Data: []byte("requires: [{name: base, category: distro}]\nsteps: [echo b]\n")},
		"c/definition.yaml":    {Data: []byte("name: c\ncategory: apps\nversion: 1.0\n")},
		"c/build.yaml":         {Data: []byte("requires: [{name: a, category: apps}, {name: b, category: apps}]\nsteps: [echo c]\n")},
	}
	for k, v := range extra {
		fsys[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fsys
}

type memRun struct {
	sum   *build.Summary
	err   error
	steps map[string]*plan.Step
	logs  map[string][]string
}

func runMem(t *testing.T, e *memEngine, c *cache.Cache, fsys fstest.MapFS) memRun {
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
	r := memRun{steps: map[string]*plan.Step{}, logs: map[string][]string{}}
	for _, st := range p.Steps {
		r.steps[st.ID] = st
	}
	var mu sync.Mutex
	listen := func(ev build.Event) {
		if ev.Kind == build.LogLine {
			mu.Lock()
			r.logs[ev.ID] = append(r.logs[ev.ID], ev.Line)
			mu.Unlock()
		}
	}
	b := build.New(docker.NewBackend(e, s, docker.WithTempDir(t.TempDir())), c, p, s)
	r.sum, r.err = build.Run(ctx, p, p.Steps, b, build.Options{Jobs: 2, KeepGoing: true, Listener: listen})
	return r
}

func (r memRun) state(id string) build.EventKind {
	for _, res := range r.sum.Results {
		if res.Step.ID == id {
			return res.State
		}
	}
	return ""
}

func files(t *testing.T, c *cache.Cache, key string) []string {
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
	m, err := artifact.List(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fi := range m.Files {
		out = append(out, fi.Path)
	}
	return out
}

// The Docker backend on an engine in memory: full and delta extraction,
// an artefact image imported from the input artefact, input images made
// again when the engine lost them, and a failed build's images dropped.
func TestBackendOnMemEngine(t *testing.T) {
	e := newMemEngine(memBase, map[string]string{"etc/os-release": "mem\n"})
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := runMem(t, e, c, memTree(nil))
	if r.err != nil {
		t.Fatalf("run: %v", r.err)
	}
	// unpack: the base image's layers and the steps'; the build context
	// folder is never part of a package.
	if diff := cmp.Diff([]string{"/etc", "/etc/os-release", "/steps", "/steps/base"}, files(t, c, r.steps["distro/base@1.0"].Key)); diff != "" {
		t.Errorf("base (-want +got):\n%s", diff)
	}
	// Delta: what the package image has over its builder.
	if diff := cmp.Diff([]string{"/steps", "/steps/a"}, files(t, c, r.steps["apps/a@1.0"].Key)); diff != "" {
		t.Errorf("a (-want +got):\n%s", diff)
	}
	b, cs := r.steps["apps/b@1.0"], r.steps["apps/c@1.0"]
	if !e.called("import " + b.Artefact) {
		t.Errorf("b's artefact image was not imported for c: %v", e.calls)
	}

	// The engine loses a's package image and b's artefact image; c
	// changes. c's build makes a's image again from its Dockerfiles and
	// imports b's artefact from the cache again; a and b stay cached.
	e.drop(r.steps["apps/a@1.0"].Image)
	e.drop(b.Artefact)
	e.calls = nil
	r2 := runMem(t, e, c, memTree(map[string]string{"c/new.txt": "new\n"}))
	if r2.err != nil {
		t.Fatalf("second run: %v", r2.err)
	}
	if got := r2.state("apps/a@1.0"); got != build.Cached {
		t.Errorf("a: %s", got)
	}
	if got := r2.state("apps/c@1.0"); got != build.Built {
		t.Errorf("c: %s", got)
	}
	a := r2.steps["apps/a@1.0"]
	if !e.called("build "+a.Image) || !e.called("import "+b.Artefact) {
		t.Errorf("calls: %v", e.calls)
	}
	if !slices.Contains(r2.logs["apps/c@1.0"], "etk: image of apps/a@1.0 is not in the engine; building it again") {
		t.Errorf("c's log: %v", r2.logs["apps/c@1.0"])
	}
	if r2.steps["apps/c@1.0"].Key == cs.Key {
		t.Error("c's key did not change")
	}

	// A failing step: its images go, no entry stays, the rest is built.
	e.fail = "echo b2"
	r3 := runMem(t, e, c, memTree(map[string]string{"b/build.yaml": "requires: [{name: base, category: distro}]\nsteps: [echo b2]\n"}))
	if r3.err == nil || !strings.Contains(r3.err.Error(), "returned a non-zero code") {
		t.Errorf("error: %v", r3.err)
	}
	b3 := r3.steps["apps/b@1.0"]
	if r3.state("apps/b@1.0") != build.Failed || r3.state("apps/c@1.0") != build.Skipped {
		t.Errorf("b %s, c %s", r3.state("apps/b@1.0"), r3.state("apps/c@1.0"))
	}
	if e.has(b3.BuilderImage) || e.has(b3.Image) || !e.called("remove "+b3.Image) || !e.called("remove "+b3.BuilderImage) {
		t.Errorf("the failed build's images stay: %v", e.calls)
	}
	if _, ok := c.Get(b3.Key); ok {
		t.Error("the failed build left an entry")
	}

	// A cache entry whose artefact expands past what its metadata says
	// (one fetched from a hostile registry cache) is not imported.
	be, ok := c.Get(b.Key)
	if !ok {
		t.Fatal("no entry for b")
	}
	raw, err := os.ReadFile(be.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	var md build.Metadata
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	md.Artefact.Size = 16 // fewer bytes than the file has
	lie, _ := json.Marshal(md)
	if err := os.WriteFile(be.Metadata, lie, 0o644); err != nil {
		t.Fatal(err)
	}
	e.drop(b.Artefact)
	r4 := runMem(t, e, c, memTree(map[string]string{"c/newer.txt": "newer\n"}))
	if r4.err == nil || !strings.Contains(r4.err.Error(), "artefact of apps/b@1.0") {
		t.Errorf("a lying entry was imported: %v", r4.err)
	}
}

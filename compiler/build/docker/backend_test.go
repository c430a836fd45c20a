package docker_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/internal/dockertest"
	"github.com/google/go-cmp/cmp"
)

// smallTree covers the shapes of the issue: a base (unpack), a package on
// it that modifies and deletes files of the base, one with includes, one
// on two siblings, a collection with excludes, package_dir, a meta.
var smallTree = map[string]string{
	"base/definition.yaml": "name: base\ncategory: distro\nversion: 1.0\n",
	"base/build.yaml": `image: {{ .Values.image }}
unpack: true
steps:
- mkdir -p /etc /usr/share && echo base > /etc/base.conf && echo doomed > /usr/share/doomed
excludes:
- ^/tmp
`,
	"a/definition.yaml": "name: a\ncategory: apps\nversion: 1.0\nrequires: [{name: base, category: distro}]\n",
	"a/build.yaml": `requires: [{name: base, category: distro}]
steps:
- mkdir -p /usr/bin && cp a.sh /usr/bin/a && chmod 0755 /usr/bin/a
- echo "a was here" >> /etc/base.conf
- rm /usr/share/doomed
`,
	"a/a.sh":            "#!/bin/sh\necho a\n",
	"b/definition.yaml": "name: b\ncategory: apps\nversion: 1.0\n",
	"b/build.yaml": `requires: [{name: base, category: distro}]
steps:
- mkdir -p /opt/b /opt/junk && echo b > /opt/b/b.txt && echo junk > /opt/junk/j
includes:
- ^/opt/b
`,
	"c/definition.yaml": "name: c\ncategory: apps\nversion: 1.0\n",
	"c/build.yaml": `requires:
- {name: a, category: apps}
- {name: b, category: apps}
steps:
- cat /opt/b/b.txt > /c.txt && /usr/bin/a >> /c.txt
`,
	"tools/collection.yaml": "packages:\n- &t {name: t1, category: tools, version: 0.1}\n- <<: *t\n  name: t2\n",
	"tools/build.yaml": `requires: [{name: base, category: distro}]
steps:
- mkdir -p /usr/share/tools && echo {{ .Values.name }} > /usr/share/tools/{{ .Values.name }} && echo x > /usr/share/tools/{{ .Values.name }}.extra
excludes:
- \.extra$
`,
	"pd/definition.yaml": "name: pd\ncategory: apps\nversion: 1.0\n",
	"pd/build.yaml":      "requires: [{name: base, category: distro}]\nsteps:\n- mkdir -p /out/x && echo pd > /out/x/f\npackage_dir: /out\n",
	"meta/definition.yaml": `name: all
category: meta
version: 1
requires:
- {name: c, category: apps}
- {name: t1, category: tools}
- {name: t2, category: tools}
- {name: pd, category: apps}
`,
	"meta/build.yaml": "",
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type run struct {
	sum   *build.Summary
	err   error
	cache *cache.Cache
	keys  map[string]string
}

func (r run) states() map[string]string {
	out := map[string]string{}
	for _, res := range r.sum.Results {
		out[res.Step.ID] = string(res.State)
	}
	return out
}

func (r run) built() []string {
	var out []string
	for _, res := range r.sum.Results {
		if res.State == build.Built {
			out = append(out, res.Step.ID)
		}
	}
	sort.Strings(out)
	return out
}

func compile(t *testing.T, e *docker.Engine, dir, cacheDir string, keepGoing bool) run {
	t.Helper()
	ctx := context.Background()
	s, diags := compiler.Load(ctx, compiler.Config{
		Trees:  []tree.Source{{Name: "t", FS: os.DirFS(dir)}},
		Values: values.Values{"image": dockertest.BaseImage},
	})
	if s == nil {
		t.Fatal(diags)
	}
	s.SetImageDigest(func(ref string) (string, error) { return e.Resolve(ctx, ref, false) })
	targets, _ := s.Targets([]string{"meta/all"})
	all, _ := s.WithRuntime(targets)
	p, diags := s.Plan(ctx, all)
	if p == nil {
		t.Fatal(diags)
	}
	c, err := cache.Open(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	b := build.New(docker.NewBackend(e, s, docker.WithTempDir(t.TempDir())), c, p, s)
	sum, err := build.Run(ctx, p, p.Steps, b, build.Options{Jobs: 2, KeepGoing: keepGoing})
	keys := map[string]string{}
	for _, st := range p.Steps {
		keys[st.ID] = st.Key
	}
	return run{sum, err, c, keys}
}

// contents lists an artefact as "path type mode [content]" lines and its
// deletions as "-path".
func contents(t *testing.T, c *cache.Cache, key string) []string {
	t.Helper()
	e, ok := c.Get(key)
	if !ok {
		t.Fatalf("no cache entry %s", key)
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
	files, deletions := m.Files, m.Deletions
	var out []string
	for _, fi := range files {
		out = append(out, strings.TrimSpace(fi.Path+" "+fi.Type+" "+fi.Link))
	}
	for _, d := range deletions {
		out = append(out, "-"+d)
	}
	return out
}

func TestDockerCompileTree(t *testing.T) {
	e := dockertest.Engine(t)
	dir := writeTree(t, smallTree)
	cacheDir := t.TempDir()

	first := compile(t, e, dir, cacheDir, false)
	if first.err != nil {
		t.Fatalf("compile: %v", first.err)
	}
	want := []string{"apps/a@1.0", "apps/b@1.0", "apps/c@1.0", "apps/pd@1.0", "distro/base@1.0", "meta/all@1", "tools/t1@0.1", "tools/t2@0.1"}
	if diff := cmp.Diff(want, first.built()); diff != "" {
		t.Errorf("built (-want +got):\n%s", diff)
	}

	// Exact artefacts.
	for id, wantFiles := range map[string][]string{
		// Parent folders the steps touched are part of the change (their
		// mode and owner), as the layers record them.
		"apps/a@1.0":   {"/etc dir", "/etc/base.conf file", "/usr dir", "/usr/bin dir", "/usr/bin/a file", "/usr/share dir", "-/usr/share/doomed"},
		"apps/b@1.0":   {"/opt dir", "/opt/b dir", "/opt/b/b.txt file"},
		"apps/c@1.0":   {"/c.txt file"},
		"tools/t1@0.1": {"/usr dir", "/usr/share dir", "/usr/share/tools dir", "/usr/share/tools/t1 file"},
		"apps/pd@1.0":  {"/x dir", "/x/f file"},
	} {
		got := contents(t, first.cache, first.keys[id])
		if diff := cmp.Diff(wantFiles, got); diff != "" {
			t.Errorf("%s artefact (-want +got):\n%s", id, diff)
		}
	}
	base := contents(t, first.cache, first.keys["distro/base@1.0"])
	for _, f := range []string{"/bin/busybox file", "/etc/base.conf file", "/usr/share/doomed file"} {
		if !slicesContains(base, f) {
			t.Errorf("base artefact lacks %s", f)
		}
	}

	// A second compile builds nothing.
	second := compile(t, e, dir, cacheDir, false)
	if second.err != nil || len(second.built()) != 0 {
		t.Errorf("second compile built %v (%v)", second.built(), second.err)
	}

	// Changing a's script rebuilds a and what is built from it, nothing else.
	changed := map[string]string{}
	for k, v := range smallTree {
		changed[k] = v
	}
	changed["a/a.sh"] = "#!/bin/sh\necho A\n"
	dir2 := writeTree(t, changed)
	third := compile(t, e, dir2, cacheDir, false)
	if diff := cmp.Diff([]string{"apps/a@1.0", "apps/c@1.0"}, third.built()); diff != "" {
		t.Errorf("after editing a.sh (-want +got):\n%s", diff)
	}

	// The same keys give the same artefacts from a clean cache.
	fresh := compile(t, e, dir, t.TempDir(), false)
	for id, key := range first.keys {
		e1, _ := first.cache.Get(key)
		e2, ok := fresh.cache.Get(key)
		if !ok {
			t.Errorf("%s missing from the second cache", id)
			continue
		}
		if digest(t, e1) != digest(t, e2) {
			t.Errorf("%s: artefacts differ between two clean builds", id)
		}
	}
}

func TestDockerFailingStep(t *testing.T) {
	e := dockertest.Engine(t)
	broken := map[string]string{}
	for k, v := range smallTree {
		broken[k] = v
	}
	broken["b/build.yaml"] = "requires: [{name: base, category: distro}]\nsteps:\n- echo about to fail\n- exit 3\n"
	dir := writeTree(t, broken)
	r := compile(t, e, dir, t.TempDir(), true)
	if r.err == nil || !strings.Contains(r.err.Error(), "apps/b@1.0") || !strings.Contains(r.err.Error(), "exit 3") {
		t.Errorf("error: %v", r.err)
	}
	got := r.states()
	for id, want := range map[string]string{
		"apps/b@1.0": "failed", "apps/c@1.0": "skipped",
		// A meta package is built from nothing: its runtime requirements
		// failing does not stop its metadata.
		"meta/all@1": "built",
		"apps/a@1.0": "built", "tools/t1@0.1": "built", "apps/pd@1.0": "built",
	} {
		if got[id] != want {
			t.Errorf("%s: %s, want %s", id, got[id], want)
		}
	}
}

func digest(t *testing.T, e *cache.Entry) string {
	var m build.Metadata
	if err := e.ReadMetadata(&m); err != nil {
		t.Fatal(err)
	}
	if m.Artefact == nil {
		return "virtual"
	}
	return m.Artefact.Digest
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

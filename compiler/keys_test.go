package compiler_test

import (
	"context"
	"io/fs"
	"maps"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/google/go-cmp/cmp"
)

// baseTree is a small tree: a base image, a collection of three entries on
// it, a package on two of them, and a meta package.
func baseTree() fstest.MapFS {
	return fstest.MapFS{
		"base/definition.yaml": {Data: []byte("name: base\ncategory: distro\nversion: 1.0\n")},
		"base/build.yaml":      {Data: []byte("image: {{ .Values.image }}\nunpack: true\n")},
		"tools/collection.yaml": {Data: []byte(`packages:
  - &t
    name: a
    category: tools
    version: 1.0.0
    flag: x
  - <<: *t
    name: b
  - <<: *t
    name: c
`)},
		"tools/build.yaml": {Data: []byte(`requires:
- {name: base, category: distro, version: ">=0"}
steps:
- echo {{ .Values.name }} {{ .Values.flag }} > /{{ .Values.name }}
`)},
		"tools/script.sh":     {Data: []byte("#!/bin/sh\necho hi\n"), Mode: 0o755},
		"app/definition.yaml": {Data: []byte("name: app\ncategory: apps\nversion: 2.0\n")},
		"app/build.yaml": {Data: []byte(`requires:
- {name: a, category: tools, version: ">=0"}
- {name: b, category: tools, version: ">=0"}
steps: [make]
`)},
		"app/Makefile":         {Data: []byte("all:\n")},
		"meta/definition.yaml": {Data: []byte("name: all\ncategory: meta\nversion: 1\nrequires:\n- {name: app, category: apps}\n")},
		"meta/build.yaml":      {Data: []byte("")},
	}
}

func keys(t *testing.T, fsys fs.FS, vals values.Values) map[string]string {
	t.Helper()
	s, diags := compiler.Load(context.Background(), compiler.Config{
		Trees:  []tree.Source{{Name: "t", FS: fsys}},
		Values: vals,
	})
	if s == nil {
		t.Fatalf("load: %v", diags)
	}
	p, diags := s.Plan(context.Background(), s.Graph.Nodes)
	if p == nil {
		t.Fatalf("plan: %v", diags)
	}
	out := map[string]string{}
	for _, st := range p.Steps {
		out[st.ID] = st.Key
	}
	return out
}

// changed lists the packages whose key differs.
func changed(a, b map[string]string) []string {
	var out []string
	for _, id := range sortedKeys(a, b) {
		if a[id] != b[id] {
			out = append(out, id)
		}
	}
	return out
}

func sortedKeys(ms ...map[string]string) []string {
	set := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			set[k] = true
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestKeysChangeOnlyWhereInputsChange(t *testing.T) {
	vals := values.Values{"image": "debian:12"}
	before := keys(t, baseTree(), vals)

	for _, tc := range []struct {
		name   string
		edit   func(fstest.MapFS)
		vals   values.Values
		change []string
	}{
		{
			name:   "nothing",
			edit:   func(fstest.MapFS) {},
			change: nil,
		},
		{
			name: "one collection entry",
			edit: func(f fstest.MapFS) {
				f["tools/collection.yaml"] = &fstest.MapFile{Data: []byte(`packages:
  - &t
    name: a
    category: tools
    version: 1.0.0
    flag: x
  - <<: *t
    name: b
    flag: y
  - <<: *t
    name: c
`)}
			},
			change: []string{"apps/app@2.0", "tools/b@1.0.0"},
		},
		{
			name:   "a context file",
			edit:   func(f fstest.MapFS) { f["app/Makefile"] = &fstest.MapFile{Data: []byte("all: x\n")} },
			change: []string{"apps/app@2.0"},
		},
		{
			name:   "a file mode",
			edit:   func(f fstest.MapFS) { f["tools/script.sh"].Mode = 0o644 },
			change: []string{"apps/app@2.0", "tools/a@1.0.0", "tools/b@1.0.0", "tools/c@1.0.0"},
		},
		{
			name:   "the base image",
			edit:   func(fstest.MapFS) {},
			vals:   values.Values{"image": "debian:13"},
			change: []string{"apps/app@2.0", "distro/base@1.0", "tools/a@1.0.0", "tools/b@1.0.0", "tools/c@1.0.0"},
		},
		{
			name:   "a value no template uses",
			edit:   func(fstest.MapFS) {},
			vals:   values.Values{"image": "debian:12", "unused": true},
			change: nil,
		},
		{
			name: "a sibling removed",
			edit: func(f fstest.MapFS) {
				f["tools/collection.yaml"] = &fstest.MapFile{Data: []byte("packages:\n- {name: a, category: tools, version: 1.0.0, flag: x}\n- {name: b, category: tools, version: 1.0.0, flag: x}\n")}
			},
			change: []string{"tools/c@1.0.0"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := maps.Clone(baseTree())
			for k, v := range f {
				cp := *v
				f[k] = &cp
			}
			tc.edit(f)
			v := vals
			if tc.vals != nil {
				v = tc.vals
			}
			after := keys(t, f, v)
			if diff := cmp.Diff(tc.change, changed(before, after)); diff != "" {
				t.Errorf("changed keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeysAreDeterministic(t *testing.T) {
	vals := values.Values{"image": "debian:12", "m": map[string]any{"a": 1, "b": 2, "c": 3}}
	first := keys(t, baseTree(), vals)
	for i := 0; i < 20; i++ {
		if diff := cmp.Diff(first, keys(t, baseTree(), vals)); diff != "" {
			t.Fatalf("run %d differs:\n%s", i, diff)
		}
	}
}

// TestClockInKeys: a spec that reads the pinned clock keys on it (and says
// so in its inputs); the others do not change when the clock does. The
// same clock gives the same keys.
func TestClockInKeys(t *testing.T) {
	fsys := baseTree()
	fsys["stamp/definition.yaml"] = &fstest.MapFile{Data: []byte("name: stamp\ncategory: apps\nversion: 1\n")}
	fsys["stamp/build.yaml"] = &fstest.MapFile{Data: []byte("image: alpine\nsteps:\n- echo {{ now | date \"2006-01-02\" }} > /stamp\n")}
	at := func(clock time.Time) (map[string]string, *compiler.Session) {
		s, diags := compiler.Load(context.Background(), compiler.Config{
			Trees: []tree.Source{{Name: "t", FS: fsys}}, Values: values.Values{"image": "alpine"}, Clock: clock,
		})
		if s == nil || diags.HasErrors() {
			t.Fatalf("load: %v", diags)
		}
		p, diags := s.Plan(context.Background(), s.Graph.Nodes)
		if p == nil {
			t.Fatalf("plan: %v", diags)
		}
		out := map[string]string{}
		for _, st := range p.Steps {
			out[st.ID] = st.Key
			if st.ID == "apps/stamp@1" && !slices.Contains(st.Inputs, plan.Input{Kind: "clock", Name: "now", Digest: clock.UTC().Format(time.RFC3339)}) {
				t.Errorf("stamp's inputs do not record the clock: %v", st.Inputs)
			}
		}
		return out, s
	}
	a, _ := at(time.Unix(1700000000, 0))
	again, _ := at(time.Unix(1700000000, 0))
	b, _ := at(time.Unix(1800000000, 0))
	if diff := cmp.Diff(a, again); diff != "" {
		t.Errorf("same clock, other keys:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"apps/stamp@1"}, changed(a, b)); diff != "" {
		t.Errorf("changed by the clock (-want +got):\n%s", diff)
	}
}

// TestFinalizeIsATemplate: finalize.yaml renders with the package's values,
// per collection entry, as build.yaml does.
func TestFinalizeIsATemplate(t *testing.T) {
	fsys := fstest.MapFS{
		"c/collection.yaml": {Data: []byte("packages:\n- {name: a, category: c, version: 1, svc: true}\n- {name: b, category: c, version: 1}\n")},
		"c/build.yaml":      {Data: []byte("image: alpine\nsteps: [true]\n")},
		"c/finalize.yaml": {Data: []byte(`install:
- echo {{ .Values.name }} {{ .Values.flavor }}
{{ if .Values.svc }}
- systemctl enable {{ .Values.name }}.service
{{ end }}
`)},
	}
	s, diags := compiler.Load(context.Background(), compiler.Config{
		Trees: []tree.Source{{Name: "t", FS: fsys}}, Values: values.Values{"flavor": "debian"},
	})
	if s == nil || diags.HasErrors() {
		t.Fatalf("load: %v", diags)
	}
	got := map[string][]string{}
	for _, p := range s.Tree.Packages {
		got[p.ID()] = p.Finalize.Install
	}
	want := map[string][]string{
		"c/a@1": {"echo a debian", "systemctl enable a.service"},
		"c/b@1": {"echo b debian"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
}

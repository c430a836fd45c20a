package project

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/repository/compiletree"
)

// TestExtendsCycle: a project built, through its upstreams, on itself is
// named as a cycle with its path, not as packages defined twice.
func TestExtendsCycle(t *testing.T) {
	// acme extends extras; extras was built on foundation and on acme.
	err := ExtendsCycle("acme", map[string][]string{"": {"extras"}, "extras": {"foundation", "acme"}, "foundation": nil})
	if err == nil || err.Error() != "extends cycle: acme -> extras -> acme (a repository cannot be built on itself)" {
		t.Errorf("got %v", err)
	}
	if err := ExtendsCycle("acme", map[string][]string{"": {"extras", "foundation"}, "extras": {"foundation"}}); err != nil {
		t.Errorf("a diamond: %v", err)
	}
	if err := ExtendsCycle("acme", map[string][]string{"": {"acme"}}); err == nil || !strings.Contains(err.Error(), "acme -> acme") {
		t.Errorf("extending itself: %v", err)
	}
}

// TestUpstreamTreesOnce: two upstreams built on one revision of a
// repository bring its trees once; on two revisions, an error says so.
func TestUpstreamTreesOnce(t *testing.T) {
	f := fstest.MapFS{"base/definition.yaml": {Data: []byte("name: base\nversion: 1\n")}}
	a := &compiletree.CompileTree{Trees: []compiletree.Tree{{Origin: "foundation", Revision: 3, FS: f}, {Origin: "a", Revision: 1, Overlay: true, FS: fstest.MapFS{}}}}
	b := &compiletree.CompileTree{Trees: []compiletree.Tree{{Origin: "foundation", Revision: 3, FS: f}, {Origin: "b", Revision: 7, Overlay: true, FS: fstest.MapFS{}}}}
	p := &Project{}
	if err := p.addUpstreamTrees("a", a); err != nil {
		t.Fatal(err)
	}
	if err := p.addUpstreamTrees("b", b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Config.Trees {
		got = append(got, s.Name)
		if s.Origin != "foundation" && !s.Overlay {
			t.Errorf("%s lost its overlay flag", s.Name)
		}
	}
	if strings.Join(got, " ") != "upstream:foundation/0 upstream:a/0 upstream:b/0" {
		t.Errorf("trees: %v", got)
	}
	c := &compiletree.CompileTree{Trees: []compiletree.Tree{{Origin: "foundation", Revision: 4, FS: f}}}
	if err := p.addUpstreamTrees("c", c); err == nil || !strings.Contains(err.Error(), "revision 4 of foundation, another upstream on revision 3") {
		t.Errorf("two revisions: %v", err)
	}
}

func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestOpen: the layering order of values, the clock, targets and the
// repository name, as every command gets them.
func TestOpen(t *testing.T) {
	dir := write(t, map[string]string{
		"manifest.yaml":           "name: demo\ntrees: [pkgs]\nflavor: one\nflavors:\n  one: [values/one.yaml]\n  two: [values/two.yaml]\ntargets: [apps/a]\nepoch: \"1700000000\"\npublish: {name: demo-os, to: [repo]}\n",
		"values/one.yaml":         "a: flavor\nb: flavor\nc: flavor\nd: flavor\n",
		"values/two.yaml":         "a: two\n",
		"profiles/p/profile.yaml": "values: {b: profile, c: profile, d: profile}\n",
		"extra.yaml":              "c: values\nd: values\n",
		"pkgs/a/definition.yaml":  "name: a\ncategory: apps\nversion: 1\n",
		"pkgs/a/build.yaml":       "image: alpine\nsteps: [true]\n",
	})
	p, err := Open(context.Background(), Options{Dir: dir, Profiles: []string{"p"}, ValuesFiles: []string{filepath.Join(dir, "extra.yaml")}, Set: []string{"d=set"}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	v := p.Config.Values
	if v["a"] != "flavor" || v["b"] != "profile" || v["c"] != "values" || v["d"] != "set" {
		t.Errorf("layering: %v", v)
	}
	if p.Config.Clock.Unix() != 1700000000 || p.Flavor != "one" || p.Name() != "demo-os" {
		t.Errorf("clock %v, flavor %q, name %q", p.Config.Clock, p.Flavor, p.Name())
	}
	if got := p.Targets(nil); len(got) != 1 || got[0] != "apps/a" {
		t.Errorf("targets: %v", got)
	}
	if err := p.SetFlavor("two"); err != nil || p.Config.Values["a"] != "two" {
		t.Errorf("flavor two: %v %v", err, p.Config.Values)
	}
	if err := p.SetFlavor("three"); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown flavor: %v", err)
	}
	p, err = Open(context.Background(), Options{Dir: dir, Getenv: func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "42"
		}
		return ""
	}})
	if err != nil || p.Config.Clock.Unix() != 42 {
		t.Errorf("SOURCE_DATE_EPOCH: %v %v", p.Config.Clock, err)
	}
	if _, err := Open(context.Background(), Options{Trees: []string{dir}, Flavor: "one"}); !errors.Is(err, ErrUsage) {
		t.Errorf("--flavor with --tree: %v", err)
	}
	s, diags := p.Load(context.Background())
	if s == nil || diags.HasErrors() {
		t.Errorf("load: %v", diags)
	}
}

// TestValidate: every flavor, each problem once, saying which flavors have
// it when not all do.
func TestValidate(t *testing.T) {
	dir := write(t, map[string]string{
		"manifest.yaml":          "name: demo\ntrees: [pkgs]\nflavor: one\nflavors:\n  one: [one.yaml]\n  two: [two.yaml]\n",
		"one.yaml":               "img: alpine\n",
		"two.yaml":               "img: \"\"\n",
		"pkgs/a/definition.yaml": "name: a\nversion: 1\n",
		"pkgs/a/build.yaml":      "{{ if .Values.img }}image: {{ .Values.img }}{{ end }}\nsteps: [true]\n",
		"pkgs/b/definition.yaml": "name: b\nversion: 1\nrequires: [{name: nope}]\n",
	})
	p, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	diags, n, err := p.Validate(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("%v, %d flavors", err, n)
	}
	var got []string
	for _, d := range diags {
		got = append(got, strings.SplitN(d.Error(), "\n", 2)[0])
	}
	want := []string{
		"pkgs/a/build.yaml:2:1: build spec has steps but neither image nor requires to build them on [flavor two]",
		"pkgs/b/definition.yaml:3:12: b@1 requires nope: no such package",
	}
	for i := range got {
		// Files are shown relative to the working folder.
		if i < len(want) && strings.HasSuffix(got[i], want[i]) {
			got[i] = want[i]
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

package synth

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

var configs = []struct {
	name string
	cfg  Config
}{
	{"typical", Config{Packages: 600, Categories: 12, CollectionFraction: 0.3, MaxRequires: 5, Seed: 7, ContextFiles: 2, Chain: 120}},
	{"dense", Config{Packages: 300, Categories: 3, CollectionFraction: 0.5, MaxRequires: 12, Seed: 3, ContextFiles: 1}},
	{"all-collections", Config{Packages: 50, Categories: 2, CollectionFraction: 1, MaxRequires: 3, Seed: 1}},
	{"no-requires", Config{Packages: 20, Categories: 2, CollectionFraction: 0.5, Seed: 2}},
	{"one", Config{Packages: 1, MaxRequires: 3}},
	{"chain-only", Config{Chain: 40, Seed: 4}},
	{"empty", Config{}},
}

func TestDeterministic(t *testing.T) {
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(contents(Generate(tc.cfg)), contents(Generate(tc.cfg))); diff != "" {
				t.Errorf("two runs differ (-first +second):\n%s", diff)
			}
		})
	}
	cfg := configs[0].cfg
	a := contents(Generate(cfg))
	cfg.Seed++
	if cmp.Equal(a, contents(Generate(cfg))) {
		t.Errorf("seeds %d and %d give the same tree", cfg.Seed-1, cfg.Seed)
	}
}

func contents(fsys fstest.MapFS) map[string]string {
	m := make(map[string]string, len(fsys))
	for name, f := range fsys {
		m[name] = fmt.Sprintf("%v %s", f.Mode, f.Data)
	}
	return m
}

// TestTree loads every generated tree the way luet does and checks that it
// renders, parses, resolves and has no cycle, under each distribution and
// without any values file (luet's first render).
func TestTree(t *testing.T) {
	variants := []struct {
		name   string
		values map[string]any // nil: no values file
	}{
		{"no-values", nil},
		{"opensuse", map[string]any{}},
		{"fedora", map[string]any{"distribution": "fedora"}},
		{"debian", map[string]any{"distribution": "debian", "codename": "teal"}},
		{"ubuntu", map[string]any{"distribution": "ubuntu", "jobs": 16}},
	}
	for _, tc := range configs {
		fsys := Generate(tc.cfg)
		for _, v := range variants {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				pkgs := load(t, fsys, v.values)
				main := 0
				for _, p := range pkgs {
					if p.cat != "chain" {
						main++
					}
				}
				if main != tc.cfg.Packages || len(pkgs)-main != tc.cfg.Chain {
					t.Fatalf("got %d packages and %d chain packages, want %d and %d",
						main, len(pkgs)-main, tc.cfg.Packages, tc.cfg.Chain)
				}
				checkGraph(t, pkgs, tc.cfg.Chain)
			})
		}
	}
}

type yref struct {
	Name     string `yaml:"name"`
	Category string `yaml:"category"`
	Version  string `yaml:"version"`
}

func (r yref) String() string { return r.Category + "/" + r.Name + " " + r.Version }

type definition struct {
	Name      string `yaml:"name"`
	Category  string `yaml:"category"`
	Version   string `yaml:"version"`
	Hidden    bool   `yaml:"hidden"`
	Requires  []yref `yaml:"requires"`
	Conflicts []yref `yaml:"conflicts"`
	Provides  []yref `yaml:"provides"`
}

type buildSpec struct {
	Image    string   `yaml:"image"`
	Requires []yref   `yaml:"requires"`
	Env      []string `yaml:"env"`
	Prelude  []string `yaml:"prelude"`
	Steps    []string `yaml:"steps"`
	Includes []string `yaml:"includes"`
	Excludes []string `yaml:"excludes"`
	Copy     []struct {
		Package     *yref  `yaml:"package"`
		Source      string `yaml:"source"`
		Destination string `yaml:"destination"`
	} `yaml:"copy"`
	PackageDir string `yaml:"package_dir"`
	Unpack     bool   `yaml:"unpack"`
}

type loaded struct {
	definition
	cat, name, version, file string
	coll                     bool // an entry of a collection.yaml
	build                    buildSpec
}

func (p *loaded) id() string { return p.cat + "/" + p.name + "@" + p.version }

// load parses the tree in fsys; values nil renders without a values file,
// otherwise values/default.yaml with values merged on top.
func load(t *testing.T, fsys fs.FS, over map[string]any) []*loaded {
	t.Helper()
	defines, err := fs.Glob(fsys, "packages/templates/*.yaml")
	if err != nil || len(defines) == 0 {
		t.Fatalf("templates: %v %v", defines, err)
	}
	var prefix strings.Builder
	for _, name := range defines {
		prefix.Write(readFile(t, fsys, name))
	}
	var values map[string]any
	if over != nil {
		strict(t, "values/default.yaml", readFile(t, fsys, "values/default.yaml"), &values)
		maps.Copy(values, over)
	}
	var pkgs []*loaded
	err = fs.WalkDir(fsys, "packages", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		base := path.Base(name)
		if base != "definition.yaml" && base != "collection.yaml" {
			return nil
		}
		dir := path.Dir(name)
		data := readFile(t, fsys, name)
		var raws []map[string]any
		var defs []definition
		if base == "definition.yaml" {
			var raw map[string]any
			var def definition
			loose(t, name, data, &raw)
			loose(t, name, data, &def)
			raws, defs = append(raws, raw), append(defs, def)
		} else {
			var raw struct{ Packages []map[string]any }
			var def struct{ Packages []definition }
			loose(t, name, data, &raw)
			loose(t, name, data, &def)
			raws, defs = raw.Packages, def.Packages
			if len(defs) < 2 || len(defs) > 8 {
				t.Errorf("%s: %d entries, want 2..8", name, len(defs))
			}
		}
		tpl := parseBuild(t, dir+"/build.yaml", prefix.String()+string(readFile(t, fsys, dir+"/build.yaml")))
		for i, def := range defs {
			if _, ok := raws[i]["version"].(string); !ok {
				t.Errorf("%s: version %v of %s is a %T", name, raws[i]["version"], def.Name, raws[i]["version"])
			}
			vals := maps.Clone(raws[i])
			maps.Copy(vals, values)
			var out bytes.Buffer
			if err := tpl.Execute(&out, map[string]any{"Values": vals}); err != nil {
				t.Fatalf("render %s for %s: %v", tpl.Name(), def.Name, err)
			}
			p := &loaded{definition: def, cat: def.Category, name: def.Name, version: def.Version, file: tpl.Name(), coll: base == "collection.yaml"}
			strict(t, tpl.Name()+" for "+def.Name, out.Bytes(), &p.build)
			if (p.build.Image == "") == (len(p.build.Requires) == 0) {
				t.Errorf("%s for %s: want exactly one of image and requires, got %q and %d requires",
					tpl.Name(), def.Name, p.build.Image, len(p.build.Requires))
			}
			if len(p.build.Steps) == 0 {
				t.Errorf("%s for %s: no steps", tpl.Name(), def.Name)
			}
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func readFile(t *testing.T, fsys fs.FS, name string) []byte {
	t.Helper()
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// parseBuild parses a build.yaml the way luet does: sprig's functions, a
// Helm-style include, and the templates folder pasted in front.
func parseBuild(t *testing.T, name, text string) *template.Template {
	t.Helper()
	tpl := template.New(name)
	funcs := sprig.TxtFuncMap()
	funcs["include"] = func(name string, data any) (string, error) {
		var b strings.Builder
		err := tpl.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	if _, err := tpl.Funcs(funcs).Parse(text); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return tpl
}

// strict decodes build specs and values, where an unknown key is a typo.
func strict(t *testing.T, name string, data []byte, v any) {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, data)
	}
}

// loose decodes definitions, whose other keys are template values.
func loose(t *testing.T, name string, data []byte, v any) {
	t.Helper()
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, data)
	}
}

// checkGraph resolves every requirement, copy and conflict to the highest
// matching version, then checks there is no cycle, that conflicting
// packages never meet in a closure, and the size of chain/top's closure.
func checkGraph(t *testing.T, pkgs []*loaded, chain int) {
	t.Helper()
	byName := map[string][]int{}
	ids := map[string]bool{}
	for i, p := range pkgs {
		if ids[p.id()] {
			t.Errorf("%s defined twice", p.id())
		}
		ids[p.id()] = true
		byName[p.cat+"/"+p.name] = append(byName[p.cat+"/"+p.name], i)
	}
	resolve := func(from *loaded, r yref, what string) int {
		best := -1
		for _, j := range byName[r.Category+"/"+r.Name] {
			if satisfies(t, pkgs[j].version, r.Version) && (best < 0 || compareVersions(pkgs[j].version, pkgs[best].version) > 0) {
				best = j
			}
		}
		if best < 0 {
			t.Errorf("%s: %s %s resolves to nothing", from.id(), what, r)
		}
		return best
	}
	build := make([][]int, len(pkgs)) // build requires
	deps := make([][]int, len(pkgs))  // every edge: build, runtime, copy
	for i, p := range pkgs {
		for _, r := range p.build.Requires {
			if j := resolve(p, r, "build requirement"); j >= 0 {
				build[i] = append(build[i], j)
			}
		}
		for _, r := range p.Requires {
			if j := resolve(p, r, "requirement"); j >= 0 {
				if pkgs[j].Hidden {
					t.Errorf("%s requires hidden %s at runtime", p.id(), pkgs[j].id())
				}
				deps[i] = append(deps[i], j)
			}
		}
		for _, c := range p.build.Copy {
			if j := resolve(p, *c.Package, "copy"); j >= 0 {
				deps[i] = append(deps[i], j)
			}
		}
		deps[i] = append(deps[i], build[i]...)
	}
	if t.Failed() {
		return
	}
	order := topo(t, pkgs, deps)
	closure := make([]map[int]bool, len(pkgs))
	for _, i := range order {
		closure[i] = map[int]bool{i: true}
		for _, j := range deps[i] {
			maps.Copy(closure[i], closure[j])
		}
	}
	for i, p := range pkgs {
		for _, c := range p.Conflicts {
			j := resolve(p, c, "conflict")
			if j < 0 {
				continue
			}
			for k := range pkgs {
				if closure[k][i] && closure[k][j] {
					t.Errorf("%s needs both %s and %s, which conflict", pkgs[k].id(), p.id(), pkgs[j].id())
				}
			}
		}
	}
	if chain == 0 {
		return
	}
	top := byName["chain/top"]
	if len(top) != 1 {
		t.Fatalf("chain/top: %d packages", len(top))
	}
	seen := map[int]bool{}
	var walk func(int)
	walk = func(i int) {
		if !seen[i] {
			seen[i] = true
			for _, j := range build[i] {
				walk(j)
			}
		}
	}
	walk(top[0])
	if d := len(seen) - chain; d*10 > chain || -d*10 > chain {
		t.Errorf("chain/top build closure: %d packages, want %d ±10%%", len(seen), chain)
	}
}

// topo returns the packages in dependency order, failing on a cycle.
func topo(t *testing.T, pkgs []*loaded, deps [][]int) []int {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(pkgs))
	var order []int
	var visit func(i int, trail []string) bool
	visit = func(i int, trail []string) bool {
		switch color[i] {
		case grey:
			t.Errorf("cycle: %s -> %s", strings.Join(trail, " -> "), pkgs[i].id())
			return false
		case black:
			return true
		}
		color[i] = grey
		for _, j := range deps[i] {
			if !visit(j, append(trail, pkgs[i].id())) {
				return false
			}
		}
		color[i] = black
		order = append(order, i)
		return true
	}
	for i := range pkgs {
		if !visit(i, nil) {
			break
		}
	}
	return order
}

// compareVersions orders versions as luet does on every shape the generator
// writes: dotted numbers, then a revision after the first "-", a version with
// a revision sorting after the same version without one.
func compareVersions(a, b string) int {
	am, ar, aok := strings.Cut(a, "-")
	bm, br, bok := strings.Cut(b, "-")
	if c := compareDotted(am, bm); c != 0 {
		return c
	}
	switch {
	case aok && bok:
		return compareDotted(ar, br)
	case aok:
		return 1
	case bok:
		return -1
	}
	return 0
}

func compareDotted(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func satisfies(t *testing.T, version, sel string) bool {
	for _, op := range []string{">=", "<=", ">", "<", "="} {
		if v, ok := strings.CutPrefix(sel, op); ok {
			c := compareVersions(version, v)
			switch op {
			case ">=":
				return c >= 0
			case "<=":
				return c <= 0
			case ">":
				return c > 0
			case "<":
				return c < 0
			}
			return c == 0
		}
	}
	t.Errorf("selector %q has no operator", sel)
	return false
}

// TestPlanOrder checks the generator's own invariant, which makes the graph
// acyclic: every reference points at a package generated earlier.
func TestPlanOrder(t *testing.T) {
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(tc.cfg)
			check := func(from, lo int, rs []ref, what string) {
				for _, r := range rs {
					if r.to >= lo {
						t.Errorf("package %d (%s/%s): %s on package %d, not below %d",
							from, tr.pkgs[from].cat, tr.pkgs[from].name, what, r.to, lo)
					}
				}
			}
			for i, p := range tr.pkgs {
				u := &tr.units[p.unit]
				check(i, u.first, p.build, "build requirement")
				check(i, u.first, u.build, "shared build requirement")
				check(i, i, p.runtime, "requirement")
				if p.copy != nil {
					check(i, u.first, []ref{*p.copy}, "copy")
				}
			}
		})
	}
}

// TestShape checks that a mid-sized tree has every feature the compiler
// must handle, as counted over its files.
func TestShape(t *testing.T) {
	cfg := configs[0].cfg
	fsys := Generate(cfg)
	count := func(file, needle string) int {
		n := 0
		for name, f := range fsys {
			if path.Base(name) == file && bytes.Contains(f.Data, []byte(needle)) {
				n++
			}
		}
		return n
	}
	for _, c := range []struct{ file, needle string }{
		{"build.yaml", `image: "{{ .Values.image }}"`},
		{"build.yaml", `{{ template "distro_install"`},
		{"build.yaml", `{{ template "fetch_source"`},
		{"build.yaml", `{{ include "common_env" . }}`},
		{"build.yaml", `eq (default "" .Values.distribution) "debian"`},
		{"build.yaml", "{{ .Values.name }}"},
		{"build.yaml", "\nincludes:"},
		{"build.yaml", "\nexcludes:"},
		{"build.yaml", "\npackage_dir:"},
		{"build.yaml", "\nunpack: true"},
		{"build.yaml", "\ncopy:"},
		{"build.yaml", `version: ">=1.0"`},
		{"definition.yaml", "\nhidden: true"},
		{"definition.yaml", "\nrequires:"},
		{"definition.yaml", "\nconflicts:"},
		{"definition.yaml", "\nprovides:"},
		{"definition.yaml", "version: 2"},
		{"definition.yaml", "-"},
		{"collection.yaml", "- &e"},
		{"collection.yaml", "- <<: *e"},
		{"collection.yaml", "- !!merge <<: *e"},
		{"collection.yaml", "- <<: *r"},
		{"finalize.yaml", "install:"},
	} {
		if count(c.file, c.needle) == 0 {
			t.Errorf("no %s contains %q", c.file, c.needle)
		}
	}
	pairs := 0
	dirs := map[string]int{}
	for name := range fsys {
		if path.Base(name) == "definition.yaml" {
			dirs[path.Dir(path.Dir(name))]++
		}
	}
	for _, n := range dirs {
		if n == 2 {
			pairs++
		}
	}
	if pairs == 0 {
		t.Error("no package has two versions")
	}
	inColl := 0
	for _, p := range load(t, fsys, map[string]any{}) {
		if p.coll {
			inColl++
		}
	}
	if want := cfg.CollectionFraction * float64(cfg.Packages); float64(inColl) < 0.95*want || float64(inColl) > 1.05*want {
		t.Errorf("%d packages in collections, want about %.0f", inColl, want)
	}
}

func TestWriteDir(t *testing.T) {
	fsys := Generate(Config{Packages: 30, Categories: 3, CollectionFraction: 0.3, MaxRequires: 3, ContextFiles: 3})
	dir := t.TempDir()
	if err := WriteDir(dir, fsys); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		got[name] = string(readFile(t, os.DirFS(dir), name))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for name, f := range fsys {
		want[name] = string(f.Data)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("written tree differs (-want +got):\n%s", diff)
	}
	if err := WriteDir(dir, fsys); err == nil {
		t.Error("second WriteDir to the same directory: no error")
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"10k", Config{Packages: 10000, Categories: 40, CollectionFraction: 0.3, MaxRequires: 6, ContextFiles: 2}},
		{"chain700", Config{Packages: 200, Categories: 8, CollectionFraction: 0.3, MaxRequires: 4, ContextFiles: 2, Chain: 700}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				Generate(bc.cfg)
			}
		})
	}
}

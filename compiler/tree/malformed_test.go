package tree

import (
	"context"
	"math/rand"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/etk-build/etk/compiler/diag"
)

// aliasBomb is a "billion laughs": 9 levels of 9-fold aliases, 9^9 nodes
// once expanded, a few hundred bytes as written. top uses *a9.
func aliasBomb(top string) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		prev := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		b.WriteString(strings.TrimSuffix(strings.Repeat(prev+", ", 9), ", "))
		b.WriteString("]\n")
	}
	b.WriteString(top)
	return b.String()
}

// junk is reproducible binary garbage with a NUL byte in it.
func junk() string {
	r := rand.New(rand.NewSource(1))
	b := make([]byte, 512)
	r.Read(b)
	b[100] = 0
	return string(b)
}

func mapFile(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

const okDef = "name: a\ncategory: c\nversion: 1.0\n"

func TestMalformed(t *testing.T) {
	tests := []struct {
		name   string
		fs     fstest.MapFS
		strict bool
		// want are substrings of the error lines, in order: each is
		// "file:line:col: message" or a prefix of one. Empty means the tree
		// loads.
		want []string
		// detail, when set, must appear in the excerpt of the first error.
		detail string
		bound  bool // measure time and memory (alias bombs)
		// loads are packages beside the broken ones that load healthy.
		loads []string
	}{{
		name: "bad YAML in definition",
		fs:   fstest.MapFS{"a/definition.yaml": mapFile("name: a\nversion: [1\n")},
		want: []string{"packages/a/definition.yaml:2:1: invalid YAML: did not find expected ',' or ']'"},
	}, {
		name: "bad YAML in build.yaml after rendering",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef + "image: \"alpine: 3\"\n"),
			"a/build.yaml":      mapFile("steps:\n- echo hi\nimage: {{ .Values.image }}\n"),
		},
		// The rendered line is not in the source: the position is the
		// rendered line's, and the message says so.
		want:   []string{"packages/a/build.yaml:3: invalid YAML: mapping values are not allowed in this context (line 3 of c/a@1.0 as rendered)"},
		detail: "image: alpine: 3",
	}, {
		name:  "alias bomb in a collection",
		fs:    fstest.MapFS{"a/collection.yaml": mapFile(aliasBomb("packages:\n  - {name: a, version: 1, lol: *a9}\n  - {name: b, version: 1, lol: *a9}\n"))},
		want:  []string{"packages/a/collection.yaml:", "document too large or too deeply aliased"},
		bound: true,
	}, {
		name: "alias bomb in build.yaml",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef),
			"a/build.yaml":      mapFile(aliasBomb("image: alpine\nsteps: *a9\nenv: *a9\nrequires: *a9\n")),
		},
		want:  []string{"packages/a/build.yaml:9:5: env entry: want a string, got a list", "packages/a/build.yaml:10:10: requires entry: want a mapping"},
		bound: true,
	}, {
		name:  "alias bomb in definition values",
		fs:    fstest.MapFS{"a/definition.yaml": mapFile(aliasBomb(okDef + "lol: *a9\n"))},
		want:  []string{"packages/a/definition.yaml:", "document too large or too deeply aliased"},
		bound: true,
	}, {
		name: "self-referencing merge key",
		fs:   fstest.MapFS{"a/definition.yaml": mapFile("x: &x {<<: *x}\n" + okDef)},
		want: []string{"packages/a/definition.yaml:1:4: nested too deeply, or an alias refers to a node that contains it"},
	}, {
		name: "unknown alias",
		fs:   fstest.MapFS{"a/definition.yaml": mapFile(okDef + "x: [1, *nope]\n")},
		want: []string{"packages/a/definition.yaml:4:8: invalid YAML: unknown anchor 'nope' referenced"},
	}, {
		name: "binary junk",
		fs:   fstest.MapFS{"a/definition.yaml": mapFile(junk())},
		want: []string{"packages/a/definition.yaml:", "binary data (NUL byte) in a YAML file"},
	}, {
		name: "empty definition",
		fs:   fstest.MapFS{"a/definition.yaml": mapFile("")},
		want: []string{`packages/a/definition.yaml:1:1: name: missing`, `packages/a/definition.yaml:1:1: package "" has no version`},
	}, {
		name: "definition without version",
		fs:   fstest.MapFS{"a/definition.yaml": mapFile("name: a\ncategory: c\n")},
		want: []string{`packages/a/definition.yaml:1:1: package "c/a" has no version`},
	}, {
		name: "huge definition",
		fs:   fstest.MapFS{"a/definition.yaml": mapFile(okDef + "x: " + strings.Repeat("x", 8<<20) + "\n")},
		want: []string{"packages/a/definition.yaml: file is 8388645 bytes, larger than the 8388608 allowed for a spec"},
	}, {
		name: "definition and collection",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef),
			"a/collection.yaml": mapFile("packages:\n  - {name: b, version: 1}\n"),
		},
		want: []string{"packages/a/collection.yaml: a package directory has both definition.yaml and collection.yaml"},
	}, {
		name: "duplicate identity",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef),
			"b/definition.yaml": mapFile("category: c\nname: a\nversion: 1.0\n"),
		},
		want: []string{"packages/b/definition.yaml:1:1: package c/a@1.0 is defined twice, differently (also at packages/a/definition.yaml:1:1); luet would silently keep one and lose the other: remove or rename one"},
	}, {
		name: "duplicate identity in a collection",
		fs:   fstest.MapFS{"a/collection.yaml": mapFile("packages:\n  - {name: a, version: 1}\n  - {name: a, version: 1, x: 2}\n")},
		want: []string{"packages/a/collection.yaml:3:5: package a@1 is defined twice, differently (also at packages/a/collection.yaml:2:5)"},
	}, {
		name: "unknown field is an error with Strict",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef),
			"a/build.yaml":      mapFile("image: alpine\nrequries:\n- name: b\n"),
		},
		strict: true,
		want:   []string{`packages/a/build.yaml:2:1: unknown field "requries" in build spec (did you mean requires?)`},
	}, {
		name: "template error",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef),
			"a/build.yaml":      mapFile("image: alpine\nsteps:\n- echo {{ .Values.name | nosuchfunc }}\n"),
		},
		want:   []string{`packages/a/build.yaml:3:26: template error: function "nosuchfunc" not defined`},
		detail: "\t- echo {{ .Values.name | nosuchfunc }}\n\t                         ^",
	}, {
		name: "template exec error",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef),
			"a/build.yaml":      mapFile("image: alpine\nsteps:\n- echo {{ required \"set foo\" .Values.foo }}\n"),
		},
		want:   []string{`packages/a/build.yaml:3:11: template error: <required "set foo" .Values.foo>: error calling required: set foo (rendering c/a@1.0)`},
		detail: "\t- echo {{ required \"set foo\" .Values.foo }}\n\t          ^",
	}, {
		name: "steps without image or requires",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef),
			"a/build.yaml":      mapFile("steps:\n- echo hi\n"),
		},
		want: []string{"packages/a/build.yaml:1:1: build spec has steps but neither image nor requires to build them on"},
	}, {
		name: "invalid includes regexp",
		fs: fstest.MapFS{
			"a/definition.yaml": mapFile(okDef),
			"a/build.yaml":      mapFile("image: alpine\nincludes:\n- /usr/(bin\n"),
		},
		want: []string{"packages/a/build.yaml:3:3: includes: \"/usr/(bin\": missing closing ): `/usr/(bin`"},
	}, {
		name: "collection packages not a list",
		fs:   fstest.MapFS{"a/collection.yaml": mapFile("packages:\n  name: a\n  version: 1\n")},
		want: []string{"packages/a/collection.yaml:1:1: a collection needs a packages list"},
	}, {
		name:  "collection entry not a mapping",
		fs:    fstest.MapFS{"a/collection.yaml": mapFile("packages:\n  - {name: a, version: 1}\n  - just a name\n")},
		want:  []string{"packages/a/collection.yaml:3:5: packages[1]: want a mapping, got a scalar"},
		loads: []string{"a@1"},
	}, {
		name: "templates folder syntax error",
		fs: fstest.MapFS{
			"templates/steps.yaml": mapFile("{{ define \"steps\" }}\n- echo {{ .Values.name }\n{{ end }}\n"),
			"a/definition.yaml":    mapFile(okDef),
			"a/build.yaml":         mapFile("image: alpine\nsteps:\n{{ include \"steps\" . }}\n"),
		},
		want:   []string{`packages/templates/steps.yaml:2:24: template error: unexpected "}" in operand`},
		detail: "\t- echo {{ .Values.name }\n\t                       ^",
	}, {
		name: "several errors come back sorted",
		fs: fstest.MapFS{
			"b/definition.yaml": mapFile("name: b\n"),
			"a/definition.yaml": mapFile("name: a\nversion: [\n"),
			"c/build.yaml":      mapFile("junk"),
			"c/definition.yaml": mapFile("name: c\nversion: 1\n"),
			"c/finalize.yaml":   mapFile("install: {a: b}\n"),
		},
		want: []string{
			"packages/a/definition.yaml:",
			`packages/b/definition.yaml:1:1: package "b" has no version`,
			"packages/c/build.yaml:1:1: a build spec must be a mapping, got a scalar",
			"packages/c/finalize.yaml:1:10: install: want a list of strings, got a mapping",
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			if tc.bound {
				runtime.GC()
				runtime.ReadMemStats(&before)
			}
			// A healthy package beside the broken ones always loads.
			tc.fs["zz/healthy/definition.yaml"] = mapFile("name: healthy\ncategory: ok\nversion: 1\n")
			tc.fs["zz/healthy/build.yaml"] = mapFile("image: alpine\nsteps: [true]\n")
			start := time.Now()
			tr, diags := Load(context.Background(), []Source{{Name: "packages", FS: tc.fs}}, Options{Strict: tc.strict})
			elapsed := time.Since(start)
			if tc.bound {
				runtime.ReadMemStats(&after)
				alloc := after.TotalAlloc - before.TotalAlloc
				t.Logf("%v, %d MiB allocated", elapsed, alloc>>20)
				// Robustness bounds, far above what a fixed loader takes.
				if alloc > 200<<20 {
					t.Errorf("allocated %d MiB", alloc>>20)
				}
				if elapsed > 5*time.Second {
					t.Errorf("took %v", elapsed)
				}
			}
			checkSorted(t, diags)
			errs := diags.Errors()
			if len(tc.want) == 0 {
				if tr == nil || len(errs) > 0 {
					t.Fatalf("tree did not load: %v", diags)
				}
				return
			}
			if tr == nil {
				t.Fatalf("one bad file took the tree down: %v", errs)
			}
			if h := tr.Lookup("ok/healthy"); len(h) != 1 || len(h[0].Broken) > 0 || h[0].Build == nil {
				t.Errorf("the healthy package did not load: %+v", h)
			}
			for _, p := range tr.Packages {
				if p.Name != "healthy" && len(p.Broken) == 0 && !slices.Contains(tc.loads, p.ID()) {
					t.Errorf("%s is not broken", p.ID())
				}
			}
			if len(errs) == 0 {
				t.Fatalf("no errors; want %q", tc.want)
			}
			lines := strings.Split(errs.Error(), "\n")
			i := 0
			for _, w := range tc.want {
				for i < len(lines) && !strings.Contains(lines[i], w) {
					i++
				}
				if i == len(lines) {
					t.Fatalf("no error line saying %q in\n%s", w, errs.Error())
				}
			}
			for _, d := range errs {
				if d.Pos.File == "" {
					t.Errorf("error without a file: %q", d.Error())
				}
			}
			if tc.detail != "" {
				first := errs[0]
				for _, d := range errs {
					if strings.Contains(d.Error(), tc.want[0]) {
						first = d
						break
					}
				}
				if !strings.Contains(first.Detail, tc.detail) {
					t.Errorf("excerpt %q does not show %q", first.Detail, tc.detail)
				}
			}
		})
	}
}

// TestTolerated covers inputs that are odd but load: an empty build.yaml
// and warnings, which never block loading.
func TestTolerated(t *testing.T) {
	fsys := fstest.MapFS{
		"a/definition.yaml": mapFile(okDef),
		"a/build.yaml":      mapFile(""),
		"b/definition.yaml": mapFile("name: b\nversion: 2\n"),
		"b/build.yaml":      mapFile("image: alpine\nrequries:\n- name: a\nsteps:\n- echo {{ .Values.name }}\n"),
		"c/definition.yaml": mapFile("name: c\nversion: 3\n"),
		"c/build.yaml":      mapFile("# nothing to build\n"),
		"c/finalize.yaml":   mapFile("install: [echo done]\nshel: sh\n"),
	}
	tr, diags := Load(context.Background(), []Source{{Name: "packages", FS: fsys}}, Options{})
	if tr == nil {
		t.Fatalf("tree did not load: %v", diags)
	}
	checkSorted(t, diags)
	want := []string{
		`packages/b/build.yaml:2:1: warning: unknown field "requries" in build spec (did you mean requires?)`,
		`packages/c/finalize.yaml:2:1: warning: unknown field "shel" in finalize spec`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, strings.SplitN(d.Error(), "\n", 2)[0])
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if diags.Err() != nil {
		t.Errorf("warnings make an error: %v", diags.Err())
	}
	a := tr.Lookup("c/a")
	if len(a) != 1 || a[0].Build == nil || !a[0].Build.Empty() {
		t.Fatalf("c/a: want one package with an empty build, got %+v", a)
	}
	if b := tr.Lookup("b"); len(b) != 1 || b[0].Build == nil || len(b[0].Build.Steps) != 1 || b[0].Build.Steps[0] != "echo b" {
		t.Errorf("b: build not rendered: %+v", b)
	}
}

func checkSorted(t *testing.T, diags diag.List) {
	t.Helper()
	sorted := sort.SliceIsSorted(diags, func(i, j int) bool {
		a, b := diags[i].Pos, diags[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	if !sorted {
		t.Errorf("diagnostics are not sorted:\n%v", diags)
	}
}

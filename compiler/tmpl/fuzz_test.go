package tmpl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/sprig/v3"
	"github.com/etk-build/etk/compiler/diag"
	"github.com/google/go-cmp/cmp"
)

// corpusDir holds the elemental-toolkit tree; its build.yaml files and
// shared templates seed the fuzzer when it is present.
const corpusDir = "/work/shared/corpus/elemental-v0.10.7/packages"

// testValues is the fixed data every fuzzed template is executed with.
func testValues() map[string]any {
	return map[string]any{
		"name":     "foo",
		"category": "system",
		"version":  "1.0.2",
		"list":     []any{"a", "b", 3},
		"map":      map[string]any{"k": "v", "count": 1, "deep": map[string]any{"x": true}},
		"empty":    "",
		"num":      3,
	}
}

// shared is a templates-folder file every fuzzed template can include.
const shared = `{{ define "greet" }}hello {{ .name }}{{ end }}
{{ define "steps" }}- echo {{ .Values.name }}
- echo {{ .Values.version }}{{ end }}
`

// heavy matches templates that may loop for a long time without output:
// text/template has no step budget, so the fuzzer stays away from nested
// or huge ranges (the output and list limits are tested below).
var heavy = regexp.MustCompile(`range[\s\S]*range|\d{6,}|mul|pow|\brange\s+\$?\w*\s*:?=?\s*\d{4,}`)

func FuzzTemplate(f *testing.F) {
	_ = filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "definition.yaml" || filepath.Base(p) == "collection.yaml" {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.HasSuffix(p, ".yaml") {
			f.Add(string(b))
		}
		return nil
	})
	for _, s := range []string{
		"",
		"image: {{ .Values.name }}\n",
		"image: {{ .Values.name }\n",
		"{{ if .Values.x }}\nfoo\n",
		"{{ end }}",
		"{{ .Values.map.deep.x }} {{ .Values.name.foo }}",
		"{{ index .Values.list 10 }}",
		"{{ include \"greet\" .Values }}\nsteps:\n{{ include \"steps\" . | indent 2 }}",
		"{{ include \"nope\" . }}",
		"{{ define \"x\" }}{{ include \"x\" . }}{{ end }}{{ include \"x\" . }}",
		"{{ define \"x\" }}{{ template \"x\" . }}{{ end }}{{ template \"x\" . }}",
		"{{ toYaml .Values.map | nindent 4 }}\n{{ (fromYaml \"a: [1, 2]\").a }}",
		"{{ toJson .Values }} {{ (fromJson \"{\\\"a\\\": 1}\").a }} {{ fromJson \"[\" }}",
		"{{ now }} {{ randAlpha 3 }} {{ env \"HOME\" }} {{ uuidv4 }}",
		"{{ range $i := until 10 }}{{ $i }}{{ end }} {{ seq 3 }} {{ untilStep 0 10 3 }}",
		"{{ repeat 3 \"ab\" }} {{ indent 2 \"a\\nb\" }} {{ until -3 }}",
		"{{ required \"need x\" .Values.x }}",
		"{{ $x := 1 }}{{ $x = \"s\" }}{{ $x }}{{ $y }}",
		"{{ template \"nope\" }}",
		"{{ .Values.list | join \",\" }} {{ default \"d\" .Values.empty }} {{ printf \"%05d\" .Values.num }}",
		"{{- /* comment */ -}}{{ block \"b\" . }}x{{ end }}",
		"{{ len 3 }} {{ slice .Values.name 5 1 }} {{ call .Values.name }}",
		"{{ break }}{{ range .Values.list }}{{ continue }}{{ end }}",
		"{{ `raw` }} {{ 'c' }} {{ 1e3 }} {{ 0x10 }} {{ -1 }} {{ nil }}",
		"{{ .Values.name | upper | lower | title | quote | squote | trim }}",
		"{{ fromYaml \"a: &a [*a]\" }}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 || heavy.MatchString(src) {
			t.Skip()
		}
		e := New()
		if err := e.AddShared("templates/shared.yaml", []byte(shared)); err != nil {
			t.Fatal(err)
		}
		tp, err := e.Parse("pkg/build.yaml", []byte(src))
		if err != nil {
			checkErr(t, src, err)
			return
		}
		if _, err := tp.Execute(testValues()); err != nil {
			checkErr(t, src, err)
		}
	})
}

// checkErr asserts that a template error is a diagnostic pointing into a
// known file, with a line unless it is the output limit (which has no
// single place to blame).
func checkErr(t *testing.T, src string, err error) {
	t.Helper()
	var d *diag.Diagnostic
	if !errors.As(err, &d) {
		t.Fatalf("error %T %q is not a *diag.Diagnostic, for %q", err, err, src)
	}
	if d.Pos.File != "pkg/build.yaml" && d.Pos.File != "templates/shared.yaml" {
		t.Fatalf("error %q names file %q, for %q", d.Error(), d.Pos.File, src)
	}
	if d.Pos.Line <= 0 && !strings.Contains(d.Msg, "output exceeds") {
		t.Fatalf("error %q has no line, for %q", d.Error(), src)
	}
	// The engine's internal namespace name must not leak into messages.
	if strings.Contains(d.Msg, "\x00shared") {
		t.Fatalf("error %q names the internal namespace, for %q", d.Msg, src)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // the first line of the error
		detail    string // the excerpt with its caret
	}{{
		name:   "parse",
		src:    "image: x\nsteps:\n- echo {{ .Values.name }\n",
		want:   `pkg/build.yaml:3:24: template error: unexpected "}" in operand`,
		detail: "\t- echo {{ .Values.name }\n\t                       ^",
	}, {
		name:   "parse unknown function",
		src:    "image: {{ frobnicate .Values.name }}\n",
		want:   `pkg/build.yaml:1:11: template error: function "frobnicate" not defined`,
		detail: "\timage: {{ frobnicate .Values.name }}\n\t          ^",
	}, {
		name:   "exec",
		src:    "image: x\nsteps:\n- echo {{ index .Values.list 10 }}\n",
		want:   `pkg/build.yaml:3:11: template error: <index .Values.list 10>: error calling index: index out of range: 10`,
		detail: "\t- echo {{ index .Values.list 10 }}\n\t          ^",
	}, {
		name:   "exec at column one",
		src:    "image: {{\nindex .Values.list 10 }}",
		want:   `pkg/build.yaml:2:1: template error: <index .Values.list 10>: error calling index: index out of range: 10`,
		detail: "\tindex .Values.list 10 }}\n\t^",
	}, {
		name:   "required",
		src:    "image: {{ required \"image is needed\" .Values.image }}",
		want:   `pkg/build.yaml:1:11: template error: <required "image is needed" .Values.image>: error calling required: image is needed`,
		detail: "\timage: {{ required \"image is needed\" .Values.image }}\n\t          ^",
	}, {
		name: "include of an undefined template",
		src:  `{{ include "nope" . }}`,
		want: `pkg/build.yaml:1:4: template error: <include "nope" .>: error calling include: template "nope" not defined`,
	}, {
		name: "include recursion",
		src:  `{{ define "x" }}{{ include "x" . }}{{ end }}{{ include "x" . }}`,
		want: `pkg/build.yaml:1:48: template error: <include "x" .>: error calling include: include "x": nested too deeply (does it include itself?)`,
	}, {
		name: "shared template",
		src:  `{{ include "broken" . }}`,
		want: `pkg/build.yaml:1:4: template error: <include "broken" .>: error calling include: template: templates/shared.yaml:4:31: executing "broken" at <.Values.name.first>: can't evaluate field first in type interface {}`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New()
			if err := e.AddShared("templates/shared.yaml", []byte(shared+`{{ define "broken" }}{{ .Values.name.first }}{{ end }}`)); err != nil {
				t.Fatal(err)
			}
			tp, err := e.Parse("pkg/build.yaml", []byte(tc.src))
			if err == nil {
				_, err = tp.Execute(testValues())
			}
			if err == nil {
				t.Fatal("no error")
			}
			var d *diag.Diagnostic
			if !errors.As(err, &d) {
				t.Fatalf("error %T is not a *diag.Diagnostic: %v", err, err)
			}
			got, _, _ := strings.Cut(d.Error(), "\n")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if tc.detail != "" {
				if diff := cmp.Diff(tc.detail, d.Detail); diff != "" {
					t.Errorf("excerpt (-want +got):\n%s", diff)
				}
			}
			if d.Detail != "" && !strings.Contains(d.Detail, "^") {
				t.Errorf("excerpt without a caret: %q", d.Detail)
			}
		})
	}
}

func TestSharedSyntaxError(t *testing.T) {
	e := New()
	err := e.AddShared("templates/bad.yaml", []byte("{{ define \"a\" }}\n{{ if }}\n{{ end }}"))
	var d *diag.Diagnostic
	if !errors.As(err, &d) {
		t.Fatalf("AddShared: got %v, want a diagnostic", err)
	}
	if want := "templates/bad.yaml:2:1: template error: missing value for if"; d.Error()[:len(want)] != want {
		t.Errorf("got %q, want prefix %q", d.Error(), want)
	}
}

func TestDisabledFunctions(t *testing.T) {
	for name, call := range map[string]string{
		"randAlpha": "{{ randAlpha 5 }}",
		"env":       `{{ env "HOME" }}`,
		"uuidv4":    "{{ uuidv4 }}",
		"expandenv": `{{ expandenv "$HOME" }}`,
	} {
		t.Run(name, func(t *testing.T) {
			tp, err := New().Parse("b.yaml", []byte("x: "+call))
			if err != nil {
				t.Fatal(err)
			}
			_, err = tp.Execute(nil)
			if err == nil {
				t.Fatalf("%s ran", call)
			}
			for _, want := range []string{"b.yaml:1:", name + " is disabled", "depends on", "reproducibly"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestPinnedClock: now and the date functions read the engine's clock, in
// UTC, and a template says whether it read it, directly or through a
// shared define.
func TestPinnedClock(t *testing.T) {
	clock := time.Date(2024, 3, 5, 23, 30, 0, 0, time.FixedZone("X", 5*3600))
	e := New(WithClock(clock))
	if err := e.AddShared("templates/v.yaml", []byte(`{{ define "stamp" }}{{ now | date "20060102" }}{{ end }}{{ define "plain" }}x{{ end }}`)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src, want string
		clock     bool
	}{
		{`v: {{ now | date "2006-01-02T15:04" }}`, "v: 2024-03-05T18:30", true},
		{`v: {{ include "stamp" . }}`, "v: 20240305", true},
		{`v: {{ template "stamp" . }}`, "v: 20240305", true},
		{`v: {{ include "plain" . }}`, "v: x", false},
		{`v: {{ date "2006" 0 }}`, "v: 1970", false},
		{`v: {{ (now).Year }}`, "v: 2024", true},
		{`v: {{ unixEpoch (toDate "2006-01-02" "2000-01-01") }}`, "v: 946684800", false},
		{`v: {{ ago (toDate "2006-01-02" "2024-03-05") }}`, "v: 18h30m0s", true},
		{`{{ define "own" }}{{ now | date "2006" }}{{ end }}v: {{ include "own" . }}`, "v: 2024", true},
		{`{{ define "stamp" }}none{{ end }}v: {{ include "stamp" . }}`, "v: none", false},
		{`v: {{ include (printf "%s" "plain") . }}`, "v: x", true},
	}
	for _, tc := range tests {
		tp, err := e.Parse("b.yaml", []byte(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		out, err := tp.Execute(nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		if string(out) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.src, out, tc.want)
		}
		if tp.UsesClock() != tc.clock {
			t.Errorf("%s: UsesClock %v, want %v", tc.src, tp.UsesClock(), tc.clock)
		}
	}
	// Without a clock, the epoch.
	tp, _ := New().Parse("b.yaml", []byte(`{{ now | date "2006" }}`))
	if out, _ := tp.Execute(nil); string(out) != "1970" {
		t.Errorf("default clock: %q", out)
	}
	for in, want := range map[string]int64{"1700000000": 1700000000, "2024-01-02T03:04:05Z": 1704164645, " 0 ": 0} {
		got, err := ParseEpoch(in)
		if err != nil || got.Unix() != want {
			t.Errorf("ParseEpoch(%q) = %v, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseEpoch("yesterday"); err == nil {
		t.Error("ParseEpoch accepted yesterday")
	}
}

func TestHelmFunctions(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"include", `{{ include "greet" .Values }}`, "hello foo"},
		{"include pipe", `steps:{{ include "steps" . | nindent 2 }}`, "steps:\n  - echo foo\n  - echo 1.0.2"},
		{"toYaml", `{{ toYaml .Values.map }}`, "count: 1\ndeep:\n  x: true\nk: v"},
		{"toYaml list", `{{ toYaml .Values.list }}`, "- a\n- b\n- 3"},
		{"fromYaml", `{{ $m := fromYaml "a: [1, 2]\nb: {c: d}" }}{{ index $m.a 1 }} {{ $m.b.c }}`, "2 d"},
		{"toJson", `{{ toJson .Values.map }}`, `{"count":1,"deep":{"x":true},"k":"v"}`},
		{"fromJson", `{{ $m := fromJson "{\"a\": [1, 2], \"b\": \"c\"}" }}{{ index $m.a 1 }} {{ $m.b }}`, "2 c"},
		{"round trip", `{{ (fromJson (toJson .Values.map)).deep.x }} {{ (fromYaml (toYaml .Values.map)).k }}`, "true v"},
		{"sprig", `{{ .Values.name | upper }} {{ list 1 2 | join "," }} {{ default "d" .Values.empty }}`, "FOO 1,2 d"},
		{"tpl", `{{ tpl "{{ .Values.name }}-{{ include \"greet\" .Values }}" . }}`, "foo-hello foo"},
		{"fromYamlArray", `{{ index (fromYamlArray "[a, b]") 1 }}`, "b"},
		{"fromJsonArray", `{{ len (fromJsonArray "[1, 2, 3]") }}`, "3"},
		// Helm's engine, which luet renders with, prints a missing value
		// as nothing.
		{"missing value", `a={{ .Values.nothere }} b={{ .Values.map.nothere }}`, "a= b="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New()
			if err := e.AddShared("templates/shared.yaml", []byte(shared)); err != nil {
				t.Fatal(err)
			}
			tp, err := e.Parse("b.yaml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			out, err := tp.Execute(testValues())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(out)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{`{{ fromYaml "a: [" }}`, `{{ fromJson "{" }}`, `{{ fromYaml "a: &a [*a]" }}`} {
		tp, err := New().Parse("b.yaml", []byte(bad))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tp.Execute(nil); err == nil || !strings.HasPrefix(err.Error(), "b.yaml:1:4: ") {
			t.Errorf("%s: got %v, want an error at b.yaml:1:4", bad, err)
		}
	}
}

// TestRunaway checks that templates that would render or build without
// bound stop with an error, quickly and without eating memory. The bounds
// are generous: they catch a runaway, they are not a benchmark.
func TestRunaway(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"output", `{{ range $i := until 1000000 }}{{ range $j := until 100 }}xxxxxxxxxx{{ end }}{{ end }}`, "output exceeds 16777216 bytes"},
		{"output in include", `{{ define "x" }}{{ range until 1000000 }}xxxxxxxxxxxxxxxxxxxx{{ end }}{{ end }}{{ include "x" . }}`, "output exceeds 16777216 bytes"},
		{"until", `{{ range $i := until 100000000 }}xxxxxxxxxx{{ end }}`, "until: 100000000 items is more than the 1048576 allowed"},
		{"untilStep", `{{ untilStep 0 1000000000000 1 }}`, "more than the 1048576 allowed"},
		{"untilStep overflow", `{{ untilStep 9223372036854775806 9223372036854775807 9223372036854775807 }}`, ""},
		{"seq", `{{ seq 1 100000000 }}`, "seq: 100000000 items"},
		{"repeat", `{{ repeat 100000000 "xxxxxxxxxx" }}`, "more than the 16777216 bytes allowed"},
		{"indent", `{{ indent 1000000000 "x" }}`, "more than the 16777216 bytes allowed"},
		{"nindent", `{{ nindent 1000 (repeat 100000 "\n") }}`, "more than the 16777216 bytes allowed"},
		{"include recursion", `{{ define "x" }}{{ include "x" . }}{{ include "x" . }}{{ end }}{{ include "x" . }}`, "nested too deeply"},
		{"template recursion", `{{ define "x" }}{{ template "x" . }}{{ end }}{{ template "x" . }}`, "exceeded maximum template depth"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := New().Parse("b.yaml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err = tp.Execute(testValues())
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "b.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			if elapsed > 10*time.Second {
				t.Errorf("took %v", elapsed)
			}
			t.Logf("%v, %d KiB allocated", elapsed, (after.TotalAlloc-before.TotalAlloc)>>10)
		})
	}
}

// TestBoundedMatchesSprig checks the bounded until, untilStep and seq
// against sprig's own for small arguments.
func TestBoundedMatchesSprig(t *testing.T) {
	sp := sprig.TxtFuncMap()
	spUntil := sp["until"].(func(int) []int)
	spUntilStep := sp["untilStep"].(func(int, int, int) []int)
	spSeq := sp["seq"].(func(...int) string)
	until := baseFuncs["until"].(func(int) ([]int, error))
	step := baseFuncs["untilStep"].(func(int, int, int) ([]int, error))
	seq := baseFuncs["seq"].(func(...int) (string, error))
	for a := -6; a <= 6; a++ {
		got, err := until(a)
		if err != nil || !cmp.Equal(spUntil(a), got) {
			t.Errorf("until %d = %v, %v; sprig says %v", a, got, err, spUntil(a))
		}
		if got, err := seq(a); err != nil || got != spSeq(a) {
			t.Errorf("seq %d = %q, %v; sprig says %q", a, got, err, spSeq(a))
		}
		for b := -6; b <= 6; b++ {
			if got, err := seq(a, b); err != nil || got != spSeq(a, b) {
				t.Errorf("seq %d %d = %q, %v; sprig says %q", a, b, got, err, spSeq(a, b))
			}
			for c := -4; c <= 4; c++ {
				if got, err := step(a, b, c); err != nil || !cmp.Equal(spUntilStep(a, b, c), got) {
					t.Errorf("untilStep %d %d %d = %v, %v; sprig says %v", a, b, c, got, err, spUntilStep(a, b, c))
				}
				if got, err := seq(a, c, b); err != nil || got != spSeq(a, c, b) {
					t.Errorf("seq %d %d %d = %q, %v; sprig says %q", a, c, b, got, err, spSeq(a, c, b))
				}
			}
		}
	}
	if got, err := seq(); err != nil || got != spSeq() {
		t.Errorf("seq = %q, %v", got, err)
	}
}

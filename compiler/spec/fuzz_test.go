package spec

import (
	"github.com/google/go-cmp/cmp"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/etk-build/etk/compiler/diag"
)

// corpusDir holds the elemental-toolkit tree the decoders were written
// against; its spec files seed the fuzzers when it is present.
const corpusDir = "/work/shared/corpus/elemental-v0.10.7/packages"

// aliasBomb is a "billion laughs": 9 levels of 9-fold aliases, 9^9 nodes
// once expanded, a few hundred bytes as written.
func aliasBomb(top string) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		p := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		b.WriteString(strings.TrimSuffix(strings.Repeat(p+", ", 9), ", "))
		b.WriteString("]\n")
	}
	b.WriteString(top)
	return b.String()
}

// malformed are hand-written bad inputs shared by every decoder's fuzzer.
var malformed = []string{
	"",
	"\n\n# only a comment\n",
	"---\n",
	"~",
	"name: [unclosed\n",
	"name: a\n  version: 1\n",
	"\tname: a\n",
	"name: a\nname: b\nversion: 1\n",
	"- a\n- b\n",
	"just a scalar",
	"name: a\nversion: 1\n---\nname: b\n",
	"name: \"a b\"\nversion: 1\n",
	"name: a/b\nversion: 1\n",
	"name: a\nversion: 1 2\n",
	"name: a\n",
	"version: 1\n",
	"name: {x: 1}\nversion: [1]\n",
	"name: a\nversion: 1\nhidden: maybe\nlabels: [x]\nrequires: x\n",
	"name: a\nversion: 1\nrequires:\n  - name: b\n    version: \">=0\"\n  - 3\n  - {category: c}\n",
	"name: a\nversion: 1\n? [complex, key]\n: value\n",
	"name: a\nversion: 1\n1: int key\ntrue: bool key\n",
	"\x00\x01\x02binary\xff\xfe",
	"name: a\x00\nversion: 1\n",
	"\xef\xbb\xbfname: a\nversion: 1\n",
	"name: \"\\xZZ\"\n",
	"packages: {name: a}\n",
	"packages: a\n",
	"packages:\n  - name: a\n    version: 1\n  - [x]\n  - ~\n",
	"packages:\n  - &p {name: a, version: 1}\n  - <<: *p\n    name: b\n  - <<: [*p, {x: 1}]\n    name: c\n  - <<: 3\n",
	"x: &a {<<: *a}\nname: a\nversion: 1\n",
	"&a {<<: *a, name: a, version: 1}\n",
	"name: a\nversion: 1\nx: &a [*a]\n",
	"name: a\nversion: 1\nx: &a {k: *a}\n",
	"packages: &a [*a]\n",
	"packages: &a [{name: a, version: 1, x: *a}]\n",
	"steps: &a [*a]\nimage: x\n",
	"name: *undefined\n",
	"image: alpine\nrequries:\n  - name: b\n",
	"steps: [echo hi]\n",
	"prelude: echo hi\n",
	"image: x\nrequires: [{name: b}]\n",
	"image: x\nincludes: [\"(unclosed\"]\nexcludes: [\"a**\"]\n",
	"image: x\nunpack: yes please\nnetwork: bridge\n",
	"image: x\ncopy:\n  - package: {name: b}\n    image: c\n  - source: /a\n  - x\n  - {image: y, source: a, destination: b, extra: 1}\n",
	"image: x\ncopy: {}\n",
	"image: x\nsubpackages:\n  - package: {name: s}\n    includes: [a]\n  - 3\nsubpackages: x\n",
	"install: [a, b]\nshell: sh\nunknown: 1\n",
	"install: {a: b}\n",
	"%YAML 1.1\n---\nname: a\n",
	"!!binary aGVsbG8=\n",
	"name: !!int a\nversion: !!float 1.x\n",
	"name: a\nversion: 1\nx: !!timestamp 2001-12-14\ny: !custom z\n",
	"{{ .Values.name }}: x\n",
	"image: {{ .Values.image }}\n",
	strings.Repeat("[", 20000),
	strings.Repeat("- ", 5000) + "x\n",
	strings.Repeat("{a: ", 200) + "1" + strings.Repeat("}", 200),
	aliasBomb("name: a\nversion: 1\nlol: *a9\n"),
	aliasBomb("packages: [{name: a, version: 1, lol: *a9}, *a9]\n"),
	aliasBomb("image: x\nsteps: *a9\nrequires: *a9\nenv: *a9\n"),
	aliasBomb("install: *a9\n"),
}

// seed adds the corpus spec files and the malformed inputs to f.
func seed(f *testing.F) {
	f.Helper()
	_ = filepath.WalkDir(corpusDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
		return nil
	})
	for _, s := range malformed {
		f.Add([]byte(s))
	}
}

// checkDiags holds the properties every decoder promises: a nil result
// comes with an error, a non-nil one without; every diagnostic names the
// file and, for a non-empty input, a line.
func checkDiags(t *testing.T, file string, src []byte, gotResult bool, diags diag.List) {
	t.Helper()
	if !gotResult && !diags.HasErrors() {
		t.Fatalf("nil result without an error diagnostic for %q", src)
	}
	if gotResult && diags.HasErrors() {
		t.Fatalf("result returned along with errors %v for %q", diags, src)
	}
	for _, d := range diags {
		if d == nil {
			t.Fatalf("nil diagnostic for %q", src)
		}
		if d.Pos.File != file {
			t.Fatalf("diagnostic %q: file %q, want %q", d.Error(), d.Pos.File, file)
		}
		if d.Msg == "" {
			t.Fatalf("diagnostic without a message at %s for %q", d.Pos, src)
		}
		// Only a refused, oversized file has no line to point at.
		if len(src) > 0 && d.Pos.Line <= 0 && !strings.HasPrefix(d.Msg, "file is ") {
			t.Fatalf("diagnostic %q has no line, for %q", d.Error(), src)
		}
		if d.Pos.Line < 0 || d.Pos.Col < 0 {
			t.Fatalf("diagnostic %q has a negative position", d.Error())
		}
	}
}

func FuzzDecodeDefinition(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		const file = "pkg/definition.yaml"
		p, diags := DecodeDefinition(file, src)
		// A package with a known identity but other errors comes back
		// broken, holding exactly the errors.
		if p != nil && len(p.Broken) > 0 {
			if diff := cmp.Diff(diags.Errors().Error(), p.Broken.Error()); diff != "" {
				t.Fatalf("Broken is not the errors (-errors +broken):\n%s", diff)
			}
			checkDiags(t, file, src, false, diags)
			return
		}
		checkDiags(t, file, src, p != nil, diags)
		if p != nil {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
			if p.Values["name"] != p.Name || p.Values["version"] != p.Version {
				t.Fatalf("values disagree with the package: %v", p.Values)
			}
		}
	})
}

func FuzzDecodeCollection(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		const file = "pkg/collection.yaml"
		ps, diags := DecodeCollection(file, src)
		// An empty packages list is a valid, empty collection; a bad entry
		// leaves the others, so entries and errors come together.
		checkDiags(t, file, src, !diags.HasErrors(), diags)
		broken := 0
		for _, p := range ps {
			if p == nil || !p.Collection || p.Name == "" || p.Version == "" {
				t.Fatalf("bad collection entry %+v", p)
			}
			if len(p.Broken) > 0 {
				broken++
				if !diags.HasErrors() {
					t.Fatalf("broken entry %s without errors", p.ID())
				}
			}
		}
	})
}

func FuzzDecodeBuild(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		const file = "pkg/build.yaml"
		for _, strict := range []bool{false, true} {
			b, diags := DecodeBuild(file, src, strict)
			checkDiags(t, file, src, b != nil, diags)
			if b == nil {
				continue
			}
			if len(b.Steps)+len(b.Prelude) > 0 && b.Image == "" && len(b.Requires) == 0 {
				t.Fatalf("steps accepted without image or requires: %q", src)
			}
			for _, d := range diags {
				if strict && strings.Contains(d.Msg, "unknown field") {
					t.Fatalf("strict decode accepted with %v", d)
				}
			}
		}
	})
}

func FuzzDecodeFinalize(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		const file = "pkg/finalize.yaml"
		fin, diags := DecodeFinalize(file, src)
		checkDiags(t, file, src, fin != nil, diags)
	})
}

// FuzzPlainPattern: a pattern taken as plain, without a parse, compiles.
func FuzzPlainPattern(f *testing.F) {
	for _, s := range []string{`^/usr/bin/x$`, `\.py$`, `a\`, `\d`, `/x(`, `\.\$\^`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plain(s) {
			if _, err := regexp.Compile(s); err != nil {
				t.Fatalf("plain %q does not compile: %v", s, err)
			}
		}
	})
}

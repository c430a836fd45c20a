package spec

import (
	"regexp"
	"strings"
	"testing"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/google/go-cmp/cmp"
)

func lines(diags diag.List) []string {
	var out []string
	for _, d := range diags {
		out = append(out, strings.SplitN(d.Error(), "\n", 2)[0])
	}
	return out
}

// TestDuplicateKeys: luet keeps the last of repeated keys. Repeated with the
// same value, nothing is lost: a warning, and the repetition is dropped.
// With another value, the first would be lost: an error of the package.
func TestDuplicateKeys(t *testing.T) {
	p, diags := DecodeDefinition("d.yaml", []byte("name: a\nversion: 1\nname: b\n"))
	want := []string{`d.yaml:3:1: key "name" is already defined at line 1, with another value (luet would silently keep this one and lose the first): remove one`}
	if diff := cmp.Diff(want, lines(diags)); diff != "" {
		t.Errorf("different value (-want +got):\n%s", diff)
	}
	if p == nil || p.Name != "a" || len(p.Broken) != 1 {
		t.Errorf("different value: want package a, broken by the error; got %+v", p)
	}

	p, diags = DecodeDefinition("d.yaml", []byte("name: a\nversion: 1\nlabels: {x: y}\nlabels: {x: y}\nk: [1, {a: b}]\nk: [1, {a: b}]\n"))
	want = []string{
		`d.yaml:4:1: warning: key "labels" is repeated with the same value as at line 3; the repetition is ignored`,
		`d.yaml:6:1: warning: key "k" is repeated with the same value as at line 5; the repetition is ignored`,
	}
	if diff := cmp.Diff(want, lines(diags)); diff != "" {
		t.Errorf("same value (-want +got):\n%s", diff)
	}
	if p == nil || len(p.Broken) > 0 || p.Labels["x"] != "y" {
		t.Errorf("same value: want a healthy package, got %+v", p)
	}

	// Merged keys may be overridden: that is what merge keys are for.
	ps, diags := DecodeCollection("c.yaml", []byte("packages:\n- &a {name: a, version: 1}\n- <<: *a\n  name: b\n"))
	if len(diags) != 0 || len(ps) != 2 || ps[1].Name != "b" {
		t.Errorf("merge override: %v %v", ps, diags)
	}

	// "1" and 1 are different values.
	_, diags = DecodeDefinition("d.yaml", []byte("name: a\nversion: 1\nx: 1\nx: \"1\"\n"))
	if len(diags.Errors()) != 1 {
		t.Errorf("a string and a number compared equal: %v", diags)
	}
}

// TestDuplicateEntries: a collection entry repeated as written is dropped
// with a warning; a different entry under the same identity stays, for the
// tree to report; a bad entry breaks only itself.
func TestDuplicateEntries(t *testing.T) {
	ps, diags := DecodeCollection("c.yaml", []byte("packages:\n- {name: a, version: 1, x: 2}\n- {name: b, version: 1}\n- {name: a, version: 1, x: 2}\n"))
	want := []string{"c.yaml:4:3: warning: packages entry a@1 repeats the entry at line 2; the repetition is ignored"}
	if diff := cmp.Diff(want, lines(diags)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(ps) != 2 {
		t.Errorf("want 2 entries, got %d", len(ps))
	}
	ps, diags = DecodeCollection("c.yaml", []byte("packages:\n- {name: a, version: 1, x: 2}\n- {name: a, version: 1, x: 3}\n"))
	if len(diags) != 0 || len(ps) != 2 {
		t.Errorf("different entries: want both, no diagnostics here; got %d, %v", len(ps), diags)
	}
	ps, diags = DecodeCollection("c.yaml", []byte("packages:\n- {name: a, version: 1, hidden: maybe}\n- {name: b, version: 1}\n- {version: 2}\n"))
	want = []string{
		`c.yaml:2:33: packages entry: hidden: want true or false, got "maybe"`,
		`c.yaml:4:3: packages entry: name: missing`,
	}
	if diff := cmp.Diff(want, lines(diags)); diff != "" {
		t.Errorf("bad entries (-want +got):\n%s", diff)
	}
	if len(ps) != 2 || len(ps[0].Broken) != 1 || len(ps[1].Broken) != 0 {
		t.Errorf("want a broken a and a healthy b, got %+v", ps)
	}
}

// TestJoin: luet's pre-0.18 join reads as requires plus
// requires_final_images, with a warning at the key.
func TestJoin(t *testing.T) {
	b, diags := DecodeBuild("b.yaml", []byte("join:\n- {name: x, category: c, version: \">=0\"}\n- {name: y, category: c}\nsteps: [true]\n"), false)
	want := []string{"b.yaml:1:1: warning: join is deprecated since luet 0.18; read as requires with requires_final_images: true (write that instead)"}
	if diff := cmp.Diff(want, lines(diags)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if b == nil || !b.RequiresFinalImages || len(b.Requires) != 2 || b.Requires[1].Name != "y" {
		t.Errorf("join not translated: %+v", b)
	}
	// With an image, luet builds from it alone.
	if b, diags := DecodeBuild("b.yaml", []byte("image: alpine\njoin: [{name: x}]\n"), false); len(diags.Warnings()) != 2 || len(b.Requires) != 0 {
		t.Errorf("image with join: %v %+v", diags, b)
	}
}

// TestPatterns: includes and excludes are checked where each is written.
func TestPatterns(t *testing.T) {
	_, diags := DecodeBuild("b.yaml", []byte("image: alpine\nincludes:\n- ^/usr/bin\n- /usr/(lib\nexcludes: '['\n"), false)
	want := []string{
		"b.yaml:4:3: includes: \"/usr/(lib\": missing closing ): `/usr/(lib`",
		"b.yaml:5:11: excludes: \"[\": missing closing ]: `[`",
	}
	if diff := cmp.Diff(want, lines(diags)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	re, err := Regexp("^/usr/bin")
	if err != nil || !re.MatchString("/usr/bin/sh") {
		t.Fatalf("Regexp: %v %v", re, err)
	}
	if again, _ := Regexp("^/usr/bin"); again != re {
		t.Errorf("a pattern compiled twice")
	}
}

// TestInvalidUTF8 points at the byte.
func TestInvalidUTF8(t *testing.T) {
	_, diags := DecodeDefinition("d.yaml", []byte("name: a\nversion: 1\ndescription: caf\xe9 au lait\n"))
	want := []string{"d.yaml:3:17: invalid UTF-8: byte 0xe9 (the file must be UTF-8)"}
	if diff := cmp.Diff(want, lines(diags)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestPlainPatterns: the patterns taken without a parse all compile, and
// the others are parsed.
func TestPlainPatterns(t *testing.T) {
	for s, want := range map[string]bool{
		`^/usr/share/foo/data/file00001\.dat$`:  true,
		`^/usr/lib/python3/x-y_z/__init__\.py$`: true,
		`/usr/(bin`:                             false,
		`\d`:                                    false,
		`\`:                                     false,
		`a\qb`:                                  false,
		`a+`:                                    false,
	} {
		if got := plain(s); got != want {
			t.Errorf("plain(%q) = %v, want %v", s, got, want)
		}
		if plain(s) {
			if _, err := regexp.Compile(s); err != nil {
				t.Errorf("plain %q does not compile: %v", s, err)
			}
		}
	}
}

// TestLuetBuildRequires: as luet reads them, steps without image or build
// requires build on the definition's requires, and image wins over
// requires.
func TestLuetBuildRequires(t *testing.T) {
	p := &Package{Name: "a", Version: "1", Requires: []Ref{{Category: "c", Name: "base"}}}
	b, diags := DecodePackageBuild("b.yaml", []byte("steps: [make]\n"), false, p)
	if diags.HasErrors() || len(b.Requires) != 1 || b.Requires[0].Name != "base" {
		t.Errorf("steps on the definition's requires: %v %+v", diags, b)
	}
	if _, diags := DecodePackageBuild("b.yaml", []byte("steps: [make]\n"), false, &Package{Name: "a", Version: "1"}); !diags.HasErrors() {
		t.Errorf("steps on nothing accepted")
	}
	b, diags = DecodeBuild("b.yaml", []byte("image: alpine\nrequires: [{name: base}]\nsteps: [make]\n"), false)
	want := []string{"b.yaml:1:1: warning: build spec has both image and requires; as in luet, the build starts from the image and the requires are not built on (remove one)"}
	if diff := cmp.Diff(want, lines(diags)); diff != "" || b == nil || len(b.Requires) != 0 {
		t.Errorf("image and requires (-want +got):\n%s%+v", diff, b)
	}
}

// TestYAML11Booleans: luet reads YAML 1.1, where unquoted yes and no are
// booleans.
func TestYAML11Booleans(t *testing.T) {
	b, diags := DecodeBuild("b.yaml", []byte("image: alpine\nunpack: yes\nrequires_final_images: off\n"), false)
	if diags.HasErrors() || !b.Unpack || b.RequiresFinalImages {
		t.Errorf("%v %+v", diags, b)
	}
}

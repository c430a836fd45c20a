package index

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/etk-build/etk/compiler/spec"
)

func TestIndexRoundTrip(t *testing.T) {
	full := sampleIndex()
	tests := []struct {
		name string
		x    *Index
	}{
		{"empty", &Index{Format: IndexFormat, Name: "empty"}},
		{"format filled in", &Index{Name: "r", Packages: []Package{pkg("a", "1")}}},
		{"full", full},
		{"no tree", &Index{Format: IndexFormat, Name: "r", Packages: full.Packages}},
		{"html characters", &Index{Format: IndexFormat, Name: "r<&>", Packages: []Package{pkg("a", "1")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.x.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(b, []byte("}\n")) {
				t.Errorf("no trailing newline: %q", b[max(0, len(b)-10):])
			}
			got, err := DecodeIndex(b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			want := *tt.x
			want.Format = IndexFormat
			if diff := cmp.Diff(&want, got, cmpOpts); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			again, err := got.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Errorf("second encoding differs:\n%s\n%s", b, again)
			}
		})
	}
}

func TestIndexGolden(t *testing.T) {
	b, err := sampleIndex().Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "index.json", b)
	if !bytes.Contains(b, []byte(`"version":"<2.0"`)) {
		t.Errorf("selectors are escaped: %s", b)
	}
}

// The order packages are gathered in (a map, concurrent builds) must not
// show in the bytes.
func TestIndexEncodeDeterministic(t *testing.T) {
	byID := map[string]Package{}
	for _, p := range sampleIndex().Packages {
		byID[p.ID] = p
	}
	for i := range 50 {
		byID[pkg("p", string(rune('a'+i%26))+strings.Repeat("x", i/26)).ID] = pkg("p", string(rune('a'+i%26))+strings.Repeat("x", i/26))
	}
	var first []byte
	for range 20 {
		x := &Index{Name: "r"}
		for _, p := range byID { // a new random order each time
			x.Packages = append(x.Packages, p)
		}
		b, err := x.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("encodings differ:\n%s", cmp.Diff(string(first), string(b)))
		}
	}
}

func TestEncodeDoesNotModify(t *testing.T) {
	x := sampleIndex()
	x.Format = ""
	x.Packages[0], x.Packages[3] = x.Packages[3], x.Packages[0]
	before := *x
	before.Packages = append([]Package(nil), x.Packages...)
	if _, err := x.Encode(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&before, x, cmpOpts); diff != "" {
		t.Errorf("Encode changed its index (-before +after):\n%s", diff)
	}
}

func TestIndexErrors(t *testing.T) {
	good, err := sampleIndex().Encode()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q not in the sample", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "decode index: empty"},
		{"syntax", []byte("{\n  \"format\": ,\n}"), "decode index: 2:13: invalid character ','"},
		{"truncated", good[:len(good)/2], "unexpected end of input"},
		{"unknown field", edit(`"name": "etk-demo"`, `"name": "etk-demo", "nmae": "x"`), `unknown field "nmae"`},
		{"unknown package field", edit(`"hidden":true`, `"hiden":true`), `unknown field "hiden"`},
		{"unknown ref field", edit(`"version":">=2"`, `"version":">=2","pos":1`), `unknown field "pos"`},
		{"wrong type", edit(`"size":4`, `"size":"4"`), "cannot unmarshal string"},
		{"trailing data", append(append([]byte{}, good...), "{}"...), "data after the end of the document"},
		{"format", edit(IndexFormat, "etk-index/v2"), `format "etk-index/v2", want "etk-index/v1"`},
		{"no format", edit(`"format": "etk-index/v1",`, ""), `format ""`},
		{"no name", edit(`"name": "etk-demo"`, `"name": ""`), "no repository name"},
		{"unsorted", edit(`"id":"dev/hello@1.0"`, `"id":"x/hello@1.0"`), `packages[1] "dev/world@1.2": not sorted by id (after "x/hello@1.0")`},
		{"id mismatch", edit(`"id":"dev/hello@1.0"`, `"id":"dev/hello@1.1"`), `packages[0] "dev/hello@1.1": id does not match category, name and version ("dev/hello@1.0")`},
		{"bad digest", edit(`"digest":"sha256:`, `"digest":"md5:`), `is not sha256:<64 lower-case hex digits>`},
		{"negative size", edit(`"size":4`, `"size":-4`), "negative size -4"},
		{"no key", edit(`"key":"k-all"`, `"key":""`), `packages[2] "meta/all@1": no key`},
		{"ref without name", edit(`"name":"libc"`, `"name":""`), `packages[0] "dev/hello@1.0": requires[0]: no name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := DecodeIndex(tt.data)
			if err == nil {
				t.Fatalf("decoded %+v", x)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v is not ErrMalformed", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n\t%v\nwant it to contain\n\t%s", err, tt.want)
			}
		})
	}
}

func TestDecodeIndexDuplicate(t *testing.T) {
	x := sampleIndex()
	x.Packages = append(x.Packages[:2], x.Packages[1:]...)
	_, err := x.Encode()
	if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `"dev/world@1.2": listed twice`) {
		t.Fatalf("Encode: %v, want listed twice", err)
	}
	b, err := encodeJSON(x) // as another writer could
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeIndex(b); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("DecodeIndex: %v, want listed twice", err)
	}
}

// Every problem is reported at once, in document order.
func TestIndexErrorsCollected(t *testing.T) {
	x := &Index{Name: "r", Packages: make([]Package, 12)}
	for i := range x.Packages {
		x.Packages[i] = Package{ID: "p@" + string(rune('a'+i)), Name: "p", Version: string(rune('a' + i)), Key: "k"}
	}
	_, err := x.Encode()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "encode index: 12 problems:\n\tpackages[0] \"p@a\": metadata:") {
		t.Errorf("message starts\n%s", msg)
	}
	if i, j := strings.Index(msg, "packages[2] "), strings.Index(msg, "packages[10] "); i < 0 || j < i {
		t.Errorf("problems out of document order:\n%s", msg)
	}
}

func TestPackageName(t *testing.T) {
	for _, p := range []Package{{Category: "dev", Name: "a"}, {Name: "a"}} {
		if got, want := p.PackageName(), spec.JoinName(p.Category, p.Name); got != want {
			t.Errorf("PackageName() = %q, want %q", got, want)
		}
	}
}

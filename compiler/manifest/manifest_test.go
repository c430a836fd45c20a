package manifest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	m, err := Parse("manifest.yaml", []byte("name: demo\nversion: 1.0\ntrees: [pkgs]\nflavor: a\nflavors: {a: [a.yaml], b: [b.yaml]}\nepoch: \"1700000000\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, m.FlavorNames()); diff != "" {
		t.Errorf("flavors (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ src, want string }{
		{"trees: [p]\n", "name is required"},
		{"name: x\n", "trees: at least one"},
		{"name: x\ntrees: [p]\nflavours: {}\n", "field flavours not found"},
		{"name: x\ntrees: [p]\nflavor: a\n", `flavor "a" set, but no flavors`},
		{"name: x\ntrees: [p]\nflavor: c\nflavors: {a: []}\n", `flavor "c" is not one of`},
		{"name: x\ntrees: [p]\nepoch: yesterday\n", `epoch "yesterday"`},
		{"name: caf\xe9\ntrees: [p]\n", "manifest.yaml:1:10: invalid UTF-8"},
	} {
		_, err := Parse("manifest.yaml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

// TestImageFor: the manifest's image section, its defaults, and the last
// profile naming packages.
func TestImageFor(t *testing.T) {
	m := &Manifest{Name: "demo", Version: "1.0", Image: &Image{Packages: []string{"meta/os"}, MaxLayers: 3}}
	got := m.ImageFor([]*Profile{{Image: []string{"meta/a"}}, {}, {Image: []string{"meta/b"}}})
	want := Image{Name: "demo", Version: "1.0", Packages: []string{"meta/b"}, MaxLayers: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := (&Manifest{Name: "x"}).ImageFor(nil); got.Name != "x" || len(got.Packages) != 0 {
		t.Errorf("no image section: %+v", got)
	}
}

package tree

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestOverlayAndMask(t *testing.T) {
	def := func(name, version string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("name: " + name + "\ncategory: c\nversion: " + version + "\n")}
	}
	upstream := fstest.MapFS{
		"a1/definition.yaml": def("a", "1.0"), "a2/definition.yaml": def("a", "2.0"),
		"b/definition.yaml": def("b", "1.0"), "m/definition.yaml": def("m", "1.0"),
	}
	profile := fstest.MapFS{"a/definition.yaml": def("a", "1.5"), "n/definition.yaml": def("n", "0.1")}
	tr, diags := Load(context.Background(), []Source{{Name: "up", FS: upstream}, {Name: "profile", FS: profile, Overlay: true}}, Options{Mask: []string{"c/m"}})
	if tr == nil {
		t.Fatal(diags)
	}
	var ids []string
	for _, p := range tr.Packages {
		ids = append(ids, p.ID())
	}
	// The profile's a replaces both upstream versions (even the newer one),
	// n is added, m is masked.
	if diff := cmp.Diff([]string{"c/a@1.5", "c/b@1.0", "c/n@0.1"}, ids); diff != "" {
		t.Errorf("packages (-want +got):\n%s", diff)
	}
}

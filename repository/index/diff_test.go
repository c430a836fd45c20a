package index

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/spec"
)

func TestDiff(t *testing.T) {
	a, b, c := pkg("a", "1.0"), pkg("b", "1.0"), pkg("c", "1.0")
	rebuilt := a
	rebuilt.Key = "another key"
	reArtefact := a
	reArtefact.Artefact = blobPtr("other bytes", MediaTypeArtefact)
	virtual := a
	virtual.Artefact = nil
	moreRequires := a
	moreRequires.Requires = append(moreRequires.Requires[:1:1], spec.Ref{Name: "zlib"})
	samePos := a
	samePos.Requires = []spec.Ref{{Category: "base", Name: "libc", Version: ">=2", Pos: diag.Pos{File: "packages/a/definition.yaml", Line: 4, Col: 3}}}
	a2, a3, a10 := pkg("a", "2.0"), pkg("a", "3.0"), pkg("a", "10.0")

	idx := func(ps ...Package) *Index { return &Index{Format: IndexFormat, Name: "r", Packages: ps} }
	tests := []struct {
		name string
		a, b *Index
		want Changes
	}{
		{"same", idx(a, b), idx(a, b), Changes{}},
		{"nil indexes", nil, nil, Changes{}},
		{"from nothing", nil, idx(a, b), Changes{Added: []Package{a, b}}},
		{"to nothing", idx(a, b), idx(), Changes{Removed: []Package{a, b}}},
		{"added and removed", idx(a, b), idx(b, c), Changes{Added: []Package{c}, Removed: []Package{a}}},
		{"new key", idx(a, b), idx(rebuilt, b), Changes{Changed: []Change{{a, rebuilt}}}},
		{"new artefact", idx(a), idx(reArtefact), Changes{Changed: []Change{{a, reArtefact}}}},
		{"now virtual", idx(a), idx(virtual), Changes{Changed: []Change{{a, virtual}}}},
		{"new requires", idx(a), idx(moreRequires), Changes{Changed: []Change{{a, moreRequires}}}},
		{"positions do not count", idx(a), idx(samePos), Changes{}},
		{"version bump", idx(a, b), idx(a2, b), Changes{Changed: []Change{{a, a2}}}},
		{"version bump, old kept", idx(a, a2), idx(a2, a3), Changes{Changed: []Change{{a, a3}}}},
		{"two versions replace one", idx(a), idx(a2, a3), Changes{Changed: []Change{{a, a2}}, Added: []Package{a3}}},
		// Versions pair in version order (2.0 < 10.0); Changed is sorted by ID.
		{"version order", idx(a, a2), idx(a3, a10), Changes{Changed: []Change{{a2, a10}, {a, a3}}}},
		{"one version of two dropped", idx(a, a2), idx(a2), Changes{Removed: []Package{a}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.a, tt.b)
			if diff := cmp.Diff(tt.want, got, cmpOpts); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
			if got.Empty() != (len(tt.want.Added)+len(tt.want.Removed)+len(tt.want.Changed) == 0) {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

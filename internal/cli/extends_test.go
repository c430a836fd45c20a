package cli

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/repository/compiletree"
)

// TestExtendsCycle: a project built, through its upstreams, on itself is
// named as a cycle with its path, not as packages defined twice.
func TestExtendsCycle(t *testing.T) {
	// acme extends extras; extras was built on foundation and on acme.
	err := extendsCycle("acme", map[string][]string{"": {"extras"}, "extras": {"foundation", "acme"}, "foundation": nil})
	if err == nil || err.Error() != "extends cycle: acme -> extras -> acme (a repository cannot be built on itself)" {
		t.Errorf("got %v", err)
	}
	if err := extendsCycle("acme", map[string][]string{"": {"extras", "foundation"}, "extras": {"foundation"}}); err != nil {
		t.Errorf("a diamond: %v", err)
	}
	if err := extendsCycle("acme", map[string][]string{"": {"acme"}}); err == nil || !strings.Contains(err.Error(), "acme -> acme") {
		t.Errorf("extending itself: %v", err)
	}
}

// TestUpstreamTreesOnce: two upstreams built on one revision of a
// repository bring its trees once; on two revisions, an error says so.
func TestUpstreamTreesOnce(t *testing.T) {
	f := fstest.MapFS{"base/definition.yaml": {Data: []byte("name: base\nversion: 1\n")}}
	a := &compiletree.CompileTree{Trees: []compiletree.Tree{{Origin: "foundation", Revision: 3, FS: f}, {Origin: "a", Revision: 1, Overlay: true, FS: fstest.MapFS{}}}}
	b := &compiletree.CompileTree{Trees: []compiletree.Tree{{Origin: "foundation", Revision: 3, FS: f}, {Origin: "b", Revision: 7, Overlay: true, FS: fstest.MapFS{}}}}
	p := &project{}
	if err := p.addUpstreamTrees("a", a); err != nil {
		t.Fatal(err)
	}
	if err := p.addUpstreamTrees("b", b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.cfg.Trees {
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

// TestBrokenManifestIsNamed: etk lock on a manifest that does not load
// says why, instead of that there is none.
func TestBrokenManifestIsNamed(t *testing.T) {
	dir := writeProject(t, map[string]string{"manifest.yaml": "name: x\ntrees: [pkgs]\nflavours: {}\n"})
	_, errOut, code := run(t, dir, "lock")
	if code == 0 || strings.Contains(errOut, "no manifest.yaml") || !strings.Contains(errOut, "flavours") {
		t.Errorf("exit %d:\n%s", code, errOut)
	}
}

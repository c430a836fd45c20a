package repository_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// TestCachedEntries: entries come from the cache; a package an upstream
// holds is referred to there, without credentials, unless copied; what
// was not built is named.
func TestCachedEntries(t *testing.T) {
	fsys := fstest.MapFS{
		"a/definition.yaml": {Data: []byte("name: a\ncategory: c\nversion: 1\n")},
		"a/build.yaml":      {Data: []byte("")},
		"b/definition.yaml": {Data: []byte("name: b\ncategory: c\nversion: 1\n")},
		"b/build.yaml":      {Data: []byte("")},
	}
	s, diags := compiler.Load(context.Background(), compiler.Config{Trees: []tree.Source{{Name: "t", FS: fsys}}})
	if s == nil || diags.HasErrors() {
		t.Fatal(diags)
	}
	pl, diags := s.Plan(context.Background(), s.Graph.Nodes)
	if pl == nil {
		t.Fatal(diags)
	}
	c, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keyOf := map[string]string{}
	for _, st := range pl.Steps {
		keyOf[st.ID] = st.Key
	}
	w, err := c.Create(keyOf["c/a@1"])
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMetadata(map[string]string{"id": "c/a@1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := repository.CachedEntries(pl, c, nil, false); err == nil || !strings.Contains(err.Error(), "not built (run etk compile first): c/b@1") {
		t.Errorf("missing b: %v", err)
	}
	w, _ = c.Create(keyOf["c/b@1"])
	_ = w.WriteMetadata(map[string]string{"id": "c/b@1"})
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	up := repository.NewUpstream("foundation", &repository.Repo{Index: &index.Index{Packages: []index.Package{
		{ID: "c/b@1", Key: keyOf["c/b@1"], Artefact: &index.Blob{Digest: "sha256:" + strings.Repeat("0", 64), Size: 1}},
	}}})
	up.URL = "oci://user:secret@registry.example/foundation"
	entries, err := repository.CachedEntries(pl, c, []*repository.Upstream{up}, false)
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{}
	for _, e := range entries {
		for _, id := range []string{"c/a@1", "c/b@1"} {
			if strings.Contains(string(e.Metadata), id) {
				sources[id] = e.Source
			}
		}
	}
	if got := sources["c/b@1"]; got != "oci://registry.example/foundation" {
		t.Errorf("b's source: %q (%v)", got, sources)
	}
	if got, ok := sources["c/a@1"]; !ok || got != "" {
		t.Errorf("a's source: %q, %v", got, ok)
	}
	entries, _ = repository.CachedEntries(pl, c, []*repository.Upstream{up}, true)
	for _, e := range entries {
		if e.Source != "" {
			t.Errorf("copied, yet a source: %q", e.Source)
		}
	}
}

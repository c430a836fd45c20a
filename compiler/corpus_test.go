package compiler_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
	"github.com/etk-build/etk/internal/corpus"
)

// loadCorpus loads the elemental tree with one of its values files.
func loadCorpus(t testing.TB, valuesFile string) (*compiler.Session, diag.List) {
	t.Helper()
	dir := corpus.Dir(t, corpus.Elemental)
	v, err := values.Load(os.DirFS(filepath.Join(dir, "values")), valuesFile, "values/"+valuesFile)
	if err != nil {
		t.Fatal(err)
	}
	return compiler.Load(context.Background(), compiler.Config{
		Trees:  []tree.Source{{Name: "packages", FS: os.DirFS(filepath.Join(dir, "packages"))}},
		Values: v,
	})
}

func corpusFlavors(t *testing.T) []string {
	dir := corpus.Dir(t, corpus.Elemental)
	m, err := filepath.Glob(filepath.Join(dir, "values", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range m {
		out = append(out, filepath.Base(f))
	}
	if len(out) != 8 {
		t.Fatalf("want the 8 values files of the corpus, found %d", len(out))
	}
	return out
}

// TestCorpusEveryFlavor loads the real elemental tree with each of its 8
// values files: all 75 packages, every Dockerfile rendered, and validation
// finds exactly the tree's one real defect, with its file and line.
func TestCorpusEveryFlavor(t *testing.T) {
	for _, flavor := range corpusFlavors(t) {
		t.Run(flavor, func(t *testing.T) {
			s, diags := loadCorpus(t, flavor)
			if s == nil {
				t.Fatalf("load: %v", diags)
			}
			if w := diags.Warnings(); len(w) != 0 {
				t.Errorf("unexpected warnings:\n%v", w)
			}
			if got := len(s.Tree.Packages); got != 75 {
				t.Errorf("packages: got %d, want 75", got)
			}
			got := s.Validate()
			want := "packages/backports/installer/definition.yaml:18:3: utils/installer@0.30.0 requires system/cos-config >=0: no such package (did you mean system/cloud-config?)"
			if len(got) != 1 || got[0].Error() != want {
				t.Errorf("validate:\n got %v\nwant %s", got, want)
			}

			p, diags := s.Plan(context.Background(), s.Graph.Nodes)
			if p == nil {
				t.Fatalf("plan: %v", diags)
			}
			if len(p.Steps) != 75 {
				t.Errorf("plan steps: got %d, want 75", len(p.Steps))
			}
			rendered := 0
			for _, st := range p.Steps {
				builder, pkg, ok, err := s.Render(p, st)
				if err != nil {
					t.Fatalf("render %s: %v", st.ID, err)
				}
				if !ok {
					continue
				}
				rendered++
				for _, df := range [][]byte{builder, pkg} {
					if !strings.HasPrefix(string(df), "FROM ") || strings.Contains(string(df), "<no value>") {
						t.Errorf("%s: suspicious Dockerfile:\n%s", st.ID, df)
					}
				}
			}
			if rendered == 0 {
				t.Error("no Dockerfile rendered")
			}
		})
	}
}

// TestCorpusKnownShapes checks facts of the real tree that a loader gets
// wrong easily.
func TestCorpusKnownShapes(t *testing.T) {
	s, diags := loadCorpus(t, "green-x86_64.yaml")
	if s == nil {
		t.Fatal(diags)
	}
	for _, tc := range []struct {
		arg, wantID string
	}{
		{"system/cos-wrapper", "system/cos-wrapper@0.32-16"},
		{"toolchain/luet-makeiso", "toolchain/luet-makeiso@0.4.0-10"},
		{"toolchain-fips/luet-makeiso", "toolchain-fips/luet-makeiso@0.3.8-38"},
		{"build/golang-fips", "build/golang-fips@1.18b7-5"},
		{"cloud-config/upgrade_grub_hooks", "cloud-config/upgrade_grub_hooks@0.4.2-10"},
	} {
		n, err := s.Graph.Find(tc.arg)
		if err != nil {
			t.Errorf("find %s: %v", tc.arg, err)
			continue
		}
		if n.Pkg.ID() != tc.wantID {
			t.Errorf("find %s: got %s, want %s", tc.arg, n.Pkg.ID(), tc.wantID)
		}
	}
	// The same name in two categories is ambiguous without one.
	if _, err := s.Graph.Find("luet-makeiso"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("find luet-makeiso: want ambiguous, got %v", err)
	}
	// Merge keys: cos-container inherits cos's brand and version.
	n, err := s.Graph.Find("system/cos-container")
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Pkg.Values["brand_name"]; got != "cOS" || n.Pkg.Version != "0.10.7" {
		t.Errorf("cos-container: brand_name %v, version %s", got, n.Pkg.Version)
	}
	// Templated requires: toolchain-fips packages build on golang-fips.
	n, err = s.Graph.Find("toolchain-fips/yip")
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Build) != 1 || n.Build[0].To.Pkg.ID() != "build/golang-fips@1.18b7-5" {
		t.Errorf("toolchain-fips/yip builds on %v", n.Build)
	}
	// The 0-byte build.yaml of meta packages gives virtual packages.
	n, _ = s.Graph.Find("meta/cos-minimal")
	if !n.Pkg.Build.Empty() {
		t.Errorf("meta/cos-minimal should be virtual")
	}
}

package dockerfile

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRun(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"make", "RUN make"},
		{"make\n", "RUN make"},
		{"a && \\\n  b && \\\n  c\n", "RUN a && \\\n  b && \\\n  c"},
		{"cat > /x <<EOF\nline <one> & two\nEOF\n", `RUN ["/bin/sh","-c","cat > /x <<EOF\nline <one> & two\nEOF"]`},
		{"echo \"quoted\"\necho two", `RUN ["/bin/sh","-c","echo \"quoted\"\necho two"]`},
	} {
		if got := Run(tc.in); got != tc.want {
			t.Errorf("Run(%q):\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

var sample = Data{
	Category: "system", Name: "grub", Version: "0.1.0",
	From:     "etk.local/distro/base:abc",
	Layers:   []string{"etk.local/system/kernel:def-artefact"},
	Builder:  "etk.local/system/grub:123-builder",
	Retrieve: []string{"https://example.org/x.tar.gz"},
	Copy:     []Copy{{From: "etk.local/toolchain/tool:456", Source: "/usr/bin/tool", Destination: "/usr/bin/tool"}},
	Env:      []string{"DEBIAN_FRONTEND=noninteractive", `LDFLAGS="-s -w"`},
	Prelude:  []string{"apt-get update"},
	Steps:    []string{"cp grub.cfg /etc/grub.cfg", "cat > /etc/x <<EOF\nhello\nEOF\n"},
}

func TestRenderGolden(t *testing.T) {
	tpl, err := Load(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	b, p, err := tpl.Render(sample)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "builder.Dockerfile", b)
	golden(t, "package.Dockerfile", p)
}

func TestOverride(t *testing.T) {
	builtin, err := Load(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	over, err := Load(fstest.MapFS{PackageTemplate: {Data: []byte("FROM {{ .Builder }}\nLABEL etk.package={{ .Category }}/{{ .Name }}\n{{ range .Steps }}{{ run . }}\n{{ end }}")}}, "templates")
	if err != nil {
		t.Fatal(err)
	}
	if builtin.Digest() == over.Digest() {
		t.Error("an overridden template must change the templates digest")
	}
	b1, _, _ := builtin.Render(sample)
	b2, p2, err := over.Render(sample)
	if err != nil {
		t.Fatal(err)
	}
	if string(b1) != string(b2) {
		t.Error("the builder template was not overridden and must not change")
	}
	want := "FROM etk.local/system/grub:123-builder\nLABEL etk.package=system/grub\nRUN cp grub.cfg /etc/grub.cfg\nRUN [\"/bin/sh\",\"-c\",\"cat > /etc/x <<EOF\\nhello\\nEOF\"]\n"
	if diff := cmp.Diff(want, string(p2)); diff != "" {
		t.Errorf("overridden package Dockerfile (-want +got):\n%s", diff)
	}
	if _, err := Load(fstest.MapFS{BuilderTemplate: {Data: []byte("{{ .Nope ")}}, "templates"); err == nil {
		t.Error("a broken override must be an error")
	}
}

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/etk-build/etk/internal/corpus"
	"github.com/etk-build/etk/internal/dockertest"
	"github.com/spf13/cobra"
)

// run executes etk with args in dir and returns stdout, stderr and the
// exit code main would use.
func run(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if dir != "" {
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
	}
	defer os.Chdir(wd)
	var out, errOut bytes.Buffer
	root := newRoot(&streams{out: &out, errOut: &errOut})
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), ExitCode(err)
}

// writeProject writes a small etk project into a temp dir.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var small = map[string]string{
	"manifest.yaml": `name: small
version: 1.0.0
trees: [pkgs]
flavor: one
flavors:
  one: [values/one.yaml]
  two: [values/two.yaml]
targets: [apps/app]
`,
	"values/one.yaml":            "image: busybox:1\n",
	"values/two.yaml":            "image: busybox:2\nextra: true\n",
	"pkgs/base/definition.yaml":  "name: base\ncategory: distro\nversion: 1.0\n",
	"pkgs/base/build.yaml":       "image: {{ .Values.image }}\nunpack: true\n",
	"pkgs/app/definition.yaml":   "name: app\ncategory: apps\nversion: 0.1\nrequires: [{name: base, category: distro}]\n",
	"pkgs/app/build.yaml":        "requires: [{name: base, category: distro}]\nsteps:\n- echo {{ .Values.image }} > /x\n{{ if .Values.extra }}\n- echo extra\n{{ end }}\n",
	"pkgs/app/file.txt":          "hello\n",
	"pkgs/other/definition.yaml": "name: other\ncategory: apps\nversion: 3\n",
}

func TestTreeList(t *testing.T) {
	dir := writeProject(t, small)
	out, _, code := run(t, dir, "tree", "list")
	if code != 0 || out != "apps/app@0.1\napps/other@3\ndistro/base@1.0\n" {
		t.Errorf("tree list: code %d, out %q", code, out)
	}
	out, _, _ = run(t, dir, "tree", "list", "-o", "json", "--deps", "--revdeps", "--match", "^distro/")
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(entries) != 1 || entries[0]["id"] != "distro/base@1.0" || len(entries[0]["required_by"].([]any)) != 1 {
		t.Errorf("tree list json: %v", entries)
	}
	// -C works from anywhere, and subdirectories find the manifest.
	out, _, code = run(t, filepath.Join(dir, "pkgs", "app"), "tree", "list", "--match", "base")
	if code != 0 || out != "distro/base@1.0\n" {
		t.Errorf("from a subdirectory: %d %q", code, out)
	}
}

func TestPlanUsesTargetsAndFlavors(t *testing.T) {
	dir := writeProject(t, small)
	out, errOut, code := run(t, dir, "plan", "--unresolved")
	if code != 0 {
		t.Fatalf("plan: %d %s", code, errOut)
	}
	if !strings.Contains(out, "apps/app@0.1") || strings.Contains(out, "apps/other") {
		t.Errorf("plan should cover the manifest's targets and their build inputs only:\n%s", out)
	}
	key := func(flavor string, extra ...string) string {
		args := append([]string{"plan", "--unresolved", "-o", "json", "--flavor", flavor}, extra...)
		out, errOut, code := run(t, dir, args...)
		if code != 0 {
			t.Fatalf("plan: %s", errOut)
		}
		var p struct {
			Levels []struct {
				Steps []struct{ ID, Key string }
			}
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		for _, l := range p.Levels {
			for _, s := range l.Steps {
				if s.ID == "apps/app@0.1" {
					return s.Key
				}
			}
		}
		t.Fatal("no apps/app in the plan")
		return ""
	}
	one, two := key("one"), key("two")
	if one == two {
		t.Error("flavors with different values must give different keys")
	}
	if got := key("one", "--set", "image=busybox:2", "--set", "extra=true"); got != two {
		t.Error("--set must layer over the flavor like a values file")
	}
	out, _, _ = run(t, dir, "plan", "--unresolved", "--explain", "apps/app")
	for _, want := range []string{"spec", "file", "file.txt 0644", "templates", "requires", "distro/base@1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("--explain lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	dir := writeProject(t, small)
	read := func(out string) map[string]string {
		files := map[string]string{}
		filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(out, p)
				files[rel] = string(b)
			}
			return nil
		})
		return files
	}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, out := range []string{a, b} {
		if _, errOut, code := run(t, dir, "render", "--unresolved", "-o", out); code != 0 {
			t.Fatalf("render: %s", errOut)
		}
	}
	fa, fb := read(a), read(b)
	if len(fa) == 0 || len(fa) != len(fb) {
		t.Fatalf("render outputs: %d vs %d files", len(fa), len(fb))
	}
	for k, v := range fa {
		if fb[k] != v {
			t.Errorf("%s differs between two renders", k)
		}
	}
	if got := fa["apps/app-0.1/context.txt"]; got != "file.txt\n" {
		t.Errorf("context.txt = %q", got)
	}
	if !strings.HasPrefix(fa["distro/base-1.0/builder.Dockerfile"], "FROM busybox:1\n") {
		t.Errorf("base builder: %q", fa["distro/base-1.0/builder.Dockerfile"])
	}
}

func TestErrorsAndExitCodes(t *testing.T) {
	dir := writeProject(t, small)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"plan", "--nope"}, 2, "unknown flag"},
		{"bad output", []string{"tree", "list", "-o", "xml"}, 2, "--output must be"},
		{"bad flavor", []string{"plan", "--flavor", "three"}, 2, `no flavor "three"`},
		{"unknown package", []string{"plan", "apps/nope"}, 1, `no package named "apps/nope"`},
		{"render without -o", []string{"render"}, 2, "render needs -o"},
		{"bad --set", []string{"plan", "--set", "novalue"}, 2, "want key=value"},
		{"extra args", []string{"tree", "list", "x"}, 2, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, dir, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("code %d (want %d), stderr %q (want %q)", code, tc.code, errOut, tc.want)
			}
		})
	}
	// A broken spec: positioned error, exit 1, validate reports per flavor.
	broken := map[string]string{}
	for k, v := range small {
		broken[k] = v
	}
	broken["pkgs/app/build.yaml"] = "requires: [{name: base, category: distro}]\nsteps:\n- echo {{ .Values.image\n"
	dir = writeProject(t, broken)
	_, errOut, code := run(t, dir, "tree", "validate")
	if code != 1 || !strings.Contains(errOut, "pkgs/app/build.yaml:3:8: template error: unclosed action") {
		t.Errorf("validate broken: %d %q", code, errOut)
	}
	// No manifest: a clear message.
	_, errOut, code = run(t, t.TempDir(), "plan")
	if code != 1 || !strings.Contains(errOut, "no manifest.yaml found") {
		t.Errorf("no manifest: %d %q", code, errOut)
	}
}

func TestValidateEveryFlavor(t *testing.T) {
	files := map[string]string{}
	for k, v := range small {
		files[k] = v
	}
	// A requirement that only the second flavor's values break.
	files["pkgs/app/build.yaml"] = "requires: [{name: base, category: distro, version: '{{ if .Values.extra }}>=2{{ else }}>=0{{ end }}'}]\nsteps: [true]\n"
	dir := writeProject(t, files)
	_, errOut, code := run(t, dir, "tree", "validate")
	want := "pkgs/app/build.yaml:1:12: apps/app@0.1 requires distro/base >=2: no version satisfies it: constraint >=2 excludes 1.0 [flavor two]"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("validate: %d\n%s\nwant %s", code, errOut, want)
	}
	out, _, code := run(t, dir, "tree", "validate", "--flavor", "one")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("validate --flavor one: %d %q", code, out)
	}
}

func TestCorpus(t *testing.T) {
	dir := corpus.Dir(t, corpus.Elemental)
	tree := filepath.Join(dir, "packages")
	vals := filepath.Join(dir, "values", "teal-x86_64.yaml")
	out, _, code := run(t, "", "tree", "list", "--tree", tree, "--values", vals)
	if code != 0 || strings.Count(out, "\n") != 75 {
		t.Errorf("tree list: code %d, %d lines", code, strings.Count(out, "\n"))
	}
	_, errOut, code := run(t, "", "tree", "validate", "--tree", tree, "--values", vals)
	if code != 1 || !strings.Contains(errOut, "packages/backports/installer/definition.yaml:18:3: utils/installer@0.30.0 requires system/cos-config >=0: no such package") {
		t.Errorf("validate: %d %q", code, errOut)
	}
	out, _, code = run(t, "", "tree", "graph", "--tree", tree, "--values", vals, "--format", "dot", "system/cos")
	if code != 0 || !strings.HasPrefix(out, "digraph etk {") || !strings.Contains(out, `"system/cos@0.10.7" -> "distro/base@0.20230106";`) {
		t.Errorf("graph: %d\n%s", code, out)
	}
}

// TestExamples runs every command's Example lines from the repository
// root, as a user would copy them.
// TestExamples runs every Example line of every command, as written,
// against the repository's own tree, in an order that makes them work
// together: keygen before publish, compile before publish, publish before
// what reads the repository, install before uninstall, image build before
// channel publish (whose "sha256:…" is the digest image build printed).
// The /tmp paths of the examples are mapped to one temporary folder. Lines
// that need an engine or a registry say so and fail in CI without one.
func TestExamples(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "packages")); err != nil {
		t.Skip("no packages/ tree in the repository")
	}
	var cmds []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		cmds = append(cmds, c)
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(New())
	type example struct {
		line string
		args []string
		rank int
	}
	// rank orders the examples by what they need of each other.
	rank := func(args []string) int {
		path := strings.Join(args[:min(2, len(args))], " ")
		for i, prefix := range []string{"tree", "plan", "render", "repo keygen", "compile", "publish", "repo", "install", "uninstall", "image", "channel publish", "channel list", "cache"} {
			if strings.HasPrefix(path, prefix) {
				return i
			}
		}
		return 100
	}
	tmp := t.TempDir()
	// What etk channel list remembers goes to the test's folder.
	t.Setenv("XDG_CONFIG_HOME", tmp)
	var examples []example
	for _, c := range cmds {
		if c.Runnable() && c.Example == "" && c.Name() != "help" && c.Name() != "completion" {
			t.Errorf("%s has no Example", c.CommandPath())
		}
		text := strings.ReplaceAll(c.Example, "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "etk ") {
				continue
			}
			line, _, _ = strings.Cut(line, "|")
			args := strings.Fields(line)[1:]
			for i, a := range args {
				args[i] = strings.Trim(a, `'`)
				switch {
				case strings.HasPrefix(a, "/tmp/"):
					args[i] = filepath.Join(tmp, strings.TrimPrefix(a, "/tmp/"))
				case a == "build/dockerfiles":
					args[i] = filepath.Join(tmp, "dockerfiles")
				}
			}
			examples = append(examples, example{line, args, rank(args)})
		}
	}
	if len(examples) == 0 {
		t.Fatal("no examples found")
	}
	sort.SliceStable(examples, func(i, j int) bool { return examples[i].rank < examples[j].rank })
	imageDigest := ""
	for _, ex := range examples {
		args := append([]string(nil), ex.args...)
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			dir := root
			switch args[0] {
			case "lock", "update":
				// This repository extends nothing: they run on a copy of
				// the example derivative, whose upstream is the foundation
				// make os published (and whose key .ci/run puts beside it).
				dir = derivativeCopy(t, root)
			case "plan", "render", "compile", "publish", "repo", "install", "uninstall", "image", "channel", "cache":
				// Keys name base images by digest: an engine is needed.
				dockertest.Engine(t)
			}
			if strings.Contains(ex.line, "../shared/") {
				corpus.Dir(t, corpus.Elemental)
			}
			if strings.Contains(ex.line, dockertest.Registry) {
				dockertest.RegistryUp(t)
			}
			for i, a := range args {
				if strings.HasSuffix(a, "@sha256:…") {
					if imageDigest == "" {
						t.Fatal("no image digest from the image build example")
					}
					args[i] = strings.TrimSuffix(a, "sha256:…") + imageDigest
				}
			}
			out, errOut, code := run(t, dir, args...)
			if code != 0 && !(code == 1 && strings.Contains(ex.line, "../shared/") && strings.Contains(ex.line, "validate")) {
				t.Fatalf("%s: exit %d\n%s", ex.line, code, errOut)
			}
			if args[0] == "image" {
				imageDigest = strings.TrimSpace(out)
			}
		})
	}
}

// derivativeCopy copies examples/derivative to a temporary folder for the
// lock and update examples, which need a project that extends an upstream.
// Without the foundation's key beside it (.ci/run copies it there after
// make os) or the registry, the test is skipped; in CI it fails.
func derivativeCopy(t *testing.T, root string) string {
	t.Helper()
	src := filepath.Join(root, "examples", "derivative")
	if _, err := os.Stat(filepath.Join(src, "keys", "foundation.pub")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("examples/derivative/keys/foundation.pub: %v (.ci/run copies it there after make os)", err)
		}
		t.Skipf("examples/derivative has no foundation key (%v): run make os and copy ~/.config/etk/keys/etk.key.pub there", err)
	}
	dockertest.RegistryUp(t)
	dir := filepath.Join(t.TempDir(), "derivative")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestProfiles(t *testing.T) {
	files := map[string]string{}
	for k, v := range small {
		files[k] = v
	}
	files["pkgs/app/build.yaml"] = "requires: [{name: base, category: distro}]\nsteps:\n- echo {{ .Values.greeting }} > /x\n"
	files["values/one.yaml"] = "image: busybox:1\ngreeting: flavor\n"
	files["profiles/a/profile.yaml"] = "values: {greeting: a, image: busybox:a}\n"
	files["profiles/b/profile.yaml"] = "values_files: [b.yaml]\ntrees: [pkgs]\nmask: [apps/other]\nimage: [apps/app]\n"
	files["profiles/b/b.yaml"] = "greeting: b\n"
	files["profiles/b/pkgs/app/definition.yaml"] = "name: app\ncategory: apps\nversion: 0.0.9\n"
	files["profiles/b/pkgs/app/build.yaml"] = "requires: [{name: base, category: distro}]\nsteps:\n- echo replaced {{ .Values.greeting }} > /x\n"
	dir := writeProject(t, files)
	render := func(args ...string) string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "r")
		if _, errOut, code := run(t, dir, append([]string{"render", "--unresolved", "-o", out, "--build-only", "apps/app"}, args...)...); code != 0 {
			t.Fatalf("render %v: %s", args, errOut)
		}
		m, _ := filepath.Glob(filepath.Join(out, "apps", "app-*", "build.yaml"))
		if len(m) != 1 {
			t.Fatalf("render %v: %v", args, m)
		}
		b, _ := os.ReadFile(m[0])
		return filepath.Base(filepath.Dir(m[0])) + ": " + strings.TrimSpace(string(b))
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "app-0.1: requires: [{name: base, category: distro}]\nsteps:\n- echo flavor > /x"},
		{[]string{"--profile", "a"}, "app-0.1: requires: [{name: base, category: distro}]\nsteps:\n- echo a > /x"},
		// b's tree replaces apps/app, even with a lower version; b's
		// values win over a's; --set wins over both.
		{[]string{"--profile", "a,b"}, "app-0.0.9: requires: [{name: base, category: distro}]\nsteps:\n- echo replaced b > /x"},
		{[]string{"--profile", "b,a"}, "app-0.0.9: requires: [{name: base, category: distro}]\nsteps:\n- echo replaced a > /x"},
		{[]string{"--profile", "a,b", "--set", "greeting=cli"}, "app-0.0.9: requires: [{name: base, category: distro}]\nsteps:\n- echo replaced cli > /x"},
	} {
		if got := render(tc.args...); got != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
	out, _, _ := run(t, dir, "tree", "list", "--profile", "b")
	if strings.Contains(out, "apps/other") || !strings.Contains(out, "apps/app@0.0.9") {
		t.Errorf("profile b lists:\n%s", out)
	}
	if _, errOut, code := run(t, dir, "plan", "--profile", "nope"); code != 2 || !strings.Contains(errOut, `profile "nope"`) {
		t.Errorf("unknown profile: %d %s", code, errOut)
	}
}

package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etk-build/etk/internal/dockertest"
)

// etkBinary builds the etk command once per test run.
var etkBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "etk-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "etk")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/etk-build/etk/cmd/etk").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

// slowTree has a base and a package whose build takes a few seconds.
func slowTree(t *testing.T) string {
	return writeProject(t, map[string]string{
		"manifest.yaml": "name: slow\ntrees: [pkgs]\nflavor: f\nflavors: {f: [values.yaml]}\n",
		// The nonce keeps the engine's own layer cache from finishing the
		// slow step before it can be interrupted.
		"values.yaml":                fmt.Sprintf("image: %s\nnonce: %d\n", dockertest.BaseImage, time.Now().UnixNano()),
		"pkgs/base/definition.yaml":  "name: base\ncategory: distro\nversion: 1\n",
		"pkgs/base/build.yaml":       "image: {{ .Values.image }}\nunpack: true\nexcludes: ['^/(proc|sys|dev)']\n",
		"pkgs/slow/definition.yaml":  "name: slow\ncategory: apps\nversion: 1\n",
		"pkgs/slow/build.yaml":       "requires: [{name: base, category: distro}]\nsteps:\n- echo start {{ .Values.nonce }} && sleep 4 && echo done > /slow.txt\n",
		"pkgs/quick/definition.yaml": "name: quick\ncategory: apps\nversion: 1\n",
		"pkgs/quick/build.yaml":      "requires: [{name: base, category: distro}]\nsteps:\n- echo quick > /quick.txt\n",
	})
}

type event struct {
	Event   string `json:"event"`
	Package string `json:"package"`
}

func events(t *testing.T, out string) map[string][]string {
	t.Helper()
	byKind := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON event: %q", sc.Text())
		}
		if e.Event != "log" {
			byKind[e.Event] = append(byKind[e.Event], e.Package)
		}
	}
	return byKind
}

// TestDockerKill9 kills etk in the middle of a build and runs it again:
// the second run completes, and nothing half-written is taken as done.
func TestDockerKill9(t *testing.T) {
	dockertest.Engine(t)
	bin, err := etkBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := slowTree(t)
	cacheDir := t.TempDir()
	cmd := exec.Command(bin, "compile", "--cache-dir", cacheDir, "-o", "json", "--jobs", "1")
	cmd.Dir = dir
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		var e event
		json.Unmarshal(sc.Bytes(), &e)
		if e.Event == "started" && e.Package == "apps/slow@1" {
			time.Sleep(1500 * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatal("never saw apps/slow start")
	}
	// The killed run's scratch folder is reported dead.
	if out, _, _ := runBin(t, bin, dir, "cache", "status", "--cache-dir", cacheDir); !strings.Contains(out, ": dead") {
		t.Errorf("cache status after the kill shows no dead leftover:\n%s", out)
	}
	out, errOut, code := runBin(t, bin, dir, "compile", "--cache-dir", cacheDir, "-o", "json")
	if code != 0 {
		t.Fatalf("re-run after kill -9: exit %d\n%s", code, errOut)
	}
	ev := events(t, out)
	if !contains(ev["built"], "apps/slow@1") || len(ev["failed"]) != 0 {
		t.Errorf("re-run events: %v", ev)
	}
	// The re-run removed what the killed one left, and its own.
	if des, _ := os.ReadDir(filepath.Join(cacheDir, "tmp")); len(des) != 0 {
		var names []string
		for _, d := range des {
			names = append(names, d.Name())
		}
		t.Errorf("left in the cache's tmp/ after the re-run: %v", names)
	}
}

// TestDockerConcurrentCompiles runs two compiles on one cache at once:
// both succeed, and each package is built once between them.
func TestDockerConcurrentCompiles(t *testing.T) {
	dockertest.Engine(t)
	bin, err := etkBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := slowTree(t)
	cacheDir := t.TempDir()
	var wg sync.WaitGroup
	outs := make([]string, 2)
	codes := make([]int, 2)
	errs := make([]string, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i], codes[i] = runBin(t, bin, dir, "compile", "--cache-dir", cacheDir, "-o", "json")
		}()
	}
	wg.Wait()
	built := map[string]int{}
	for i := range outs {
		if codes[i] != 0 {
			t.Fatalf("compile %d: exit %d\n%s", i, codes[i], errs[i])
		}
		for _, id := range events(t, outs[i])["built"] {
			built[id]++
		}
	}
	for _, id := range []string{"distro/base@1", "apps/slow@1", "apps/quick@1"} {
		if built[id] != 1 {
			t.Errorf("%s built %d times between the two runs", id, built[id])
		}
	}
	// And a third run is a no-op.
	out, _, code := runBin(t, bin, dir, "compile", "--cache-dir", cacheDir, "-o", "json")
	if ev := events(t, out); code != 0 || len(ev["built"]) != 0 || len(ev["cached"]) != 3 {
		t.Errorf("third run: code %d, events %v", code, ev)
	}
}

func runBin(t *testing.T, bin, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestDockerRemoteCache: a teammate pushes their builds to a registry; a
// clean machine with an empty local cache builds nothing and gets the
// same artefacts.
func TestDockerRemoteCache(t *testing.T) {
	dockertest.Engine(t)
	reg := dockertest.RegistryUp(t)
	bin, err := etkBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := slowTree(t)
	repo := fmt.Sprintf("%s/etk-test/cache-%d", reg, time.Now().UnixNano())
	out, errOut, code := runBin(t, bin, dir, "compile", "--cache-dir", t.TempDir(), "--cache-repo", repo, "--push", "-o", "json")
	if code != 0 {
		t.Fatalf("teammate's compile: exit %d\n%s", code, errOut)
	}
	if ev := events(t, out); len(ev["built"]) != 3 {
		t.Fatalf("teammate built %v", ev["built"])
	}
	mine := t.TempDir()
	out, errOut, code = runBin(t, bin, dir, "compile", "--cache-dir", mine, "--cache-repo", repo, "-o", "json")
	if code != 0 {
		t.Fatalf("my compile: exit %d\n%s", code, errOut)
	}
	if ev := events(t, out); len(ev["built"]) != 0 || len(ev["cached"]) != 3 {
		t.Errorf("with the teammate's cache: %v", ev)
	}
	// And it is a real local cache now: without the registry, still no build.
	out, _, code = runBin(t, bin, dir, "compile", "--cache-dir", mine, "-o", "json")
	if ev := events(t, out); code != 0 || len(ev["built"]) != 0 {
		t.Errorf("offline after fetching: %v", ev)
	}
}

// TestDockerPublishInstallImage runs the commands of a release in order,
// as their Examples show: compile, keygen, publish (folder and registry),
// repo list/show/verify/diff, install, uninstall, image build.
func TestDockerPublishInstallImage(t *testing.T) {
	dockertest.Engine(t)
	reg := dockertest.RegistryUp(t)
	bin, err := etkBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := slowTree(t)
	work := t.TempDir()
	cacheDir := filepath.Join(work, "cache")
	key := filepath.Join(work, "etk.key")
	folder := filepath.Join(work, "repo")
	oci := fmt.Sprintf("oci://%s/etk-test/repo-%d", reg, time.Now().UnixNano())
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := runBin(t, bin, dir, args...)
		if code != 0 {
			t.Fatalf("etk %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		return out + errOut
	}
	must("compile", "--cache-dir", cacheDir)
	must("repo", "keygen", "-o", key)
	out := must("publish", "--cache-dir", cacheDir, "--sign-key", key, "--to", folder, "--to", oci)
	if !strings.Contains(out, "revision 1, 3 packages") {
		t.Errorf("publish: %s", out)
	}
	if out := must("publish", "--cache-dir", cacheDir, "--sign-key", key, "--to", folder); !strings.Contains(out, "unchanged, still revision 1") {
		t.Errorf("republish: %s", out)
	}
	for _, repo := range []string{folder, oci} {
		if out := must("repo", "verify", "--repo", repo, "--trust", key+".pub"); !strings.Contains(out, "signature, index and 6 blobs verified") {
			t.Errorf("verify %s: %s", repo, out)
		}
		if out := must("repo", "list", "--repo", repo, "--trust", key+".pub"); !strings.Contains(out, "apps/slow@1") {
			t.Errorf("list %s: %s", repo, out)
		}
	}
	// Another key is not trusted.
	must("repo", "keygen", "-o", key+"2")
	if _, errOut, code := runBin(t, bin, dir, "repo", "list", "--repo", folder, "--trust", key+"2.pub"); code == 0 || !strings.Contains(errOut, "not trusted") {
		t.Errorf("untrusted key: %d %s", code, errOut)
	}
	// Install, again (no-op), uninstall one package.
	root := filepath.Join(work, "root")
	must("install", "--root", root, "--repo", folder, "--trust", key+".pub", "apps/slow", "apps/quick")
	if b, err := os.ReadFile(filepath.Join(root, "slow.txt")); err != nil || string(b) != "done\n" {
		t.Errorf("installed slow.txt: %q %v", b, err)
	}
	if out := must("install", "--root", root, "--repo", folder, "--trust", key+".pub", "apps/slow"); !strings.Contains(out, "0 package(s) installed, 1 already there") {
		t.Errorf("second install: %s", out)
	}
	must("uninstall", "--root", root, "apps/quick")
	if _, err := os.Stat(filepath.Join(root, "quick.txt")); !os.IsNotExist(err) {
		t.Errorf("quick.txt after uninstall: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "slow.txt")); err != nil {
		t.Errorf("slow.txt must stay: %v", err)
	}
	// The OS image, twice: the same digest.
	layout := filepath.Join(work, "image")
	d1 := must("image", "build", "--repo", oci, "--trust", key+".pub", "--layout", layout, "-t", "etk/test:1", "apps/slow", "apps/quick")
	d2 := must("image", "build", "--repo", folder, "--trust", key+".pub", "--layout", layout+"2", "-t", "etk/test:1", "apps/slow", "apps/quick")
	if strings.Fields(d1)[0] != strings.Fields(d2)[0] || !strings.HasPrefix(d1, "sha256:") {
		t.Errorf("image digests differ: %q vs %q", d1, d2)
	}
	// Announce it on the stable channel of both repositories; read it back.
	for _, repo := range []string{folder, oci} {
		must("channel", "publish", "--to", repo, "--sign-key", key, "--version", "1", "etk/test:1@"+strings.Fields(d1)[0])
		if out := must("channel", "list", "--repo", repo, "--trust", key+".pub", "--state", filepath.Join(t.TempDir(), "seen.json")); !strings.Contains(out, "etk/test:1@"+strings.Fields(d1)[0]) {
			t.Errorf("channel of %s: %s", repo, out)
		}
	}
}

// TestDockerDerivative: a derivative pins an upstream repository, adds a
// package, replaces one; a compile on an empty cache builds exactly those
// and takes the rest from the upstream, verified.
func TestDockerDerivative(t *testing.T) {
	dockertest.Engine(t)
	bin, err := etkBinary()
	if err != nil {
		t.Fatal(err)
	}
	up := slowTree(t)
	work := t.TempDir()
	key := filepath.Join(work, "up.key")
	repo := filepath.Join(work, "up-repo")
	for _, args := range [][]string{
		{"compile", "--cache-dir", filepath.Join(work, "up-cache")},
		{"repo", "keygen", "-o", key},
		{"publish", "--cache-dir", filepath.Join(work, "up-cache"), "--sign-key", key, "--to", repo},
	} {
		if _, errOut, code := runBin(t, bin, up, args...); code != 0 {
			t.Fatalf("upstream %v: %s", args, errOut)
		}
	}
	der := writeProject(t, map[string]string{
		"manifest.yaml":              fmt.Sprintf("name: derivative\ntrees: [pkgs]\nextends:\n- name: up\n  url: %s\n  trust: [%s]\n", repo, key+".pub"),
		"pkgs/quick/definition.yaml": "name: quick\ncategory: apps\nversion: 2\n",
		"pkgs/quick/build.yaml":      "requires: [{name: base, category: distro}]\nsteps:\n- echo quicker > /quick.txt\n",
		"pkgs/brand/definition.yaml": "name: brand\ncategory: apps\nversion: 1\nrequires: [{name: slow, category: apps}]\n",
		"pkgs/brand/build.yaml":      "requires: [{name: base, category: distro}]\nsteps:\n- echo branded > /etc/brand\n",
	})
	if _, errOut, code := runBin(t, bin, der, "plan"); code == 0 || !strings.Contains(errOut, "run etk lock") {
		t.Errorf("plan without a lock: %d %s", code, errOut)
	}
	if _, errOut, code := runBin(t, bin, der, "lock"); code != 0 {
		t.Fatalf("lock: %s", errOut)
	}
	out, errOut, code := runBin(t, bin, der, "compile", "--cache-dir", filepath.Join(work, "der-cache"), "-o", "json")
	if code != 0 {
		t.Fatalf("derivative compile: %s", errOut)
	}
	ev := events(t, out)
	got := append([]string(nil), ev["built"]...)
	sort.Strings(got)
	if strings.Join(got, " ") != "apps/brand@1 apps/quick@2" {
		t.Errorf("built %v, want only the derivative's own packages", got)
	}
	if !contains(ev["cached"], "distro/base@1") || !contains(ev["cached"], "apps/slow@1") {
		t.Errorf("taken from the upstream: %v", ev["cached"])
	}
	// The derivative's repository refers to the upstream artefacts it
	// reuses; installing from it fetches them from the upstream, verified.
	dkey := filepath.Join(work, "der.key")
	drepo := filepath.Join(work, "der-repo")
	for _, args := range [][]string{
		{"repo", "keygen", "-o", dkey},
		{"publish", "--cache-dir", filepath.Join(work, "der-cache"), "--sign-key", dkey, "--to", drepo},
		{"repo", "verify", "--repo", drepo, "--trust", dkey + ".pub"},
		{"install", "--root", filepath.Join(work, "root"), "--repo", drepo, "--trust", dkey + ".pub", "apps/brand"},
		{"publish", "--cache-dir", filepath.Join(work, "der-cache"), "--sign-key", dkey, "--to", drepo + "-copy", "--copy-upstream"},
	} {
		if _, errOut, code := runBin(t, bin, der, args...); code != 0 {
			t.Fatalf("derivative %v: %s", args, errOut)
		}
	}
	if b, err := os.ReadFile(filepath.Join(work, "root", "slow.txt")); err != nil || string(b) != "done\n" {
		t.Errorf("upstream package installed from the derivative: %q %v", b, err)
	}
	count := func(repo string) int {
		m, _ := filepath.Glob(filepath.Join(repo, "blobs", "sha256", "*"))
		return len(m)
	}
	// Copying adds the two upstream artefacts (base and slow).
	if refer, copied := count(drepo), count(drepo+"-copy"); copied != refer+2 {
		t.Errorf("blobs: %d referring, %d copying; want 2 more when copying", refer, copied)
	}

	// A lock that does not match the repository is refused.
	lock, _ := os.ReadFile(filepath.Join(der, "etk.lock"))
	os.WriteFile(filepath.Join(der, "etk.lock"), []byte(strings.Replace(string(lock), "snapshot: sha256:", "snapshot: sha256:0", 1)), 0o644)
	if _, errOut, code := runBin(t, bin, der, "plan"); code == 0 || !strings.Contains(errOut, "is not the one etk.lock pins") {
		t.Errorf("tampered lock: %d %s", code, errOut)
	}
}

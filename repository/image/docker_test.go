package image

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dockerCLI returns the docker command, or skips t (fails it in CI, which
// must provide an engine) when there is no engine to talk to.
func dockerCLI(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format+" (CI must provide it: .ci/services all)", args...)
		}
		t.Skipf(format+"; this test loads and runs an image in a real Docker engine", args...)
	}
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			missing("no Docker engine: %v", err)
		}
	}
	cli, err := exec.LookPath("docker")
	if err != nil {
		missing("no docker command: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, "version").CombinedOutput(); err != nil {
		missing("Docker engine unavailable: %v: %s", err, out)
	}
	return cli
}

func docker(t *testing.T, cli string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestDockerLoadAndRun writes the image with ggcr's tarball.Write, loads
// it into the engine and runs it: a busybox base, then a package that
// adds a file, deletes one and replaces a directory of the base.
func TestDockerLoadAndRun(t *testing.T) {
	cli := dockerCLI(t)
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("a static busybox is needed at /bin/busybox (Debian: busybox-static): %v", err)
	}
	base := full(t, []ent{
		dir("bin"), exe("bin/busybox", string(busybox)), symlink("bin/sh", "busybox"),
		dir("etc"), file("etc/old", "old"),
		dir("opt"), dir("opt/x"), file("opt/x/old", "old"),
	})
	app := delta(t,
		[]ent{dir("etc"), whiteout("etc/old"), dir("opt"), whiteout("opt/x")},
		[]ent{dir("etc"), file("etc/hello", "hello from etk\n"), dir("opt"), dir("opt/x"), file("opt/x/new", "new")},
	)
	script := `/bin/busybox cat /etc/hello; /bin/busybox ls -A /opt/x; test -e /etc/old && echo old-present || echo old-gone`
	const want = "hello from etk\nnew\nold-gone\n"

	for _, maxLayers := range []int{0, 1} {
		cfg := Config{
			Name: "etk-test-os", Version: "1",
			Packages:  []Layer{pkg("core/busybox@1", base), pkg("apps/hello@1", app)},
			Env:       []string{"PATH=/bin"},
			MaxLayers: maxLayers,
			TempDir:   t.TempDir(),
		}
		img := mustBuild(t, cfg)
		d := digest(t, img)
		ref, err := name.NewTag("etk.local/image-test:" + strings.TrimPrefix(d, "sha256:")[:16])
		if err != nil {
			t.Fatal(err)
		}
		tarPath := filepath.Join(t.TempDir(), "image.tar")
		f, err := os.Create(tarPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := tarball.Write(ref, img, f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			exec.Command(cli, "rmi", "-f", ref.String()).Run()
		})
		t.Logf("MaxLayers %d: %s", maxLayers, strings.TrimSpace(docker(t, cli, "load", "-i", tarPath)))
		got := docker(t, cli, "run", "--rm", "--network=none", ref.String(), "/bin/sh", "-c", script)
		if got != want {
			t.Errorf("MaxLayers %d: the container printed %q, want %q", maxLayers, got, want)
		}
		labels := docker(t, cli, "image", "inspect", "-f", `{{index .Config.Labels "etk.os.name"}} {{len .RootFS.Layers}}`, ref.String())
		if wantLabels := "etk-test-os " + map[int]string{0: "2", 1: "1"}[maxLayers] + "\n"; labels != wantLabels {
			t.Errorf("MaxLayers %d: inspect gives %q, want %q", maxLayers, labels, wantLabels)
		}
	}
}

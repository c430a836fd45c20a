package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/etk-build/etk/compiler/artifact"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// osPackages are the artefacts of a small OS: a base, a library, a
// virtual group, and an app that deletes and replaces things below it.
func osPackages(t testing.TB, appVersion string) []Layer {
	t.Helper()
	base := full(t, []ent{
		dir("bin"), exe("bin/busybox", "ELF"), symlink("bin/sh", "busybox"),
		dir("etc"), file("etc/old", "old"), file("etc/os-release", "ID=etk\n"),
		dir("opt"), dir("opt/x"), file("opt/x/old", "old"),
	})
	lib := delta(t, []ent{dir("lib"), file("lib/libz.so.1", "libz"), hardlink("lib/libz.so", "lib/libz.so.1")})
	app := delta(t,
		[]ent{dir("etc"), whiteout("etc/old"), dir("opt"), whiteout("opt/x")},
		[]ent{dir("opt"), dir("opt/x"), file("opt/x/new", "new"), dir("etc"), file("etc/app.conf", "version="+appVersion)},
	)
	return []Layer{
		pkg("core/base@1", base),
		pkg("libs/zlib@1.3", lib),
		virtual("groups/minimal@1"),
		pkg("apps/hello@"+appVersion, app),
	}
}

func osConfig(t testing.TB, appVersion string) Config {
	return Config{
		Name: "etk-os", Version: "2024.1", Revision: "0123456789abcdef",
		Packages: osPackages(t, appVersion),
		Created:  time.Unix(1710000000, 0),
		Env:      []string{"PATH=/bin"},
		Cmd:      []string{"/bin/sh"},
		Labels:   map[string]string{"org.opencontainers.image.vendor": "etk"},
		TempDir:  t.TempDir(),
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	for _, max := range []int{0, 2} {
		a := osConfig(t, "1.0")
		a.MaxLayers = max
		b := osConfig(t, "1.0") // new artefacts, same content
		b.MaxLayers = max
		imgA, imgB := mustBuild(t, a), mustBuild(t, b)
		if da, db := digest(t, imgA), digest(t, imgB); da != db {
			t.Errorf("MaxLayers %d: two builds give %s and %s", max, da, db)
		}
		t.Logf("MaxLayers %d: %s", max, digest(t, imgA))
		if err := validate.Image(imgA); err != nil {
			t.Errorf("MaxLayers %d: validate: %v", max, err)
		}
	}
}

func TestOneChangedPackageChangesOneLayer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxLayers int
		same      []bool // per layer: unchanged by the app's upgrade
	}{
		{name: "a layer per package", same: []bool{true, true, false}},
		{name: "base and library merged", maxLayers: 2, same: []bool{true, false}},
		{name: "all in one", maxLayers: 1, same: []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oldCfg, newCfg := osConfig(t, "1.0"), osConfig(t, "1.1")
			oldCfg.MaxLayers, newCfg.MaxLayers = tc.maxLayers, tc.maxLayers
			oldImg, newImg := mustBuild(t, oldCfg), mustBuild(t, newCfg)
			oldLs, newLs := layerDigests(t, oldImg), layerDigests(t, newImg)
			if len(oldLs) != len(tc.same) || len(newLs) != len(tc.same) {
				t.Fatalf("layers: %d and %d, want %d", len(oldLs), len(newLs), len(tc.same))
			}
			for i, same := range tc.same {
				if (oldLs[i] == newLs[i]) != same {
					t.Errorf("layer %d: %s -> %s, want unchanged = %v", i, oldLs[i], newLs[i], same)
				}
			}
			oc, _ := oldImg.ConfigName()
			nc, _ := newImg.ConfigName()
			if oc == nc || digest(t, oldImg) == digest(t, newImg) {
				t.Errorf("config or manifest unchanged by an upgrade")
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	img := mustBuild(t, osConfig(t, "1.0"))
	got, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	created := v1.Time{Time: time.Unix(1710000000, 0).UTC()}
	hist := func(ids string) v1.History {
		return v1.History{Created: created, CreatedBy: "etk", Comment: "etk: " + ids}
	}
	pkgs := osPackages(t, "1.0")
	want := &v1.ConfigFile{
		Architecture: "amd64", OS: "linux", Created: created,
		History: []v1.History{hist("core/base@1"), hist("libs/zlib@1.3"), hist("apps/hello@1.0")},
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: got.RootFS.DiffIDs},
		Config: v1.Config{
			Env: []string{"PATH=/bin"}, Cmd: []string{"/bin/sh"},
			Labels: map[string]string{
				"org.opencontainers.image.title":   "etk-os",
				"org.opencontainers.image.version": "2024.1",
				"org.opencontainers.image.vendor":  "etk",
				"etk.os.name":                      "etk-os",
				"etk.os.version":                   "2024.1",
				"etk.repository.revision":          "0123456789abcdef",
				"etk.packages": "apps/hello@1.0=" + pkgs[3].Key[:12] +
					",core/base@1=" + pkgs[0].Key[:12] +
					",groups/minimal@1=" + pkgs[2].Key[:12] +
					",libs/zlib@1.3=" + pkgs[1].Key[:12],
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("media types %s, %s", m.MediaType, m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer media type %s", l.MediaType)
		}
	}
	raw, _ := img.RawConfigFile()
	for _, s := range []string{`"hostname"`, `"Hostname"`, `"container"`, `"docker_version"`} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("config holds %q: %s", s, raw)
		}
	}
}

func TestPlatformAndEmptyImage(t *testing.T) {
	img := mustBuild(t, Config{Name: "empty", Platform: v1.Platform{Architecture: "arm64", Variant: "v8"}})
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "arm64" || cf.Variant != "v8" || !cf.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("config: %s/%s/%s created %v", cf.OS, cf.Architecture, cf.Variant, cf.Created)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("validate: %v", err)
	}
}

// Merged packages give what installing them in order gives, and the
// deletions of the upper ones still reach the layers below.
func TestMergedLayer(t *testing.T) {
	cfg := osConfig(t, "1.0")
	cfg.Packages = append([]Layer{pkg("core/below@1", full(t, []ent{dir("srv"), file("srv/data", "d")}))}, cfg.Packages...)
	cfg.Packages = append(cfg.Packages, pkg("apps/cleaner@1", delta(t, []ent{whiteout("srv"), whiteout("lib/libz.so")})))
	cfg.MaxLayers = 2 // below+base+zlib+hello | cleaner
	img := mustBuild(t, cfg)
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 {
		t.Fatalf("%d layers, want 2", len(ls))
	}
	want := []string{
		"bin/ 5 755",
		"bin/busybox 0 755 = ELF",
		"bin/sh 2 777 -> busybox",
		"etc/ 5 755",
		"etc/app.conf 0 644 = version=1.0",
		"etc/.wh.old 0 0",
		"etc/os-release 0 644 = ID=etk\n",
		"lib/ 5 755",
		"lib/libz.so 0 644 = libz",
		"lib/libz.so.1 1 644 -> lib/libz.so",
		"opt/ 5 755",
		"opt/x/ 5 755",
		"opt/x/.wh..wh..opq 0 0",
		"opt/x/new 0 644 = new",
		"srv/ 5 755",
		"srv/data 0 644 = d",
	}
	if diff := cmp.Diff(want, layerEntries(t, ls[0])); diff != "" {
		t.Errorf("merged layer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{".wh.srv 0 0", "lib/.wh.libz.so 0 0"}, layerEntries(t, ls[1])); diff != "" {
		t.Errorf("top layer (-want +got):\n%s", diff)
	}
	cf, _ := img.ConfigFile()
	if got := cf.History[0].Comment; got != "etk: core/below@1, core/base@1, libs/zlib@1.3, apps/hello@1.0" {
		t.Errorf("merged history comment %q", got)
	}
	if left, _ := os.ReadDir(cfg.TempDir); len(left) > 0 {
		t.Errorf("spool left in TempDir: %v", left)
	}
}

func TestBadConfig(t *testing.T) {
	a := pkg("a@1", full(t, []ent{file("a", "a")}))
	for name, cfg := range map[string]Config{
		"no name":        {},
		"negative max":   {Name: "os", MaxLayers: -1},
		"reserved label": {Name: "os", Labels: map[string]string{"etk.packages": "x"}},
		"no id":          {Name: "os", Packages: []Layer{{Key: "k"}}},
		"comma in id":    {Name: "os", Packages: []Layer{{ID: "a,b", Key: "k"}}},
		"no key":         {Name: "os", Packages: []Layer{{ID: "a"}}},
		"twice":          {Name: "os", Packages: []Layer{a, a}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Build(context.Background(), cfg); !errors.Is(err, ErrBadConfig) {
				t.Errorf("err = %v, want ErrBadConfig", err)
			}
		})
	}
}

func TestBadArtefactNamesPackage(t *testing.T) {
	cfg := osConfig(t, "1.0")
	cfg.Packages[1].Artefact = openBytes([]byte("not an artefact"))
	_, err := Build(context.Background(), cfg)
	if !errors.Is(err, ErrBadArtefact) || !strings.Contains(err.Error(), "libs/zlib@1.3") {
		t.Errorf("err = %v, want ErrBadArtefact naming libs/zlib@1.3", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, osConfig(t, "1.0")); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// The compressed bytes are made again on each read: they must be those
// Build hashed, with a gzip header that holds no time.
func TestCompressedLayer(t *testing.T) {
	img := mustBuild(t, osConfig(t, "1.0"))
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		d, _ := l.Digest()
		size, _ := l.Size()
		if got := "sha256:" + sum(b); got != d.String() || int64(len(b)) != size {
			t.Errorf("layer %d: read %s (%d bytes), manifest says %s (%d)", i, got, len(b), d, size)
		}
		if len(b) < 10 || b[0] != 0x1f || b[1] != 0x8b || !bytes.Equal(b[4:8], []byte{0, 0, 0, 0}) {
			t.Errorf("layer %d: gzip header % x has an mtime", i, b[:10])
		}
	}
}

func TestArtefactChangedAfterBuild(t *testing.T) {
	cfg := osConfig(t, "1.0")
	first := full(t, []ent{file("a", "first")})
	second := full(t, []ent{file("a", "other")})
	var calls atomic.Int32
	cfg.Packages = []Layer{{ID: "a@1", Key: "k", Metadata: describe(first), Artefact: func() (io.ReadCloser, error) {
		// Build reads it twice: to check it against its metadata, and to
		// measure the layer.
		if calls.Add(1) <= 2 {
			return openBytes(first)()
		}
		return openBytes(second)()
	}}}
	img := mustBuild(t, cfg)
	l, err := img.LayerByDigest(v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(layerDigests(t, img)[0], "sha256:")})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, ErrArtefactChanged) {
		t.Errorf("err = %v, want ErrArtefactChanged", err)
	}
	// Changed between the check and the measure: Build refuses.
	calls.Store(1)
	if _, err := Build(context.Background(), cfg); !errors.Is(err, ErrArtefactChanged) {
		t.Errorf("changed after the check: %v, want ErrArtefactChanged", err)
	}
}

// TestImageBounds builds images of artefacts that are not what their
// metadata says: each is refused, a bomb before it is expanded.
func TestImageBounds(t *testing.T) {
	small := full(t, []ent{dir("opt"), file("opt/x", "12345678")})
	big := full(t, []ent{dir("opt"), file("opt/x", strings.Repeat("x", 1<<20))})
	extra := full(t, []ent{dir("opt"), file("opt/x", "12345678"), file("opt/y", "unlisted")})
	lie := describe(small)
	lie.Digest, lie.Size = "", 0
	for name, b := range map[string][]byte{"bigger file": big, "unlisted file": extra} {
		for _, max := range []int{0, 1} {
			t.Run(fmt.Sprint(name, " max ", max), func(t *testing.T) {
				cfg := osConfig(t, "1.0")
				cfg.MaxLayers = max
				cfg.Packages = append(cfg.Packages, Layer{ID: "evil/x@1", Key: "k", Artefact: openBytes(b), Metadata: lie})
				_, err := Build(context.Background(), cfg)
				if !errors.Is(err, artifact.ErrMismatch) || !strings.Contains(err.Error(), "evil/x@1") {
					t.Errorf("err = %v, want ErrMismatch naming evil/x@1", err)
				}
			})
		}
	}
	cfg := osConfig(t, "1.0")
	cfg.Packages[0].Metadata = nil
	if _, err := Build(context.Background(), cfg); !errors.Is(err, ErrBadConfig) {
		t.Errorf("no metadata: %v, want ErrBadConfig", err)
	}
}

// Closing a merged layer's reader early stops the merge and removes its
// spool.
func TestEarlyClose(t *testing.T) {
	cfg := osConfig(t, "1.0")
	cfg.MaxLayers = 1
	img := mustBuild(t, cfg)
	ls, _ := img.Layers()
	for _, open := range []func() (io.ReadCloser, error){ls[0].Compressed, ls[0].Uncompressed} {
		rc, err := open()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Read(make([]byte, 10)); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(cfg.TempDir); len(left) > 0 {
			t.Errorf("spool left in TempDir: %v", left)
		}
	}
}

func TestWriteLayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "oci")
	v1img := mustBuild(t, osConfig(t, "1.0"))
	v2img := mustBuild(t, osConfig(t, "1.1"))
	for _, w := range []struct {
		img v1.Image
		ref string
	}{{v1img, "etk-os:1.0"}, {v1img, "etk-os:latest"}, {v2img, "etk-os:latest"}} {
		if err := WriteLayout(ctx, w.img, dir, w.ref); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range im.Manifests {
		got[d.Annotations[AnnotationRefName]] = d.Digest.String()
	}
	want := map[string]string{"etk-os:1.0": digest(t, v1img), "etk-os:latest": digest(t, v2img)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index refs (-want +got):\n%s", diff)
	}
	back, err := p.Image(v1.Hash{Algorithm: "sha256", Hex: strings.TrimPrefix(want["etk-os:latest"], "sha256:")})
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Errorf("validate the image read back: %v", err)
	}
	if err := WriteLayout(ctx, v1img, dir, ""); !errors.Is(err, ErrBadConfig) {
		t.Errorf("empty ref: err = %v", err)
	}
}

//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"
)

// FuzzInstall feeds arbitrary bytes, as they are or zstd-compressed, to
// Install in a root with planted symlinks: it must not panic, never
// change what is beside the root, and whatever it installs must
// uninstall.
func FuzzInstall(f *testing.F) {
	seeds := [][]ent{
		{dir("etc/", 0o755), file("etc/a", 0o644, "a"), hardlink("etc/b", "etc/a"), symlink("etc/c", "a")},
		{symlink("a", "/"), file("a/pwned", 0o644, "x")},
		{file("a/victim", 0o644, "x")},
		{whiteout("a/victim"), whiteout("b/.wh..opq")},
		{dir("c/", 0o755), file("c/x", 0o644, "x")},
		{node("d", tar.TypeFifo, 0, 0), node("e", tar.TypeChar, 1, 3)},
		{file("var/lib/etk/installed/x.json", 0o644, "{}")},
		{file("../outside/victim", 0o644, "x")},
	}
	for _, s := range seeds {
		raw := tarball(f, s...)
		f.Add(raw, true)
		f.Add(compress(f, raw), false)
	}
	f.Add([]byte("not an archive"), false)
	f.Fuzz(func(t *testing.T, data []byte, compressed bool) {
		if compressed {
			data = compress(t, data)
		}
		e := newEnv(t)
		e.plant(t)
		err := e.root.Install(context.Background(), described(t, pkg("fuzz", "1"), data), bytes.NewReader(data))
		e.checkOutside(t)
		if err != nil {
			return
		}
		if err := e.root.Uninstall(context.Background(), "test/fuzz@1"); err != nil {
			t.Fatalf("uninstall what installed: %v", err)
		}
		e.checkOutside(t)
	})
}

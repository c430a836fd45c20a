//go:build linux

package cli

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/internal/forge"
	"github.com/etk-build/etk/repository/index"
)

// hostileEnv is a signing key, a folder repository, an install root that
// has installed base/base@1 from revision 1, and a sentinel folder beside
// the root that nothing may touch.
type hostileEnv struct {
	t                         *testing.T
	base, repo, root, outside string
	key                       index.PrivateKey
	pub                       string
	outsideBefore             map[string]string
}

var basePkg = forge.Package{Category: "base", Name: "base", Version: "1",
	Artefact: forge.Artefact(forge.Dir("etc", 0o755), forge.File("etc/os-release", 0o644, "ID=etk\n"), forge.File("etc/shadow", 0o600, "root:*:\n"))}

func newHostileEnv(t *testing.T) *hostileEnv {
	t.Helper()
	b := t.TempDir()
	h := &hostileEnv{t: t, base: b, repo: filepath.Join(b, "repo"), root: filepath.Join(b, "root"), outside: filepath.Join(b, "outside")}
	for _, d := range []string{h.root, h.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(h.outside, "victim"), []byte("host file"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.outsideBefore = fsTree(t, h.outside)
	k, err := index.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	h.key, h.pub = k, filepath.Join(b, "key.pub")
	if err := index.WritePublicKeyFile(h.pub, k.Public().(index.PublicKey)); err != nil {
		t.Fatal(err)
	}
	h.publish(h.repo, "os", basePkg)
	if _, errOut, code := h.install("base/base"); code != 0 {
		t.Fatalf("installing base: %s", errOut)
	}
	return h
}

func (h *hostileEnv) publish(repo, name string, pkgs ...forge.Package) *index.Snapshot {
	h.t.Helper()
	s, err := forge.Publish(context.Background(), repo, h.key, name, pkgs...)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *hostileEnv) install(args ...string) (string, string, int) {
	h.t.Helper()
	return run(h.t, h.base, append([]string{"install", "--root", h.root, "--repo", h.repo, "--trust", h.pub, "--no-finalize"}, args...)...)
}

// fsTree describes every path under dir, not following symlinks.
func fsTree(t *testing.T, dir string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, s := range skip {
			if rel == s {
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %o %d:%d", info.Mode().Type(), st.Mode&0o7777, st.Uid, st.Gid)
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(sum[:8])
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// small is an artefact of one 8-byte file, and what its metadata says.
var smallArt = forge.Artefact(forge.Dir("opt", 0o755), forge.File("opt/x", 0o644, "12345678"))

func describeSmall() *artifact.Metadata { return forge.Describe(smallArt) }

// TestHostileRepositories installs from correctly signed repositories
// that serve what they should not. Each case says what must be refused;
// every case checks that nothing outside the root changed and that a
// refused install left the root as it was (its record of the
// repositories it trusted, var/lib/etk/seen.json, aside: a new revision
// is trusted once its signature is). Run with -v for the table.
func TestHostileRepositories(t *testing.T) {
	hostile := func(name string, p forge.Package) func(h *hostileEnv) []string {
		return func(h *hostileEnv) []string {
			p.Category, p.Name, p.Version = "evil", name, "1"
			h.publish(h.repo, "os", basePkg, p)
			return []string{"evil/" + name}
		}
	}
	tests := []struct {
		name, refused string
		setup         func(h *hostileEnv) []string
		want          string // in the error; "" when the install must succeed
		warn          string // also on stderr: a warning, or the flag that accepts it
	}{
		{"decompression bomb", "a 655 KB artefact whose one file is 20 GiB, metadata saying 8 bytes",
			hostile("bomb", forge.Package{Artefact: forge.Bomb([]forge.Entry{forge.Dir("opt", 0o755)}, "opt/x", 20<<30, 0), Metadata: describeSmall()}),
			"/opt/x: size 21474836480, metadata 8", ""},
		{"bomb after the end", "20 GiB of zeros after the archive's end",
			hostile("tail", forge.Package{Artefact: forge.Bomb([]forge.Entry{forge.Dir("opt", 0o755), forge.File("opt/x", 0o644, "12345678")}, "", -1, 20<<30), Metadata: describeSmall()}),
			"expands past", ""},
		{"metadata promising more than the disk", "an install of 1 PiB, listed honestly",
			hostile("huge", forge.Package{Artefact: smallArt, Lie: func(m *artifact.Metadata) { m.Files[1].Size, m.InstalledSize = 1<<50, 1<<50 }}),
			"not enough space", ""},
		{"size lie", "installed_size 8 over a 1 MiB file",
			hostile("sizelie", forge.Package{Artefact: forge.Artefact(forge.File("big", 0o644, strings.Repeat("x", 1<<20))), Lie: func(m *artifact.Metadata) { m.InstalledSize = 8 }}),
			"installed_size 8", ""},
		{"unlisted file", "a file the metadata does not list",
			hostile("unlisted", forge.Package{Artefact: forge.Artefact(forge.Dir("opt", 0o755), forge.File("opt/x", 0o644, "12345678"), forge.File("opt/y", 0o644, "cron job")), Metadata: describeSmall()}),
			"/opt/y is not in the metadata", ""},
		{"device node", "a block device of the host's disk, mode 0666",
			hostile("dev", forge.Package{Artefact: forge.Artefact(forge.Dir("dev", 0o755), forge.Node("dev/sda", tar.TypeBlock, 0o666, 8, 0))}),
			"device nodes: /dev/sda (block 8,0)", ""},
		{"setuid not listed", "a setuid file the metadata lists as 0755",
			hostile("suid", forge.Package{Artefact: forge.Artefact(forge.Dir("opt", 0o755), forge.File("opt/sh", 0o4755, "#!")), Lie: func(m *artifact.Metadata) { m.Files[1].Mode = 0o755 }}),
			"/opt/sh: mode 4755, metadata 0755", ""},
		{"setuid listed", "nothing: a listed setuid file installs as listed",
			hostile("suidok", forge.Package{Artefact: forge.Artefact(forge.Dir("opt", 0o755), forge.File("opt/su", 0o4755, "#!"))}),
			"", ""},
		{"world-writable", "nothing: installed, with a warning",
			hostile("ww", forge.Package{Artefact: forge.Artefact(forge.Dir("pub", 0o777), forge.File("pub/conf", 0o666, "x"))}),
			"", "/pub/conf: world-writable file (mode 0666)"},
		{"dot-dot path", "../outside/pwned",
			hostile("dotdot", forge.Package{Artefact: forge.Artefact(forge.File("../outside/pwned", 0o644, "x"))}),
			"unsafe path", ""},
		{"absolute symlink escaping", "a -> <outside>, then a/pwned",
			func(h *hostileEnv) []string {
				return hostile("symlink", forge.Package{Artefact: forge.Artefact(forge.Symlink("a", h.outside), forge.File("a/pwned", 0o644, "x"))})(h)
			},
			"unsafe path", ""},
		{"hardlink to a host file", "h -> ../outside/victim",
			hostile("hardlink", forge.Package{Artefact: forge.Artefact(forge.Hardlink("h", "../outside/victim"))}),
			"unsafe path", ""},
		{"hardlink to the root's file", "h -> etc/shadow, which base installed",
			hostile("hardlink2", forge.Package{Artefact: forge.Artefact(forge.Hardlink("h", "etc/shadow"))}),
			"hardlink to /etc/shadow, not an earlier file", ""},
		{"into the install database", "var/lib/etk/seen.json, to erase what the root trusted",
			hostile("db", forge.Package{Artefact: forge.Artefact(forge.Dir("var", 0o755), forge.Dir("var/lib", 0o755), forge.Dir("var/lib/etk", 0o755), forge.File("var/lib/etk/seen.json", 0o644, "{}"))}),
			"path reserved for the install database", ""},
		{"digest mismatch", "the blob replaced by another signed package's artefact",
			func(h *hostileEnv) []string {
				args := hostile("swapped", forge.Package{Artefact: smallArt})(h)
				if err := forge.Corrupt(h.repo, forge.Describe(smallArt).Digest, basePkg.Artefact); err != nil {
					h.t.Fatal(err)
				}
				return args
			},
			"the source serves another file", ""},
		{"compressed size lie", "a signed size one byte more than the artefact's",
			hostile("short", forge.Package{Artefact: smallArt, Lie: func(m *artifact.Metadata) { m.Size++ }}),
			"want 136 bytes", ""},
		{"rollback", "revision 1 served after revision 2 was installed",
			func(h *hostileEnv) []string {
				h.publish(h.repo, "os", basePkg, forge.Package{Category: "app", Name: "app", Version: "1", Artefact: smallArt})
				if _, errOut, code := h.install("app/app"); code != 0 {
					h.t.Fatal(errOut)
				}
				if err := forge.Rollback(h.repo, 1); err != nil {
					h.t.Fatal(err)
				}
				return []string{"base/base"}
			},
			"revision 1 is older than revision 2", "pass --allow-rollback"},
		{"rollback, allowed", "nothing: --allow-rollback accepts it",
			func(h *hostileEnv) []string {
				h.publish(h.repo, "os", basePkg)
				forge.Rollback(h.repo, 1)
				return []string{"--allow-rollback", "base/base"}
			},
			"", ""},
		{"foreign repository, same key", "another history of \"os\" signed by the same key, at the same URL",
			func(h *hostileEnv) []string {
				os.RemoveAll(h.repo)
				for range 3 {
					h.publish(h.repo, "os", forge.Package{Category: "base", Name: "base", Version: "1", Artefact: smallArt})
				}
				return []string{"base/base"}
			},
			"does not continue revision 1", "pass --allow-repo-change"},
		{"foreign repository, allowed", "nothing: --allow-repo-change accepts it",
			func(h *hostileEnv) []string {
				os.RemoveAll(h.repo)
				h.publish(h.repo, "os", basePkg)
				h.publish(h.repo, "os", basePkg)
				return []string{"--allow-repo-change", "base/base"}
			},
			"", ""},
		{"other repository at the same URL", "repository \"testing\", same key, where \"os\" was",
			func(h *hostileEnv) []string {
				os.RemoveAll(h.repo)
				h.publish(h.repo, "testing", basePkg)
				return []string{"base/base"}
			},
			"served repository \"os\" (revision 1, signed by", "pass --allow-repo-change"},
	}
	var table []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHostileEnv(t)
			args := tt.setup(h)
			before := fsTree(t, h.root, "var/lib/etk/seen.json")
			_, errOut, code := h.install(args...)
			msg := errOut[strings.LastIndex(strings.TrimRight(errOut, "\n"), "\n")+1:]
			if code != 0 {
				msg = errOut
			}
			if diff := cmp.Diff(h.outsideBefore, fsTree(t, h.outside)); diff != "" {
				t.Errorf("outside the root changed (-before +after):\n%s", diff)
			}
			result := "installed"
			switch {
			case tt.want == "" && code != 0:
				t.Fatalf("refused (exit %d): %s", code, errOut)
			case tt.want != "" && code == 0:
				t.Fatalf("installed, want refused with %q:\n%s", tt.want, errOut)
			case tt.want != "" && !strings.Contains(errOut, tt.want):
				t.Errorf("error does not say %q:\n%s", tt.want, errOut)
			}
			if tt.warn != "" && !strings.Contains(errOut, tt.warn) {
				t.Errorf("no warning %q:\n%s", tt.warn, errOut)
			}
			if code != 0 {
				if diff := cmp.Diff(before, fsTree(t, h.root, "var/lib/etk/seen.json")); diff != "" {
					t.Errorf("a refused install changed the root (-before +after):\n%s", diff)
				}
				result = "refused, root unchanged: " + firstLine(strings.ReplaceAll(msg, h.base, "<tmp>"))
			} else if tt.warn != "" && code == 0 {
				result = "installed, warned: " + tt.warn
			}
			table = append(table, fmt.Sprintf("| %s | %s | %s |", tt.name, tt.refused, result))
		})
	}
	t.Logf("\n| case | what it serves | result |\n|---|---|---|\n%s", strings.Join(table, "\n"))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

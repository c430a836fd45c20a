//go:build linux

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etk-build/etk/internal/forge"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/index"
)

// TestUpdateFollowsHistory: etk lock and etk update move a pin only
// forward along the upstream's history.
func TestUpdateFollowsHistory(t *testing.T) {
	h := &hostileEnv{t: t}
	b := t.TempDir()
	k, err := index.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	h.key = k
	repo := filepath.Join(b, "up")
	if err := index.WritePublicKeyFile(filepath.Join(b, "up.pub"), k.Public().(index.PublicKey)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.publish(repo, "foundation", basePkg)
	}
	manifest := "name: acme\nversion: 1.0.0\ntrees: [packages]\nextends:\n- name: up\n  url: " + repo + "\n  trust: [up.pub]\n"
	if err := os.WriteFile(filepath.Join(b, "manifest.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(b, "packages"), 0o755); err != nil {
		t.Fatal(err)
	}
	lock := func() string {
		data, _ := os.ReadFile(filepath.Join(b, "etk.lock"))
		return string(data)
	}
	step := func(want string, args ...string) {
		t.Helper()
		_, errOut, code := run(t, b, args...)
		switch {
		case want == "" && code != 0:
			t.Fatalf("%v: %s", args, errOut)
		case want != "" && (code == 0 || !strings.Contains(errOut, want)):
			t.Fatalf("%v: exit %d, want an error saying %q:\n%s", args, code, want, errOut)
		}
	}
	step("", "lock")
	if !strings.Contains(lock(), "revision: 3") || !strings.Contains(lock(), "repository: foundation") {
		t.Fatalf("lock:\n%s", lock())
	}
	if err := forge.Rollback(repo, 2); err != nil {
		t.Fatal(err)
	}
	step("revision 2 is older than revision 3", "update")
	step("pass --allow-rollback", "update")
	step("", "update", "--allow-rollback")
	if !strings.Contains(lock(), "revision: 2") {
		t.Fatalf("lock after an allowed rollback:\n%s", lock())
	}
	// The same name and key, another history.
	os.RemoveAll(repo)
	for range 4 {
		h.publish(repo, "foundation", forge.Package{Category: "base", Name: "base", Version: "2", Artefact: smallArt})
	}
	step("does not continue revision 2", "update")
	step("is not the one etk.lock pins", "lock") // the pinned revision was rewritten
	step("", "update", "--allow-repo-change")
	if !strings.Contains(lock(), "revision: 4") {
		t.Fatalf("lock after an allowed change:\n%s", lock())
	}
	// Another repository at the URL.
	os.RemoveAll(repo)
	for range 5 {
		h.publish(repo, "testing", basePkg)
	}
	step(`now serves repository "testing", pinned "foundation"`, "update")
	step("", "update", "--allow-repo-change")
	// Further revisions of the same history move on.
	h.publish(repo, "testing", basePkg)
	step("", "update")
	if !strings.Contains(lock(), "revision: 6") {
		t.Fatalf("lock:\n%s", lock())
	}
}

// TestChannelListRefusesOlder: etk channel list remembers the newest
// publication of a channel and refuses an older one.
func TestChannelListRefusesOlder(t *testing.T) {
	ctx := context.Background()
	b := t.TempDir()
	k, err := index.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(b, "k.pub")
	if err := index.WritePublicKeyFile(pub, k.Public().(index.PublicKey)); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(b, "repo")
	s, err := dir.Open(repo)
	if err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(repo, "refs", "channels", "stable")
	var first []byte
	for i, v := range []string{"1.0", "1.1", "1.2"} {
		e := index.ChannelEntry{Version: v, Image: "r/os:" + v, Digest: "sha256:" + strings.Repeat("a", 64), Published: time.Unix(1, 0).UTC()}
		if _, err := repository.PublishChannel(ctx, s, k, "os", "stable", e); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first, _ = os.ReadFile(ref)
		}
	}
	state := filepath.Join(b, "seen.json")
	list := func(extra ...string) (string, string, int) {
		return run(t, b, append([]string{"channel", "list", "--repo", repo, "--trust", pub, "--state", state}, extra...)...)
	}
	if out, errOut, code := list(); code != 0 || !strings.Contains(out, "1.2") {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	if err := os.WriteFile(ref, first, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := list(); code == 0 || !strings.Contains(errOut, "publication 1 is older than publication 3") || !strings.Contains(errOut, "--allow-rollback") {
		t.Fatalf("an older channel: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := list("--allow-rollback"); code != 0 {
		t.Fatalf("allowed: %s", errOut)
	}
}

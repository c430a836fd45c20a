package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/etk-build/etk/compiler/cache"
)

// realRegistry is the registry .ci/services starts: Debian's
// docker-registry, distribution 2.8.
const realRegistry = "127.0.0.1:5000"

// TestRegistryDistribution runs round trips against a real registry. It
// skips when none answers, except in CI (CI=true), which starts one.
func TestRegistryDistribution(t *testing.T) {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + realRegistry + "/v2/")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = errors.New(resp.Status)
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no registry on http://%s/v2/ (%v); CI must provide it: .ci/services start", realRegistry, err)
		}
		t.Skipf("no registry on http://%s/v2/ (%v); start one with: sudo .ci/services install start", realRegistry, err)
	}

	// Repository and keys are unique to the run: blobs are shared by the
	// whole registry, tags are not.
	var b [8]byte
	rand.Read(b[:])
	run := hex.EncodeToString(b[:])
	c, err := NewCache(realRegistry+"/etk-test/cache-"+run, anonymous, fast)
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct {
		name string
		e    *cache.Entry
	}
	t.Cleanup(func() {
		// Leave the registry as found, but for blobs: 2.8 collects those
		// only offline.
		for _, e := range entries {
			if d, err := c.puller.Head(context.Background(), c.repo.Tag(e.e.Key)); err == nil {
				c.pusher.Delete(context.Background(), c.repo.Digest(d.Digest.String()))
			}
		}
	})
	art := artefactBytes(uint64(time.Now().UnixNano()), 2<<20+3)
	entries = []struct {
		name string
		e    *cache.Entry
	}{
		{"artefact", newEntry(t, t.TempDir(), keyOf("artefact"+run), "dev/artefact", art)},
		{"virtual", newEntry(t, t.TempDir(), keyOf("virtual"+run), "dev/virtual", nil)},
		{"same artefact, other key", newEntry(t, t.TempDir(), keyOf("same"+run), "dev/same", art)},
	}

	if _, ok := fetchInto(t, c, entries[0].e.Key); ok {
		t.Fatal("Fetch from a new repository: found")
	}
	for _, e := range entries {
		if err := c.Push(t.Context(), e.e); err != nil {
			t.Fatalf("Push %s: %v", e.name, err)
		}
	}
	if err := c.Push(t.Context(), entries[0].e); err != nil {
		t.Fatalf("Push again: %v", err)
	}
	for _, e := range entries {
		got, ok := fetchInto(t, c, e.e.Key)
		if !ok {
			t.Fatalf("Fetch %s: not found after Push", e.name)
		}
		checkSame(t, e.e, got)
	}
	if _, ok := fetchInto(t, c, keyOf("absent"+run)); ok {
		t.Error("Fetch of an absent key: found")
	}
}

package oci

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// needRegistry skips the test when no registry answers on realRegistry,
// except in CI (CI=true), which starts one: there it fails.
func needRegistry(t *testing.T) {
	t.Helper()
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
}

// newRealStore is a store in a new repository of the real registry,
// etk-test/<prefix>-<random>, whose manifests are deleted afterwards.
func newRealStore(t *testing.T, prefix string, opts ...Option) *Store {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	s := newTestStore(t, realRegistry+"/etk-test/"+prefix+"-"+hex.EncodeToString(b[:]), opts...)
	t.Cleanup(func() {
		// Leave the registry as found, but for blobs: 2.8
		// collects those only offline. Deleting needs
		// REGISTRY_STORAGE_DELETE_ENABLED; without it, tags stay.
		ctx := context.Background()
		tags, _ := s.puller.List(ctx, s.repo)
		for _, tag := range tags {
			if d, err := s.puller.Head(ctx, s.repo.Tag(tag)); err == nil {
				s.pusher.Delete(ctx, s.repo.Digest(d.Digest.String()))
			}
		}
	})
	return s
}

// TestStoreRegistryDistribution runs the store's round trips against a
// real registry, in a repository of its own.
func TestStoreRegistryDistribution(t *testing.T) {
	needRegistry(t)
	newRepo := func(t *testing.T) *Store { return newRealStore(t, "store") }

	t.Run("blobs", func(t *testing.T) {
		s := newRepo(t)
		data := artefactBytes(uint64(time.Now().UnixNano()), 2<<20+3)
		path := filepath.Join(t.TempDir(), "artefact")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		d := digest(data)
		if ok, err := s.HasBlob(t.Context(), d); ok || err != nil {
			t.Fatalf("HasBlob of a new blob: %v, %v", ok, err)
		}
		if err := s.PutBlob(t.Context(), d, int64(len(data)), f); err != nil {
			t.Fatalf("PutBlob: %v", err)
		}
		if ok, err := s.HasBlob(t.Context(), d); !ok || err != nil {
			t.Fatalf("HasBlob after PutBlob: %v, %v", ok, err)
		}
		if got := readBlob(t, s, d); !bytes.Equal(got, data) {
			t.Error("GetBlob: content differs")
		}
		if err := s.PutBlob(t.Context(), d, int64(len(data)), onlyReader{bytes.NewReader(data)}); err != nil {
			t.Errorf("PutBlob again: %v", err)
		}
	})
	t.Run("refs", func(t *testing.T) { checkRefs(t, newRepo(t)) })
	t.Run("publish", func(t *testing.T) { checkPublish(t, newRepo(t), nil) })
}

package oci

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/etk-build/etk/compiler/cache"
)

// fast retries quickly, so that tests of retries take milliseconds.
func fast(o *options) { o.backoff.Duration = time.Millisecond }

// anonymous keeps tests off the machine's Docker config.
var anonymous = WithKeychain(authn.NewMultiKeychain())

// newRegistry serves ggcr's in-memory registry, seen through wrap (if
// any), and returns a cache on it.
func newRegistry(t *testing.T, wrap func(http.Handler) http.Handler, opts ...Option) *Cache {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewCache(strings.TrimPrefix(srv.URL, "http://")+"/etk/cache", append([]Option{anonymous, fast}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func keyOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// artefactBytes are n pseudo-random bytes standing in for a zstd tar:
// the cache never looks inside.
func artefactBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// testMetadata has the shape of compiler/build.Metadata.
type testMetadata struct {
	Format      string        `json:"format"`
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Version     string        `json:"version"`
	Key         string        `json:"key"`
	Inputs      []testInput   `json:"inputs"`
	Description string        `json:"description,omitempty"`
	Artefact    *testArtefact `json:"artefact,omitempty"`
}

type testInput struct {
	Kind, Name, Digest string
}

type testArtefact struct {
	Format, Compression, Digest string
	Size                        int64
}

// newEntry commits an entry of key to the local cache in dir; artefact
// nil makes a virtual package.
func newEntry(t *testing.T, dir, key, id string, artefact []byte) *cache.Entry {
	t.Helper()
	lc, err := cache.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := lc.Create(key)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	md := testMetadata{
		Format: "etk-package/v1", ID: id, Name: id, Version: "1.0", Key: key,
		Inputs: []testInput{{Kind: "spec", Name: id, Digest: "sha256:00"}},
		// Characters encoding/json escapes, to check the bytes survive.
		Description: "tools <for> A & B",
	}
	if artefact != nil {
		h := sha256.Sum256(artefact)
		md.Artefact = &testArtefact{
			Format: "etk-artefact/v1", Compression: "zstd",
			Digest: "sha256:" + hex.EncodeToString(h[:]), Size: int64(len(artefact)),
		}
		if err := os.WriteFile(w.ArtefactPath(), artefact, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteMetadata(md); err != nil {
		t.Fatal(err)
	}
	e, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// checkSame fails unless entries a and b hold the same files.
func checkSame(t *testing.T, a, b *cache.Entry) {
	t.Helper()
	if (a.Artefact == "") != (b.Artefact == "") {
		t.Fatalf("artefact %q vs %q", a.Artefact, b.Artefact)
	}
	pairs := [][2]string{{a.Metadata, b.Metadata}}
	if a.Artefact != "" {
		pairs = append(pairs, [2]string{a.Artefact, b.Artefact})
	}
	for _, p := range pairs {
		x, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(p[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s and %s differ (%d and %d bytes)", p[0], p[1], len(x), len(y))
		}
	}
}

// counter counts the requests a registry sees, by "METHOD kind", kind
// being blobs, uploads, manifests or other.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "other"
		switch {
		case strings.Contains(r.URL.Path, "/blobs/uploads/"):
			kind = "uploads"
		case strings.Contains(r.URL.Path, "/blobs/"):
			kind = "blobs"
		case strings.Contains(r.URL.Path, "/manifests/"):
			kind = "manifests"
		}
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[r.Method+" "+kind]++
		if d := r.URL.Query().Get("digest"); d != "" && r.Method == http.MethodPut {
			c.n["PUT "+d]++
		}
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *counter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = nil
	return n
}

// writes counts the requests that write to the registry.
func writes(n map[string]int) int {
	w := 0
	for k, v := range n {
		if !strings.HasPrefix(k, "GET ") && !strings.HasPrefix(k, "HEAD ") {
			w += v
		}
	}
	return w
}

// fetchInto fetches key into a fresh local cache and commits it.
func fetchInto(t *testing.T, c *Cache, key string) (*cache.Entry, bool) {
	t.Helper()
	lc, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := lc.Create(key)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	ok, err := c.Fetch(t.Context(), key, w)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if !ok {
		return nil, false
	}
	e, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return e, true
}

// manifestOf reads the manifest tagged key with plain HTTP.
func manifestOf(t *testing.T, c *Cache, key string) map[string]any {
	t.Helper()
	u := fmt.Sprintf("http://%s/v2/%s/manifests/%s", c.repo.RegistryStr(), c.repo.RepositoryStr(), key)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

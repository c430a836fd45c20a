package oci

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/etk-build/etk/compiler/cache"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name     string
		artefact []byte
	}{
		{"artefact", artefactBytes(1, 3<<20+17)},
		{"virtual", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newRegistry(t, nil)
			key := keyOf(tc.name)
			e := newEntry(t, t.TempDir(), key, "dev/"+tc.name, tc.artefact)
			if err := c.Push(t.Context(), e); err != nil {
				t.Fatalf("Push: %v", err)
			}
			got, ok := fetchInto(t, c, key)
			if !ok {
				t.Fatal("Fetch: not found after Push")
			}
			checkSame(t, e, got)
		})
	}
}

func TestManifest(t *testing.T) {
	c := newRegistry(t, nil)
	art := artefactBytes(2, 1000)
	key := keyOf("manifest")
	e := newEntry(t, t.TempDir(), key, "dev/tool", art)
	if err := c.Push(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(e.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	d := manifestOf(t, c, key)
	cfg := fmt.Sprintf(`{"key":%q,"id":"dev/tool"}`, key)
	want := map[string]any{
		"schemaVersion": 2.0,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{
			"mediaType": "application/vnd.etk.package.config.v1+json",
			"digest":    digest([]byte(cfg)), "size": float64(len(cfg)),
		},
		"layers": []any{
			map[string]any{
				"mediaType": "application/vnd.etk.artefact.v1.tar+zstd",
				"digest":    digest(art), "size": float64(len(art)),
				"annotations": map[string]any{"org.opencontainers.image.title": "artefact.tar.zst"},
			},
			map[string]any{
				"mediaType": "application/vnd.etk.package.metadata.v1+json",
				"digest":    digest(meta), "size": float64(len(meta)),
				"annotations": map[string]any{"org.opencontainers.image.title": "metadata.json"},
			},
		},
		"annotations": map[string]any{"org.opencontainers.image.title": "dev/tool"},
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

func TestFetchMissing(t *testing.T) {
	c := newRegistry(t, nil)
	if _, ok := fetchInto(t, c, keyOf("absent")); ok {
		t.Error("Fetch from an empty registry: found")
	}
	if err := c.Push(t.Context(), newEntry(t, t.TempDir(), keyOf("present"), "dev/a", nil)); err != nil {
		t.Fatal(err)
	}
	if _, ok := fetchInto(t, c, keyOf("absent")); ok {
		t.Error("Fetch of an absent key: found")
	}
}

func TestPushUploadsOnce(t *testing.T) {
	var n counter
	c := newRegistry(t, n.wrap)
	art := artefactBytes(3, 1<<20)
	e := newEntry(t, t.TempDir(), keyOf("one"), "dev/one", art)
	if err := c.Push(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if got := n.reset(); got["PUT "+digest(art)] != 1 {
		t.Errorf("first push: artefact committed %d times, want 1 (%v)", got["PUT "+digest(art)], got)
	}

	if err := c.Push(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if got := n.reset(); writes(got) != 0 {
		t.Errorf("second push of the same key wrote: %v", got)
	}

	// Another key, same artefact: only the new metadata, config and
	// manifest go up.
	e2 := newEntry(t, t.TempDir(), keyOf("two"), "dev/two", art)
	if err := c.Push(t.Context(), e2); err != nil {
		t.Fatal(err)
	}
	got := n.reset()
	if got["PUT "+digest(art)] != 0 {
		t.Errorf("artefact uploaded again for another key: %v", got)
	}
	if got["PUT manifests"] != 1 {
		t.Errorf("manifest PUTs: %v, want 1", got)
	}
	if _, ok := fetchInto(t, c, e2.Key); !ok {
		t.Error("second key not found")
	}
}

// failFirst answers 500 to the first n requests.
func failFirst(n int64, seen *atomic.Int64) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if seen.Add(1) <= n {
				io.Copy(io.Discard, r.Body)
				http.Error(w, "flaky", http.StatusInternalServerError)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

func TestRetries(t *testing.T) {
	var seen atomic.Int64
	c := newRegistry(t, failFirst(3, &seen), WithRetries(3))
	e := newEntry(t, t.TempDir(), keyOf("retry"), "dev/retry", artefactBytes(4, 4096))
	if err := c.Push(t.Context(), e); err != nil {
		t.Fatalf("Push: %v", err)
	}
	got, ok := fetchInto(t, c, e.Key)
	if !ok {
		t.Fatal("not found after Push")
	}
	checkSame(t, e, got)

	// Without retries, the same registry fails.
	seen.Store(0)
	c0 := newRegistry(t, failFirst(1, &seen), WithRetries(0))
	err := c0.Push(t.Context(), e)
	if err == nil {
		t.Fatal("Push with no retries to a failing registry: no error")
	}
	if !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), e.Key) {
		t.Errorf("error %q: want the status and the key", err)
	}
}

// failOnce answers 503 to the first request of a method and path kind
// ("PATCH uploads", "GET blobs", ...; see counter) and counts in fired
// how many it failed.
func failOnce(kind string, fired *atomic.Int64) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		var n counter
		return n.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.mu.Lock()
			first := n.n[kind] == 1 && strings.HasPrefix(kind, r.Method+" ") &&
				strings.Contains(r.URL.Path, "/"+strings.Fields(kind)[1]+"/")
			if first {
				n.n[kind]++ // fail it once only
			}
			n.mu.Unlock()
			if first {
				fired.Add(1)
				io.Copy(io.Discard, r.Body)
				http.Error(w, "flaky", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		}))
	}
}

func TestRetriesMidway(t *testing.T) {
	for _, kind := range []string{"POST uploads", "PATCH uploads", "PUT uploads", "HEAD manifests", "PUT manifests", "GET manifests", "GET blobs"} {
		t.Run(kind, func(t *testing.T) {
			var fired atomic.Int64
			c := newRegistry(t, failOnce(kind, &fired))
			e := newEntry(t, t.TempDir(), keyOf("midway"), "dev/midway", artefactBytes(6, 100_000))
			if err := c.Push(t.Context(), e); err != nil {
				t.Fatalf("Push: %v", err)
			}
			got, ok := fetchInto(t, c, e.Key)
			if !ok {
				t.Fatal("not found after Push")
			}
			checkSame(t, e, got)
			if fired.Load() != 1 {
				t.Errorf("%d requests failed, want 1", fired.Load())
			}
		})
	}
}

// spoilBlob rewrites the body of GETs of the blob with digest d.
func spoilBlob(d string, spoil func([]byte) []byte) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+d) {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			b := spoil(rec.Body.Bytes())
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			w.WriteHeader(rec.Code)
			w.Write(b)
		})
	}
}

func TestCorruptBlob(t *testing.T) {
	art := artefactBytes(5, 200_000)
	e := newEntry(t, t.TempDir(), keyOf("corrupt"), "dev/corrupt", art)
	meta, err := os.ReadFile(e.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte) []byte { b[len(b)/2] ^= 1; return b }
	for _, tc := range []struct {
		name  string
		blob  []byte
		spoil func([]byte) []byte
	}{
		{"artefact flipped", art, flip},
		{"artefact truncated", art, func(b []byte) []byte { return b[:len(b)-1] }},
		{"artefact longer", art, func(b []byte) []byte { return append(b, 0) }},
		{"metadata flipped", meta, flip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newRegistry(t, spoilBlob(digest(tc.blob), tc.spoil))
			if err := c.Push(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			lc, err := cache.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			w, err := lc.Create(e.Key)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := c.Fetch(t.Context(), e.Key, w)
			if err == nil || ok {
				t.Fatalf("Fetch of a spoilt blob: %v, %v; want an error", ok, err)
			}
			t.Log(err)
			if _, serr := os.Stat(w.ArtefactPath()); !os.IsNotExist(serr) {
				t.Errorf("Fetch left an artefact behind: %v", serr)
			}
			// A caller that commits anyway gets no entry.
			w.Commit()
			if _, ok := lc.Get(e.Key); ok {
				t.Error("a spoilt fetch became an entry")
			}
		})
	}
}

func TestNotAnArtifact(t *testing.T) {
	c := newRegistry(t, nil)
	key := keyOf("image")
	img, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(c.repo.Tag(key), img); err != nil {
		t.Fatal(err)
	}
	lc, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := lc.Create(key)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := c.Fetch(t.Context(), key, w); !errors.Is(err, ErrBadArtifact) {
		t.Errorf("Fetch of an image: %v, want ErrBadArtifact", err)
	}
}

// secretKeychain hands out a password the registry must never see echoed.
type secretKeychain struct{}

const secret = "s3cret-Passw0rd"

func (secretKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(authn.AuthConfig{Username: "alice", Password: secret}), nil
}

func TestCredentialsStayOutOfErrors(t *testing.T) {
	// A registry that wants basic auth and then echoes what it got, and
	// puts a token in a redirect URL.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "login", http.StatusUnauthorized)
			return
		}
		if strings.Contains(r.URL.Path, "/manifests/") {
			http.Error(w, "denied: "+r.Header.Get("Authorization")+" token="+secret, http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := NewCache(strings.TrimPrefix(srv.URL, "http://")+"/etk/cache", WithKeychain(secretKeychain{}), fast)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := keyOf("secret")
	w, err := lc.Create(key)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	_, ferr := c.Fetch(t.Context(), key, w)
	perr := c.Push(t.Context(), newEntry(t, t.TempDir(), key, "dev/s", nil))
	basic := base64.StdEncoding.EncodeToString([]byte("alice:" + secret))
	for _, err := range []error{ferr, perr} {
		if err == nil {
			t.Fatal("no error from a registry that denies everything")
		}
		t.Log(err)
		if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, basic) {
			t.Errorf("error carries the credentials: %s", msg)
		}
		if !strings.Contains(err.Error(), "403") {
			t.Errorf("error %q does not say 403", err)
		}
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`GET https://bob:pw@r.example/v2/x: 401`, `GET https://r.example/v2/x: 401`},
		{`GET https://s3.example/b/sha256:ab?X-Amz-Signature=f00&X-Amz-Credential=k: EOF`, `GET https://s3.example/b/sha256:ab: EOF`},
		{`header: Bearer eyJhbGciOi.x-y_z`, `header: Bearer REDACTED`},
		{`authorization basic YWxpY2U6cHc=`, `authorization basic REDACTED`},
		{`{"token":"abc","access_token": "def"}`, `{"token":"REDACTED","access_token": "REDACTED"}`},
		{`password=hunter2&user=bob`, `password=REDACTED&user=bob`},
		{`dial tcp 127.0.0.1:5000: connection refused`, `dial tcp 127.0.0.1:5000: connection refused`},
	} {
		if got := scrub(tc.in); got != tc.want {
			t.Errorf("scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNewCacheBadRepository(t *testing.T) {
	_, err := NewCache("bob:" + secret + "@Registry.example/UPPER")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error carries the password: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	c, err := NewCache("127.0.0.1:1/etk/cache", anonymous, WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	key := keyOf("unreachable")
	err = c.Push(t.Context(), newEntry(t, t.TempDir(), key, "dev/u", nil))
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1/etk/cache:"+key) {
		t.Errorf("Push to nowhere: %v; want an error naming repository and key", err)
	}
	t.Log(err)
}

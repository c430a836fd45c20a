package oci

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// newStoreRegistry serves ggcr's in-memory registry, seen through wrap
// (if any), and returns a store on it and the store's repository.
func newStoreRegistry(t *testing.T, wrap func(http.Handler) http.Handler, opts ...Option) (*Store, string) {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	repo := strings.TrimPrefix(srv.URL, "http://") + "/etk/foundation"
	return newTestStore(t, repo, opts...), repo
}

func newTestStore(t *testing.T, repo string, opts ...Option) *Store {
	t.Helper()
	s, err := NewStore(repo, append([]Option{anonymous, fast}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publishEntries makes n fake built packages with artefact files, as
// repository's own tests do.
func publishEntries(t testing.TB, n int, salt string) []repository.Entry {
	t.Helper()
	d := t.TempDir()
	var out []repository.Entry
	for i := range n {
		art := []byte(fmt.Sprintf("artefact %d %s", i, salt))
		path := filepath.Join(d, fmt.Sprintf("a%d", i))
		if err := os.WriteFile(path, art, 0o644); err != nil {
			t.Fatal(err)
		}
		meta := fmt.Sprintf(`{"format":"etk-package/v1","id":"cat/p%03d@1.0","category":"cat","name":"p%03d","version":"1.0","key":"%064d","artefact":{"digest":"%s","size":%d}}`,
			i, i, i, digest(art), len(art))
		out = append(out, repository.Entry{Metadata: []byte(meta), Artefact: path})
	}
	return out
}

func publishKey(t testing.TB) (index.PrivateKey, index.Trust) {
	t.Helper()
	k, err := index.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k, index.Trust{Keys: []index.PublicKey{k.Public().(index.PublicKey)}, Now: time.Unix(2000, 0)}
}

func publishOptions(k index.PrivateKey) repository.PublishOptions {
	return repository.PublishOptions{Name: "test", Key: k, Time: time.Unix(1000, 0)}
}

// onlyReader hides all but Read, to take PutBlob's temporary-file path.
type onlyReader struct{ io.Reader }

func readBlob(t *testing.T, s repository.Store, d string) []byte {
	t.Helper()
	rc, err := s.GetBlob(t.Context(), d)
	if err != nil {
		t.Fatalf("GetBlob: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("GetBlob: %v", err)
	}
	return b
}

func TestStoreBlobs(t *testing.T) {
	var n counter
	s, repo := newStoreRegistry(t, n.wrap)
	ctx := t.Context()
	big := artefactBytes(7, 3<<20+5)
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, append([]byte("0123456789"), big...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		r    func() io.Reader
	}{
		{"bytes", []byte(`{"small":true}`), nil},
		{"file at an offset", big, func() io.Reader {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			f.Seek(10, io.SeekStart)
			return f
		}},
		{"stream", artefactBytes(8, 1<<20), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open := tc.r
			if open == nil {
				open = func() io.Reader {
					if tc.name == "stream" {
						return onlyReader{bytes.NewReader(tc.data)}
					}
					return bytes.NewReader(tc.data)
				}
			}
			d := digest(tc.data)
			if ok, err := s.HasBlob(ctx, d); ok || err != nil {
				t.Fatalf("HasBlob before PutBlob: %v, %v", ok, err)
			}
			if err := s.PutBlob(ctx, d, int64(len(tc.data)), open()); err != nil {
				t.Fatalf("PutBlob: %v", err)
			}
			if ok, err := s.HasBlob(ctx, d); !ok || err != nil {
				t.Fatalf("HasBlob after PutBlob: %v, %v", ok, err)
			}
			if got := readBlob(t, s, d); !bytes.Equal(got, tc.data) {
				t.Errorf("GetBlob: %d bytes differ from the %d put", len(got), len(tc.data))
			}
			// Another store on the same repository (no memory of the
			// upload) finds the blob there and writes nothing.
			n.reset()
			if err := newTestStore(t, repo).PutBlob(ctx, d, int64(len(tc.data)), open()); err != nil {
				t.Fatalf("PutBlob again: %v", err)
			}
			if got := n.reset(); writes(got) != 0 || got["HEAD blobs"] != 1 {
				t.Errorf("PutBlob of a blob the registry has: %v, want one HEAD", got)
			}
		})
	}
}

func TestStoreBlobMismatch(t *testing.T) {
	s, _ := newStoreRegistry(t, nil)
	data := []byte("the real content")
	d := digest(data)
	for _, tc := range []struct {
		name string
		r    io.Reader
		size int64
	}{
		{"other bytes", bytes.NewReader([]byte("other content!!!")), int64(len(data))},
		{"other bytes streamed", onlyReader{bytes.NewReader([]byte("other content!!!"))}, int64(len(data))},
		{"shorter", bytes.NewReader(data[:5]), int64(len(data))},
		{"longer", bytes.NewReader(append(data, '!')), int64(len(data))},
		{"size too small", bytes.NewReader(data), int64(len(data)) - 1},
		{"size too large", onlyReader{bytes.NewReader(data)}, int64(len(data)) + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutBlob(t.Context(), d, tc.size, tc.r)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if ok, _ := s.HasBlob(t.Context(), d); ok {
				t.Error("the blob exists after a failed PutBlob")
			}
		})
	}
	if _, err := s.GetBlob(t.Context(), d); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("GetBlob of an absent blob: %v, want ErrNotFound", err)
	}
	for _, bad := range []string{"sha256:abc", "sha512:" + strings.Repeat("a", 128), "SHA256:" + strings.Repeat("a", 64)} {
		if _, err := s.HasBlob(t.Context(), bad); err == nil {
			t.Errorf("HasBlob(%q): no error", bad)
		}
	}
	// An unknown size is fine.
	if err := s.PutBlob(t.Context(), d, -1, onlyReader{bytes.NewReader(data)}); err != nil {
		t.Errorf("PutBlob of unknown size: %v", err)
	}
}

func TestTagOf(t *testing.T) {
	for _, tc := range []struct{ ref, tag string }{
		{"latest", "latest"},
		{"snapshots/1", "rev-1"},
		{"snapshots/1234567", "rev-1234567"},
		{repository.RevisionRef(42), "rev-42"},
		{"snapshots/0", ""},
		{"snapshots/012", ""},
		{"snapshots/-1", ""},
		{"snapshots/1/x", ""},
		{"snapshots/", ""},
		{"rev-1", ""},
		{"Latest", ""},
		{"stable", ""},
		{"snapshots/12345678901234567890", ""},
	} {
		got, err := tagOf(tc.ref)
		if got != tc.tag || (err == nil) != (tc.tag != "") {
			t.Errorf("tagOf(%q) = %q, %v; want %q", tc.ref, got, err, tc.tag)
		}
	}
}

// checkRefs runs compare-and-swap steps on the references of s, which
// must have none.
func checkRefs(t *testing.T, s *Store) {
	a, b, c := []byte(`{"v":"a"}`), []byte(`{"v":"b"}`), []byte(`{"v":"c"}`)
	state := map[string][]byte{}
	for _, st := range []struct {
		name      string
		ref       string
		old, data []byte
		want      error
	}{
		{"create", "latest", nil, a, nil},
		{"create existing", "latest", nil, b, repository.ErrConflict},
		{"create existing with the same value", "latest", nil, a, repository.ErrConflict},
		{"stale old", "latest", c, b, repository.ErrConflict},
		{"swap", "latest", a, b, nil},
		{"swap from the previous value", "latest", a, c, repository.ErrConflict},
		{"swap to the same value", "latest", b, b, nil},
		{"create revision", "snapshots/1", nil, a, nil},
		{"create revision again", "snapshots/1", nil, c, repository.ErrConflict},
		{"swap an absent reference", "snapshots/2", a, b, repository.ErrConflict},
		{"empty value", "snapshots/3", nil, []byte{}, nil},
		{"swap from an empty value", "snapshots/3", []byte{}, c, nil},
	} {
		err := s.PutRef(t.Context(), st.ref, st.old, st.data)
		if !errors.Is(err, st.want) || (err != nil) != (st.want != nil) {
			t.Fatalf("%s: PutRef(%s): %v, want %v", st.name, st.ref, err, st.want)
		}
		if err == nil {
			state[st.ref] = st.data
		}
		got, err := s.GetRef(t.Context(), st.ref)
		if want, ok := state[st.ref]; !ok {
			if !errors.Is(err, repository.ErrNotFound) {
				t.Errorf("%s: GetRef(%s): %q, %v; want ErrNotFound", st.name, st.ref, got, err)
			}
		} else if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: GetRef(%s) = %q, %v; want %q", st.name, st.ref, got, err, want)
		}
	}
	for _, bad := range []string{"snapshots/0", "stable", "refs/latest"} {
		if err := s.PutRef(t.Context(), bad, nil, a); err == nil || errors.Is(err, repository.ErrConflict) {
			t.Errorf("PutRef(%q): %v, want a bad-name error", bad, err)
		}
		if _, err := s.GetRef(t.Context(), bad); err == nil || errors.Is(err, repository.ErrNotFound) {
			t.Errorf("GetRef(%q): %v, want a bad-name error", bad, err)
		}
	}
}

func TestStoreRefs(t *testing.T) {
	s, _ := newStoreRegistry(t, nil)
	if _, err := s.GetRef(t.Context(), "latest"); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("GetRef in an empty registry: %v, want ErrNotFound", err)
	}
	checkRefs(t, s)
}

// rawManifestOf reads the manifest tagged tag with plain HTTP.
func rawManifestOf(t *testing.T, s *Store, tag string) map[string]any {
	t.Helper()
	u := fmt.Sprintf("http://%s/v2/%s/manifests/%s", s.repo.RegistryStr(), s.repo.RepositoryStr(), tag)
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

func TestStoreRefManifest(t *testing.T) {
	s, _ := newStoreRegistry(t, nil)
	snap := []byte(`{"payloadType":"application/vnd.etk.snapshot.v1+json","payload":"e30=","signatures":[]}`)
	if err := s.PutRef(t.Context(), "snapshots/12", nil, snap); err != nil {
		t.Fatal(err)
	}
	cfg := `{"name":"snapshots/12"}`
	want := map[string]any{
		"schemaVersion": 2.0,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{
			"mediaType": "application/vnd.etk.ref.v1+json",
			"digest":    digest([]byte(cfg)), "size": float64(len(cfg)),
		},
		"layers": []any{map[string]any{
			"mediaType":   "application/vnd.etk.snapshot.v1.dsse+json",
			"digest":      digest(snap),
			"size":        float64(len(snap)),
			"annotations": map[string]any{"org.opencontainers.image.title": "snapshot.dsse.json"},
		}},
	}
	if diff := cmp.Diff(want, rawManifestOf(t, s, "rev-12")); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	// The snapshot is a blob of its own, as Publish expects.
	if ok, err := s.HasBlob(t.Context(), digest(snap)); !ok || err != nil {
		t.Errorf("HasBlob(snapshot) = %v, %v", ok, err)
	}
}

func TestStoreBadReference(t *testing.T) {
	s, _ := newStoreRegistry(t, nil)
	img, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(s.repo.Tag("latest"), img); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRef(t.Context(), "latest"); !errors.Is(err, ErrBadReference) {
		t.Errorf("GetRef of an image: %v, want ErrBadReference", err)
	}
	if err := s.PutRef(t.Context(), "latest", nil, []byte("x")); !errors.Is(err, ErrBadReference) {
		t.Errorf("PutRef over an image: %v, want ErrBadReference", err)
	}
}

// checkPublish publishes to s, opens, republishes unchanged and
// publishes one more package, counting requests with n if not nil.
func checkPublish(t *testing.T, s *Store, n *counter) {
	ctx := t.Context()
	k, trust := publishKey(t)
	es := publishEntries(t, 5, s.String())
	r1, err := repository.Publish(ctx, s, es, publishOptions(k))
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if r1.Snapshot.Revision != 1 || r1.Uploaded != 11 {
		t.Errorf("first publish: revision %d, %d uploads; want 1, 11", r1.Snapshot.Revision, r1.Uploaded)
	}
	repo, err := repository.Open(ctx, s, trust, 0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if len(repo.Index.Packages) != 5 || repo.Snapshot.Revision != 1 {
		t.Fatalf("Open: revision %d with %d packages", repo.Snapshot.Revision, len(repo.Index.Packages))
	}
	for i, p := range repo.Index.Packages {
		rc, err := repo.Fetch(ctx, *p.Artefact)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		want, _ := os.ReadFile(es[i].Artefact)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Fetch %s: %q, %v; want %q", p.ID, got, err, want)
		}
	}

	if n != nil {
		n.reset()
	}
	r2, err := repository.Publish(ctx, s, es, publishOptions(k))
	if err != nil || !r2.Unchanged || r2.Uploaded != 0 || r2.Snapshot.Revision != 1 {
		t.Errorf("unchanged publish: %+v, %v", r2, err)
	}
	if n != nil {
		if got := n.reset(); writes(got) != 0 {
			t.Errorf("unchanged publish wrote to the registry: %v", got)
		}
	}

	r3, err := repository.Publish(ctx, s, publishEntries(t, 6, s.String()), publishOptions(k))
	if err != nil || r3.Snapshot.Revision != 2 || r3.Uploaded != 3 {
		t.Fatalf("second revision: %+v, %v", r3, err)
	}
	for rev, want := range map[int64]int{0: 6, 1: 5, 2: 6} {
		repo, err := repository.Open(ctx, s, trust, rev)
		if err != nil || len(repo.Index.Packages) != want {
			t.Errorf("Open revision %d: %v", rev, err)
		}
	}
	tags, err := s.puller.List(ctx, s.repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if diff := cmp.Diff([]string{"latest", "rev-1", "rev-2"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func TestStorePublishOpen(t *testing.T) {
	var n counter
	s, _ := newStoreRegistry(t, n.wrap)
	checkPublish(t, s, &n)
}

func TestStoreRetries(t *testing.T) {
	var seen atomic.Int64
	s, _ := newStoreRegistry(t, failFirst(3, &seen), WithRetries(3))
	data := []byte("retried")
	if err := s.PutBlob(t.Context(), digest(data), int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	if err := s.PutRef(t.Context(), "latest", nil, data); err != nil {
		t.Fatalf("PutRef: %v", err)
	}
	if got, err := s.GetRef(t.Context(), "latest"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetRef: %q, %v", got, err)
	}
	if seen.Load() <= 3 {
		t.Fatalf("the registry saw %d requests: nothing was retried", seen.Load())
	}

	seen.Store(0)
	s0, _ := newStoreRegistry(t, failFirst(1, &seen), WithRetries(0))
	_, err := s0.GetRef(t.Context(), "latest")
	if err == nil || errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("GetRef with no retries from a failing registry: %v", err)
	}
	if !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), ":latest") {
		t.Errorf("error %q: want the status and the tag", err)
	}
}

// hangUpOnce drops the connection of the first request of a kind (see
// counter) without answering.
func hangUpOnce(kind string, fired *atomic.Int64) func(http.Handler) http.Handler {
	method, path, _ := strings.Cut(kind, " ")
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == method && strings.Contains(r.URL.Path, "/"+path+"/") && fired.CompareAndSwap(0, 1) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					panic(err)
				}
				conn.Close()
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestStoreRetriesMidway fails one request of each kind a publish and an
// open make, with a 503 or a dropped connection.
func TestStoreRetriesMidway(t *testing.T) {
	for _, kind := range []string{"HEAD blobs", "POST uploads", "PATCH uploads", "PUT uploads", "GET manifests", "PUT manifests", "HEAD manifests", "GET blobs"} {
		for _, fail := range []struct {
			name string
			wrap func(string, *atomic.Int64) func(http.Handler) http.Handler
		}{{"503", failOnce}, {"hang-up", hangUpOnce}} {
			t.Run(kind+" "+fail.name, func(t *testing.T) {
				var fired atomic.Int64
				s, _ := newStoreRegistry(t, fail.wrap(kind, &fired))
				k, trust := publishKey(t)
				if _, err := repository.Publish(t.Context(), s, publishEntries(t, 2, "midway"), publishOptions(k)); err != nil {
					t.Fatalf("Publish: %v", err)
				}
				repo, err := repository.Open(t.Context(), s, trust, 0)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				for _, p := range repo.Index.Packages {
					rc, err := repo.Fetch(t.Context(), *p.Artefact)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := io.ReadAll(rc); err != nil {
						t.Errorf("Fetch %s: %v", p.ID, err)
					}
					rc.Close()
				}
				if fired.Load() != 1 {
					t.Errorf("%d requests failed, want 1", fired.Load())
				}
			})
		}
	}
}

func TestStoreCorruptBlob(t *testing.T) {
	data := artefactBytes(9, 100_000)
	s, _ := newStoreRegistry(t, spoilBlob(digest(data), func(b []byte) []byte { b[len(b)/2] ^= 1; return b }))
	if err := s.PutBlob(t.Context(), digest(data), int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rc, err := s.GetBlob(t.Context(), digest(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("reading a spoilt blob: no error")
	}
}

func TestStoreCredentialsStayOutOfErrors(t *testing.T) {
	// A registry that wants basic auth and then echoes what it got.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "login", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/v2/" {
			return
		}
		http.Error(w, "denied: "+r.Header.Get("Authorization")+" token="+secret, http.StatusForbidden)
	}))
	defer srv.Close()
	s, err := NewStore(strings.TrimPrefix(srv.URL, "http://")+"/etk/foundation", WithKeychain(secretKeychain{}), fast)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	data := []byte("x")
	_, herr := s.HasBlob(ctx, digest(data))
	_, gerr := s.GetBlob(ctx, digest(data))
	_, rerr := s.GetRef(ctx, "latest")
	basic := base64.StdEncoding.EncodeToString([]byte("alice:" + secret))
	for _, err := range []error{
		herr, gerr, rerr,
		s.PutBlob(ctx, digest(data), 1, onlyReader{bytes.NewReader(data)}),
		s.PutBlob(ctx, digest(data), 1, bytes.NewReader(data)),
		s.PutRef(ctx, "latest", nil, data),
	} {
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

func TestNewStoreBadRepository(t *testing.T) {
	_, err := NewStore("bob:" + secret + "@Registry.example/UPPER")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error carries the password: %v", err)
	}
}

// TestRevisionTagReferencesItsBlobs: a revision tag's manifest points at
// the index and every blob the index names, so that registry garbage
// collection keeps a published revision whole.
func TestRevisionTagReferencesItsBlobs(t *testing.T) {
	var n counter
	s, _ := newStoreRegistry(t, n.wrap)
	checkPublish(t, s, &n)
	latest, err := s.GetRef(t.Context(), "latest")
	if err != nil {
		t.Fatal(err)
	}
	env, err := index.DecodeSigned(latest)
	if err != nil {
		t.Fatal(err)
	}
	var snap index.Snapshot
	if err := json.Unmarshal(env.Payload, &snap); err != nil {
		t.Fatal(err)
	}
	m := rawManifestOf(t, s, "latest")
	layers, _ := m["layers"].([]any)
	digests := map[string]bool{}
	for _, l := range layers {
		digests[l.(map[string]any)["digest"].(string)] = true
	}
	if !digests[snap.Index.Digest] || len(layers) < 3 {
		t.Errorf("latest's manifest does not reference the index and the packages: %d layers", len(layers))
	}
}

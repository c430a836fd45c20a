package httpstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/etk-build/etk/internal/faultproxy"
	"github.com/etk-build/etk/internal/network"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/httpstore"
	"github.com/etk-build/etk/repository/index"
)

// entries makes n fake built packages with artefact files, as
// repository's own tests do.
func entries(t *testing.T, n int) []repository.Entry {
	t.Helper()
	d := t.TempDir()
	var out []repository.Entry
	for i := range n {
		art := []byte(fmt.Sprintf("artefact %d", i))
		sum := sha256.Sum256(art)
		path := filepath.Join(d, fmt.Sprintf("a%d", i))
		if err := os.WriteFile(path, art, 0o644); err != nil {
			t.Fatal(err)
		}
		meta := fmt.Sprintf(`{"format":"etk-package/v1","id":"cat/p%03d@1.0","category":"cat","name":"p%03d","version":"1.0","key":"%064d","artefact":{"digest":"sha256:%s","size":%d}}`,
			i, i, i, hex.EncodeToString(sum[:]), len(art))
		out = append(out, repository.Entry{Metadata: []byte(meta), Artefact: path})
	}
	return out
}

// published publishes n packages to a new folder and returns the folder,
// what was published and how to trust it.
func published(t *testing.T, n int) (string, *repository.Result, index.Trust) {
	t.Helper()
	root := t.TempDir()
	s, err := dir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	k, err := index.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	res, err := repository.Publish(t.Context(), s, entries(t, n), repository.PublishOptions{Name: "test", Key: k, Time: time.Unix(1000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return root, res, index.Trust{Keys: []index.PublicKey{k.Public().(index.PublicKey)}, Now: time.Unix(2000, 0)}
}

func serve(t *testing.T, h http.Handler) *httpstore.Store {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s, err := httpstore.New(srv.URL+"/repo", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fileServer(root string) http.Handler {
	return http.StripPrefix("/repo", http.FileServer(http.Dir(root)))
}

func TestOpenOverHTTP(t *testing.T) {
	root, res, trust := published(t, 3)
	s := serve(t, fileServer(root))
	ctx := t.Context()
	repo, err := repository.Open(ctx, s, trust, 0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if repo.Snapshot.Revision != 1 || len(repo.Index.Packages) != 3 {
		t.Fatalf("opened revision %d with %d packages", repo.Snapshot.Revision, len(repo.Index.Packages))
	}
	if _, err := repository.Open(ctx, s, trust, 1); err != nil {
		t.Errorf("Open revision 1: %v", err)
	}
	for i, p := range repo.Index.Packages {
		rc, err := repo.Fetch(ctx, *p.Artefact)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || string(b) != fmt.Sprintf("artefact %d", i) {
			t.Errorf("Fetch %s: %q, %v", p.ID, b, err)
		}
	}

	if ok, err := s.HasBlob(ctx, res.Snapshot.Index.Digest); !ok || err != nil {
		t.Errorf("HasBlob(index) = %v, %v", ok, err)
	}
	absent := "sha256:" + strings.Repeat("0", 64)
	if ok, err := s.HasBlob(ctx, absent); ok || err != nil {
		t.Errorf("HasBlob(absent) = %v, %v", ok, err)
	}
	if _, err := s.GetBlob(ctx, absent); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("GetBlob(absent): %v, want ErrNotFound", err)
	}
	if _, err := s.GetRef(ctx, repository.RevisionRef(2)); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("GetRef(snapshots/2): %v, want ErrNotFound", err)
	}
	if _, err := s.GetBlob(ctx, "sha256:../../etc"); err == nil {
		t.Error("GetBlob of a bad digest: no error")
	}
	if _, err := s.GetRef(ctx, "../latest"); err == nil {
		t.Error("GetRef of a bad name: no error")
	}
}

// TestReadOnly: a web server is only read; publishing to it does not
// compile, so there is no write to refuse at run time.
func TestReadOnly(t *testing.T) {
	var s any = &httpstore.Store{}
	if _, ok := s.(repository.Store); ok {
		t.Error("*httpstore.Store is a repository.Store; it must only read")
	}
}

// tamper flips a byte in the body of the file named by digest.
func tamper(h http.Handler, digest string) http.Handler {
	path := "/blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, path) {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		if len(b) > 0 {
			b[len(b)/2] ^= 1
		}
		w.WriteHeader(rec.Code)
		w.Write(b)
	})
}

func TestTamperedBlob(t *testing.T) {
	root, res, trust := published(t, 2)
	ctx := context.Background()

	// A tampered index: Open refuses the revision.
	s := serve(t, tamper(fileServer(root), res.Snapshot.Index.Digest))
	if _, err := repository.Open(ctx, s, trust, 0); err == nil {
		t.Error("Open with a tampered index: no error")
	} else {
		t.Log(err)
	}

	// A tampered artefact: Open works, reading the artefact fails.
	repo, err := repository.Open(ctx, serve(t, fileServer(root)), trust, 0)
	if err != nil {
		t.Fatal(err)
	}
	art := *repo.Index.Packages[1].Artefact
	s = serve(t, tamper(fileServer(root), art.Digest))
	repo, err = repository.Open(ctx, s, trust, 0)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := repo.Fetch(ctx, art)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if !errors.Is(err, index.ErrDigestMismatch) {
		t.Errorf("Fetch of a tampered artefact: %v, want ErrDigestMismatch", err)
	}
}

func TestServerError(t *testing.T) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	_, err := s.GetRef(t.Context(), repository.LatestRef)
	if err == nil || errors.Is(err, repository.ErrNotFound) || !strings.Contains(err.Error(), "503") {
		t.Errorf("GetRef from a failing server: %v; want an error saying 503", err)
	}
	if _, err := s.HasBlob(t.Context(), "sha256:"+strings.Repeat("a", 64)); err == nil {
		t.Error("HasBlob from a failing server: no error")
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		url  string
		ok   bool
		want string // String() when ok
	}{
		{"https://example.com/etk/foundation", true, "https://example.com/etk/foundation/"},
		{"http://bob:pw@example.com/", true, "http://bob:xxxxx@example.com/"},
		{"ftp://example.com/", false, ""},
		{"example.com/etk", false, ""},
		{"https://example.com/?sig=1", false, ""},
		{"https://bob:secret@exa mple.com/", false, ""},
	} {
		s, err := httpstore.New(tc.url, nil)
		if (err == nil) != tc.ok {
			t.Errorf("New(%q): %v", tc.url, err)
			continue
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%q): the error shows the password: %v", tc.url, err)
		}
		if tc.ok && s.String() != tc.want {
			t.Errorf("New(%q).String() = %q, want %q", tc.url, s, tc.want)
		}
	}
}

// TestEndlessReference: a server answering a reference with an endless
// body (and no length) gets a quick error naming the reference and the
// limit, not all the memory of the host.
func TestEndlessReference(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := bytes.Repeat([]byte("0"), 32<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	s, err := httpstore.New(srv.URL+"/repo", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.GetRef(t.Context(), "latest")
	if !errors.Is(err, index.ErrTooLarge) || !strings.Contains(err.Error(), "reference latest") || !strings.Contains(err.Error(), "1 MiB") {
		t.Fatalf("endless reference: %v", err)
	}
	t.Log(err)
}

// TestFaults: installing from a mirror (reading the revision and every
// artefact) through a proxy that breaks one request of each kind, or all
// of them: once is retried or resumed, always fails in seconds naming the
// mirror and the object, a truncation is never accepted.
func TestFaults(t *testing.T) {
	root, _, trust := published(t, 3)
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	defer srv.Close()
	timeouts := network.Timeouts{Connect: time.Second, Header: 300 * time.Millisecond, Idle: 300 * time.Millisecond}
	for _, c := range []struct {
		mode  faultproxy.Mode
		times int
		ok    bool
	}{
		{faultproxy.Error5xx, 1, true}, {faultproxy.Error5xx, 0, false},
		{faultproxy.Drop, 1, true}, {faultproxy.Drop, 0, false},
		{faultproxy.Stall, 1, true}, {faultproxy.Stall, 0, false},
		{faultproxy.StallBody, 1, true}, {faultproxy.StallBody, 0, false},
		{faultproxy.Truncate, 1, false},
	} {
		for _, path := range []string{"/refs/", "/blobs/"} {
			t.Run(fmt.Sprintf("%s-%d%s", c.mode, c.times, path), func(t *testing.T) {
				p, err := faultproxy.Start(strings.TrimPrefix(srv.URL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				s, err := httpstore.New("http://"+p.Addr()+"/", &http.Client{Transport: timeouts.Transport()})
				if err != nil {
					t.Fatal(err)
				}
				p.Set(faultproxy.Rule{Method: "GET", Path: path, Mode: c.mode, Times: c.times})
				start := time.Now()
				err = readAll(t.Context(), s, trust)
				t.Logf("%.2fs, %d broken: %v", time.Since(start).Seconds(), p.Hits(0), err)
				if p.Hits(0) == 0 {
					t.Fatalf("nothing broken: %v", p.Log())
				}
				if c.ok != (err == nil) {
					t.Fatalf("ok %v, error %v", c.ok, err)
				}
				// The mirror is named by the store, or by the CLI
				// around a verification error; the object always.
				if err != nil && !strings.Contains(err.Error(), "blob sha256:") && !strings.Contains(err.Error(), "reference latest") {
					t.Errorf("error names no object: %v", err)
				}
			})
		}
	}
}

func readAll(ctx context.Context, s repository.ReadOnlyStore, trust index.Trust) error {
	r, err := repository.Open(ctx, s, trust, 0)
	if err != nil {
		return err
	}
	for _, p := range r.Index.Packages {
		rc, err := r.FetchArtefact(ctx, p)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

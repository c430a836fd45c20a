package repository_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/memstore"
)

// entries makes n fake built packages with artefact files.
func entries(t testing.TB, n int, salt string) []repository.Entry {
	t.Helper()
	d := t.TempDir()
	var out []repository.Entry
	for i := 0; i < n; i++ {
		art := []byte(fmt.Sprintf("artefact %d %s", i, salt))
		sum := sha256.Sum256(art)
		path := filepath.Join(d, fmt.Sprintf("a%d", i))
		if err := os.WriteFile(path, art, 0o644); err != nil {
			t.Fatal(err)
		}
		meta := fmt.Sprintf(`{"format":"etk-package/v1","id":"cat/p%03d@1.0","category":"cat","name":"p%03d","version":"1.0","key":"%064d","requires":[{"category":"cat","name":"p000","version":">=0"}],"artefact":{"digest":"sha256:%s","size":%d}}`,
			i, i, i, hex.EncodeToString(sum[:]), len(art))
		out = append(out, repository.Entry{Metadata: []byte(meta), Artefact: path})
	}
	return out
}

func key(t testing.TB) (index.PrivateKey, index.Trust) {
	t.Helper()
	k, err := index.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k, index.Trust{Keys: []index.PublicKey{k.Public().(index.PublicKey)}, Now: time.Unix(2000, 0)}
}

func opts(k index.PrivateKey) repository.PublishOptions {
	return repository.PublishOptions{Name: "test", Key: k, Time: time.Unix(1000, 0)}
}

func TestPublishRevisions(t *testing.T) {
	ctx := context.Background()
	s, _ := dir.Open(t.TempDir())
	k, trust := key(t)
	r1, err := repository.Publish(ctx, s, entries(t, 5, "a"), opts(k))
	if err != nil || r1.Snapshot.Revision != 1 || r1.Uploaded != 11 {
		t.Fatalf("first publish: %+v %v", r1, err)
	}
	// The same packages again: nothing new, nothing uploaded.
	r2, err := repository.Publish(ctx, s, entries(t, 5, "a"), opts(k))
	if err != nil || !r2.Unchanged || r2.Uploaded != 0 || r2.Snapshot.Revision != 1 {
		t.Errorf("unchanged publish: %+v %v", r2, err)
	}
	// One more package: revision 2, only its blobs and the index uploaded.
	r3, err := repository.Publish(ctx, s, entries(t, 6, "a"), opts(k))
	if err != nil || r3.Snapshot.Revision != 2 || r3.Uploaded != 3 {
		t.Errorf("second revision: %+v %v", r3, err)
	}
	repo, err := repository.Open(ctx, s, trust, 0)
	if err != nil || len(repo.Index.Packages) != 6 || repo.Snapshot.Revision != 2 {
		t.Fatalf("open latest: %v", err)
	}
	old, err := repository.Open(ctx, s, trust, 1)
	if err != nil || len(old.Index.Packages) != 5 {
		t.Fatalf("open revision 1: %v", err)
	}
	if ch := index.Diff(old.Index, repo.Index); len(ch.Added) != 1 || len(ch.Removed)+len(ch.Changed) != 0 {
		t.Errorf("diff: %+v", ch)
	}
	// Rollback protection: a client that saw revision 2 refuses revision 1.
	trust.MinRevision = 2
	if _, err := repository.Open(ctx, s, trust, 1); !errors.Is(err, index.ErrRollback) {
		t.Errorf("rollback: %v", err)
	}
	// An untrusted key is refused.
	_, other := key(t)
	if _, err := repository.Open(ctx, s, other, 0); !errors.Is(err, index.ErrUntrusted) {
		t.Errorf("untrusted: %v", err)
	}
}

// flaky fails PutRef of latest once: a publish interrupted after its
// blobs and revision reference.
type flaky struct {
	repository.Store
	fail bool
}

func (f *flaky) PutRef(ctx context.Context, name string, old, data []byte) error {
	if name == repository.LatestRef && f.fail {
		f.fail = false
		return errors.New("connection dropped")
	}
	return f.Store.PutRef(ctx, name, old, data)
}

func TestInterruptedPublish(t *testing.T) {
	ctx := context.Background()
	base, _ := dir.Open(t.TempDir())
	k, trust := key(t)
	if _, err := repository.Publish(ctx, base, entries(t, 3, "a"), opts(k)); err != nil {
		t.Fatal(err)
	}
	s := &flaky{Store: base, fail: true}
	if _, err := repository.Publish(ctx, s, entries(t, 4, "a"), opts(k)); err == nil {
		t.Fatal("want the injected failure")
	}
	// The previous revision is intact and is what readers get.
	repo, err := repository.Open(ctx, s, trust, 0)
	if err != nil || repo.Snapshot.Revision != 1 || len(repo.Index.Packages) != 3 {
		t.Fatalf("after an interrupted publish: %v", err)
	}
	// Running it again completes it (revision 2 is taken by the orphan
	// reference, so it lands as 3: no revision is ever rewritten).
	r, err := repository.Publish(ctx, s, entries(t, 4, "a"), opts(k))
	if err != nil {
		t.Fatal(err)
	}
	repo, err = repository.Open(ctx, s, trust, 0)
	if err != nil || len(repo.Index.Packages) != 4 || repo.Snapshot.Revision != r.Snapshot.Revision {
		t.Fatalf("re-run: %+v %v", r, err)
	}
}

// stores are the writable stores publishing is tested on: the logic
// must not depend on which.
var stores = []struct {
	name string
	open func(t *testing.T) repository.Store
}{
	{"memstore", func(*testing.T) repository.Store { return memstore.New() }},
	{"dir", func(t *testing.T) repository.Store {
		s, err := dir.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

func TestConcurrentPublishers(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { testConcurrentPublishers(t, st.open(t)) })
	}
}

func testConcurrentPublishers(t *testing.T, s repository.Store) {
	ctx := context.Background()
	k, trust := key(t)
	var wg sync.WaitGroup
	revs := make([]int64, 4)
	for i := range revs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := repository.Publish(ctx, s, entries(t, 2+i, "a"), opts(k))
			if err != nil {
				t.Error(err)
				return
			}
			revs[i] = r.Snapshot.Revision
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, r := range revs {
		if seen[r] {
			t.Errorf("two publishers got revision %d", r)
		}
		seen[r] = true
	}
	// Every revision is readable.
	for r := range seen {
		if _, err := repository.Open(ctx, s, trust, r); err != nil {
			t.Errorf("revision %d: %v", r, err)
		}
	}
}

func TestTamperedIndex(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, _ := dir.Open(root)
	k, trust := key(t)
	r, err := repository.Publish(ctx, s, entries(t, 2, "a"), opts(k))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "blobs", "sha256", r.Snapshot.Index.Digest[len("sha256:"):])
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o644)
	if _, err := repository.Open(ctx, s, trust, 0); err == nil {
		t.Error("a tampered index was accepted")
	}
}

// BenchmarkRepublishUnchanged100: publishing an unchanged 100-package
// repository again uploads nothing.
func BenchmarkRepublishUnchanged100(b *testing.B) {
	ctx := context.Background()
	s, _ := dir.Open(b.TempDir())
	k, _ := key(b)
	es := entries(b, 100, "a")
	if _, err := repository.Publish(ctx, s, es, opts(k)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := repository.Publish(ctx, s, es, opts(k))
		if err != nil || r.Uploaded != 0 {
			b.Fatalf("%+v %v", r, err)
		}
	}
}

func TestPublishCompileTree(t *testing.T) {
	ctx := context.Background()
	s, _ := dir.Open(t.TempDir())
	k, trust := key(t)
	o := opts(k)
	o.Tree, o.TreeMediaType = []byte("a tar of the trees"), "application/vnd.etk.tree.v1.tar+zstd"
	if _, err := repository.Publish(ctx, s, entries(t, 2, "a"), o); err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Open(ctx, s, trust, 0)
	if err != nil || repo.Index.Tree == nil {
		t.Fatalf("no compile tree in the index: %v", err)
	}
	rc, err := repo.Fetch(ctx, *repo.Index.Tree)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if b, err := io.ReadAll(rc); err != nil || string(b) != "a tar of the trees" {
		t.Errorf("compile tree: %q %v", b, err)
	}
}

// TestReferUpstream: a derivative's index may refer to artefacts kept in
// its upstream; readers fetch them there, verified by the derivative's
// own signed digests.
func TestReferUpstream(t *testing.T) {
	ctx := context.Background()
	upDir := t.TempDir()
	up, _ := dir.Open(upDir)
	k, trust := key(t)
	es := entries(t, 2, "a")
	if _, err := repository.Publish(ctx, up, es, opts(k)); err != nil {
		t.Fatal(err)
	}
	der, _ := dir.Open(t.TempDir())
	for i := range es {
		es[i].Source = upDir
	}
	r, err := repository.Publish(ctx, der, es, opts(k))
	if err != nil {
		t.Fatal(err)
	}
	if r.Uploaded != 3 { // two metadata files and the index: no artefact
		t.Errorf("uploaded %d blobs, want 3", r.Uploaded)
	}
	repo, err := repository.Open(ctx, der, trust, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := repo.Index.Packages[0]
	if p.Source != upDir {
		t.Fatalf("source %q", p.Source)
	}
	if _, err := repo.FetchArtefact(ctx, p); err == nil {
		t.Error("fetched from a source without knowing how to open it")
	}
	repo.OpenSource = func(url string) (repository.ReadOnlyStore, error) { return dir.Open(url) }
	rc, err := repo.FetchArtefact(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !strings.HasPrefix(string(b), "artefact 0") {
		t.Errorf("artefact from the upstream: %q %v", b, err)
	}
	// A source serving other bytes under the digest is refused.
	blob := filepath.Join(upDir, "blobs", "sha256", strings.TrimPrefix(p.Artefact.Digest, "sha256:"))
	os.WriteFile(blob, []byte("artefact 0 evil"), 0o644)
	rc, err = repo.FetchArtefact(ctx, p)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if err == nil {
		t.Error("a tampered upstream artefact was accepted")
	}
}

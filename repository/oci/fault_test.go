package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/internal/faultproxy"
	"github.com/etk-build/etk/internal/network"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// faultTimeouts are short, so that stalls cost a fraction of a second.
var faultTimeouts = network.Timeouts{Connect: time.Second, Header: 400 * time.Millisecond, Idle: 400 * time.Millisecond}

// bigEntries are packages whose artefacts are large enough to be cut
// mid-body.
func bigEntries(t *testing.T, n int) []repository.Entry {
	t.Helper()
	d := t.TempDir()
	var out []repository.Entry
	for i := range n {
		art := artefactBytes(uint64(100+i), 256<<10)
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

func randomName(prefix string) string {
	var b [6]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// TestFaults runs publish, install's reads, verify and the remote cache
// through a proxy that breaks one request (or every one) of each, in each
// mode. A fault that happens once is retried or resumed and the operation
// succeeds; one that keeps happening fails it within seconds, with an
// error naming the repository and the object; a truncated body is never
// taken for the blob.
func TestFaults(t *testing.T) {
	type op struct {
		name string
		// rule picks the requests to break; run does the operation.
		rule func(f *fixture) faultproxy.Rule
		run  func(f *fixture, ctx context.Context) error
	}
	uploads := func(*fixture) faultproxy.Rule { return faultproxy.Rule{Path: "/blobs/uploads/"} }
	ops := []op{
		{"publish", uploads, (*fixture).publish},
		{"install", func(f *fixture) faultproxy.Rule { return faultproxy.Rule{Method: "GET", Path: "/blobs/" + f.repoArt} }, (*fixture).install},
		{"verify", func(*fixture) faultproxy.Rule { return faultproxy.Rule{Method: "GET", Path: "/blobs/sha256:"} }, (*fixture).verify},
		{"cache-push", uploads, (*fixture).cachePush},
		{"cache-fetch", func(f *fixture) faultproxy.Rule { return faultproxy.Rule{Method: "GET", Path: "/blobs/" + f.cacheArt} }, (*fixture).cacheFetch},
	}
	type mode struct {
		name  string
		mode  faultproxy.Mode
		times int
		ok    bool // the operation must succeed; else fail
	}
	modes := []mode{
		{"5xx-once", faultproxy.Error5xx, 1, true},
		{"5xx-always", faultproxy.Error5xx, 0, false},
		{"drop-once", faultproxy.Drop, 1, true},
		{"drop-always", faultproxy.Drop, 0, false},
		{"stall-once", faultproxy.Stall, 1, true},
		{"stall-always", faultproxy.Stall, 0, false},
		{"stall-body-once", faultproxy.StallBody, 1, true},
		{"truncate-once", faultproxy.Truncate, 1, false},
	}
	// Writes are cut on the way up; what comes back from an upload has
	// no body to drop, stall in or truncate.
	writeModes := []mode{
		{"5xx-once", faultproxy.Error5xx, 1, true},
		{"5xx-always", faultproxy.Error5xx, 0, false},
		{"drop-upload-once", faultproxy.DropUpload, 1, true},
		{"drop-upload-always", faultproxy.DropUpload, 0, false},
		{"stall-once", faultproxy.Stall, 1, true},
		{"stall-always", faultproxy.Stall, 0, false},
	}
	for _, upName := range []string{"ggcr", "distribution"} {
		t.Run(upName, func(t *testing.T) {
			upstream := faultUpstream(t, upName)
			for _, o := range ops {
				write := o.name == "publish" || o.name == "cache-push"
				ms := modes
				if write {
					ms = writeModes
				}
				for _, m := range ms {
					t.Run(o.name+"/"+m.name, func(t *testing.T) {
						f := newFixture(t, upstream)
						if !write {
							f.prepare(t)
						}
						ok := m.ok
						rule := o.rule(f)
						rule.Mode, rule.Times = m.mode, m.times
						f.proxy.Set(rule)
						start := time.Now()
						err := o.run(f, t.Context())
						took := time.Since(start)
						hits := f.proxy.Hits(0)
						f.proxy.Set()
						t.Logf("%.2fs, %d request(s) broken; error: %v", took.Seconds(), hits, err)
						if hits == 0 {
							t.Fatalf("the proxy broke nothing; requests: %v", f.proxy.Log())
						}
						if ok {
							if err != nil {
								t.Fatalf("after one %s: %v", m.mode, err)
							}
							return
						}
						if err == nil {
							t.Fatalf("%s: no error", m.name)
						}
						msg := err.Error()
						if !strings.Contains(msg, f.proxy.Addr()+"/etk/") {
							t.Errorf("error does not name the repository: %v", err)
						}
						if !strings.Contains(msg, "sha256:") && !strings.Contains(msg, ":latest") && !strings.Contains(msg, ":rev-") && !strings.Contains(msg, ":"+f.local.Key) {
							t.Errorf("error names no object: %v", err)
						}
						if took > 20*time.Second {
							t.Errorf("took %s to fail", took)
						}
						if write {
							return
						}
						// Nothing half-written is left to read: the same
						// read through a healthy proxy succeeds.
						if err := o.run(f, t.Context()); err != nil {
							t.Errorf("after the faults: %v", err)
						}
					})
				}
			}
		})
	}
}

func faultUpstream(t *testing.T, name string) string {
	if name == "distribution" {
		needRegistry(t)
		return realRegistry
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// fixture is a repository and a cache in a registry behind a proxy.
type fixture struct {
	t        *testing.T
	proxy    *faultproxy.Proxy
	store    *Store
	cache    *Cache
	key      index.PrivateKey
	trust    index.Trust
	entries  []repository.Entry
	local    *cache.Entry
	repoArt  string // digest of the repository's first artefact
	cacheArt string // digest of the cache entry's artefact
}

func newFixture(t *testing.T, upstream string) *fixture {
	p, err := faultproxy.Start(upstream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	opts := []Option{anonymous, fast, WithTransport(faultTimeouts.Transport())}
	s, err := NewStore(p.Addr()+"/etk/"+randomName("repo-"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(p.Addr()+"/etk/"+randomName("cache-"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, proxy: p, store: s, cache: c, entries: bigEntries(t, 2)}
	f.key, f.trust = publishKey(t)
	var m struct{ Artefact struct{ Digest string } }
	if err := json.Unmarshal(f.entries[0].Metadata, &m); err != nil {
		t.Fatal(err)
	}
	f.repoArt = m.Artefact.Digest
	art := artefactBytes(200, 256<<10)
	f.local = newEntry(t, t.TempDir(), keyOf(randomName("k")), "dev/big", art)
	f.cacheArt = digest(art)
	return f
}

// prepare publishes the repository and pushes the cache entry, unbroken.
func (f *fixture) prepare(t *testing.T) {
	if err := f.publish(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.cachePush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) publish(ctx context.Context) error {
	_, err := repository.Publish(ctx, f.store, f.entries, publishOptions(f.key))
	return err
}

// install reads what etk install reads: the verified revision, then each
// artefact, to its end (where its digest is checked).
func (f *fixture) install(ctx context.Context) error {
	r, err := repository.Open(ctx, f.store, f.trust, 0)
	if err != nil {
		return err
	}
	for _, p := range r.Index.Packages {
		if err := drain(r.FetchArtefact(ctx, p)); err != nil {
			return err
		}
	}
	return nil
}

// verify reads what etk repo verify reads: every metadata and artefact.
func (f *fixture) verify(ctx context.Context) error {
	r, err := repository.Open(ctx, f.store, f.trust, 0)
	if err != nil {
		return err
	}
	for _, p := range r.Index.Packages {
		if err := drain(r.Fetch(ctx, p.Metadata)); err != nil {
			return err
		}
		if err := drain(r.Fetch(ctx, *p.Artefact)); err != nil {
			return err
		}
	}
	return nil
}

func drain(rc io.ReadCloser, err error) error {
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func (f *fixture) cachePush(ctx context.Context) error { return f.cache.Push(ctx, f.local) }

// cacheFetch fetches the entry into a new local cache, as compile
// --cache-repo does, and checks the artefact arrived whole.
func (f *fixture) cacheFetch(ctx context.Context) error {
	lc, err := cache.Open(f.t.TempDir())
	if err != nil {
		return err
	}
	w, err := lc.Create(f.local.Key)
	if err != nil {
		return err
	}
	defer w.Abort()
	found, err := f.cache.Fetch(ctx, f.local.Key, w)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("cache entry %s not found", f.local.Key)
	}
	b, err := os.ReadFile(w.ArtefactPath())
	if err != nil {
		return err
	}
	if digest(b) != f.cacheArt {
		return fmt.Errorf("fetched artefact has digest %s, want %s", digest(b), f.cacheArt)
	}
	return nil
}

package build_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/build/buildtest"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/google/go-cmp/cmp"
)

// A compile through the whole stack on the fake backend: every package
// built once after its inputs, each artefact made from what it was given;
// a second compile builds nothing.
func TestBuildCachedStack(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	c := openCache(t, t.TempDir())
	be := &buildtest.Backend{TempDir: t.TempDir()}

	sum, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(be, c, pr.p, pr.s), build.Options{Jobs: 2})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]build.EventKind{baseID: build.Built, aID: build.Built, bID: build.Built, cID: build.Built, allID: build.Built}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	// The virtual package is metadata alone: the backend never sees it.
	if diff := cmp.Diff(map[string]int{baseID: 1, aID: 1, bID: 1, cID: 1}, be.Builds()); diff != "" {
		t.Errorf("backend builds (-want +got):\n%s", diff)
	}
	for _, r := range sum.Results {
		e, ok := c.Get(r.Step.Key)
		if !ok {
			t.Fatalf("%s: no cache entry", r.Step.ID)
		}
		if r.Outcome.Entry == nil || r.Outcome.Entry.Key != r.Step.Key || r.Outcome.Artefact != e.Artefact {
			t.Errorf("%s: outcome %+v, entry %+v", r.Step.ID, r.Outcome, e)
		}
		var m build.Metadata
		if err := e.ReadMetadata(&m); err != nil {
			t.Fatal(err)
		}
		if m.Key != r.Step.Key || m.ID != r.Step.ID {
			t.Errorf("%s: metadata of %s %s", r.Step.ID, m.ID, m.Key)
		}
		switch {
		case r.Step.Virtual && (m.Artefact != nil || e.Artefact != "" || r.Outcome.Digest != ""):
			t.Errorf("%s: a virtual package has an artefact", r.Step.ID)
		case !r.Step.Virtual && (m.Artefact == nil || r.Outcome.Digest != m.Artefact.Digest || r.Outcome.Size != m.Artefact.Size):
			t.Errorf("%s: outcome %+v, metadata %+v", r.Step.ID, r.Outcome, m.Artefact)
		}
	}

	// c's artefact holds its inputs, transitive ones too, by the digests
	// of the entries they came from.
	digest := func(id string) string {
		return sum.Results[slices.IndexFunc(sum.Results, func(r build.Result) bool { return r.Step.ID == id })].Outcome.Digest
	}
	got := artefactText(t, c, pr.step(t, cID).Key)
	wantInputs := fmt.Sprintf("%s %s\n%s %s\n%s %s\n", baseID, digest(baseID), aID, digest(aID), bID, digest(bID))
	if got["/apps/c/inputs"] != wantInputs {
		t.Errorf("c's inputs:\n%s\nwant:\n%s", got["/apps/c/inputs"], wantInputs)
	}
	if got := artefactText(t, c, pr.step(t, aID).Key); got["/apps/a/ctx/a.sh"] != "#!/bin/sh\necho a\n" {
		t.Errorf("a's artefact: %v", got)
	}

	// History is there for what was built.
	for _, id := range []string{baseID, aID, cID} {
		st := pr.step(t, id)
		if h, ok := c.LastHistory(st.Pkg().Category, st.Pkg().Name); !ok || h.Key != st.Key {
			t.Errorf("%s: history %+v", id, h)
		}
	}

	// Again: everything cached, the backend not called.
	be2 := &buildtest.Backend{}
	sum, err = build.Run(ctx, pr.p, pr.p.Steps, build.New(be2, c, pr.p, pr.s), build.Options{})
	if err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if n := sum.Count(build.Cached); n != len(pr.p.Steps) {
		t.Errorf("second run: %d cached of %d: %v", n, len(pr.p.Steps), states(sum))
	}
	if n := len(be2.Builds()); n != 0 {
		t.Errorf("second run built %v", be2.Builds())
	}

	// The same plan into another cache gives the same bytes.
	c2 := openCache(t, t.TempDir())
	if _, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(&buildtest.Backend{}, c2, pr.p, pr.s), build.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, st := range pr.p.Steps {
		if diff := cmp.Diff(entryFiles(t, c, st.Key), entryFiles(t, c2, st.Key)); diff != "" {
			t.Errorf("%s: entries differ between two caches (-first +second):\n%s", st.ID, diff)
		}
	}
}

// next is a Builder that counts its calls and does what it is told.
type next struct {
	mu    sync.Mutex
	calls int
	do    func(ctx context.Context, s *plan.Step) (build.Outcome, error)
}

func (n *next) Build(ctx context.Context, s *plan.Step, _ build.Log) (build.Outcome, error) {
	n.mu.Lock()
	n.calls++
	n.mu.Unlock()
	return n.do(ctx, s)
}

func TestCaching(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	c := openCache(t, t.TempDir())
	st := pr.step(t, baseID)
	store := build.Storing(c, pr.p, &buildtest.Backend{}, pr.s)
	inner := &next{do: func(ctx context.Context, s *plan.Step) (build.Outcome, error) {
		return store.Build(ctx, s, func(string) {})
	}}
	bl := build.Caching(c, inner)

	first, err := bl.Build(ctx, st, func(string) {})
	if err != nil || first.Cached || inner.calls != 1 {
		t.Fatalf("miss: %+v %v, %d calls", first, err, inner.calls)
	}
	second, err := bl.Build(ctx, st, func(string) {})
	if err != nil || !second.Cached || inner.calls != 1 {
		t.Fatalf("hit: %+v %v, %d calls", second, err, inner.calls)
	}
	first.Cached = true
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("a hit describes the entry otherwise (-built +hit):\n%s", diff)
	}
}

// Two runs, each with a scheduler and a cache of its own on one folder:
// the second waits on the lock of the key the first is building, then
// takes the first's entry. Every key is built once between them.
func TestLockingTwoRuns(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	dir := t.TempDir()
	c1, c2 := openCache(t, dir), openCache(t, dir)
	key := pr.step(t, baseID).Key

	inBuild, release := make(chan struct{}), make(chan struct{})
	be1 := &buildtest.Backend{AfterWrite: func(_ context.Context, s *plan.Step) error {
		if s.ID == baseID {
			close(inBuild)
			<-release
		}
		return nil
	}}
	be2 := &buildtest.Backend{}
	type result struct {
		sum *build.Summary
		err error
	}
	run := func(be build.Backend, c *cache.Cache, out chan<- result) {
		sum, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(be, c, pr.p, pr.s), build.Options{Jobs: 2})
		out <- result{sum, err}
	}
	done1, done2 := make(chan result, 1), make(chan result, 1)
	go run(be1, c1, done1)
	<-inBuild
	go run(be2, c2, done2)
	waitForLockWaiter(t, c1, key)
	close(release)
	r1, r2 := <-done1, <-done2
	if r1.err != nil || r2.err != nil {
		t.Fatalf("runs: %v; %v", r1.err, r2.err)
	}
	builds := be1.Builds()
	for id, n := range be2.Builds() {
		builds[id] += n
	}
	if diff := cmp.Diff(map[string]int{baseID: 1, aID: 1, bID: 1, cID: 1}, builds); diff != "" {
		t.Errorf("builds of both runs (-want +got):\n%s", diff)
	}
	if got := states(r2.sum)[baseID]; got != build.Cached {
		t.Errorf("second run: base %s, want cached", got)
	}
	if got := states(r1.sum)[baseID]; got != build.Built {
		t.Errorf("first run: base %s, want built", got)
	}
}

// Locking answers from the entry another run committed while it waited,
// without calling what it wraps.
func TestLockingFindsTheOthersEntry(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	c := openCache(t, t.TempDir())
	st := pr.step(t, baseID)
	inner := &next{do: func(context.Context, *plan.Step) (build.Outcome, error) { return build.Outcome{}, errors.New("called") }}
	if _, err := build.Storing(c, pr.p, &buildtest.Backend{}, pr.s).Build(ctx, st, func(string) {}); err != nil {
		t.Fatal(err)
	}
	o, err := build.Locking(c, inner).Build(ctx, st, func(string) {})
	if err != nil || !o.Cached || o.Entry == nil || inner.calls != 0 {
		t.Errorf("Locking: %+v %v, %d calls", o, err, inner.calls)
	}
}

func TestRecording(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	c := openCache(t, t.TempDir())
	st := pr.step(t, aID)
	fail := &next{do: func(context.Context, *plan.Step) (build.Outcome, error) { return build.Outcome{}, errors.New("exit 1") }}
	if _, err := build.Recording(c, fail).Build(ctx, st, func(string) {}); err == nil {
		t.Fatal("no error")
	}
	if _, ok := c.LastHistory("apps", "a"); ok {
		t.Error("a failed build was recorded")
	}
	ok := &next{do: func(context.Context, *plan.Step) (build.Outcome, error) { return build.Outcome{}, nil }}
	if _, err := build.Recording(c, ok).Build(ctx, st, func(string) {}); err != nil {
		t.Fatal(err)
	}
	h, found := c.LastHistory("apps", "a")
	if !found {
		t.Fatal("no history")
	}
	var want []cache.Input
	for _, in := range st.Inputs {
		want = append(want, cache.Input(in))
	}
	if diff := cmp.Diff(&cache.History{ID: st.ID, Key: st.Key, Inputs: want}, h); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// One run pushes everything to a remote; a run on an empty cache then
// fetches everything from it and builds nothing, and its entries are
// byte for byte the first run's.
func TestRemoteFetchAndPush(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	remote := &buildtest.Remote{Name: "mem"}
	c1 := openCache(t, t.TempDir())
	if _, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(&buildtest.Backend{}, c1, pr.p, pr.s, build.WithRemote(remote, true)), build.Options{}); err != nil {
		t.Fatal(err)
	}
	if remote.Len() != len(pr.p.Steps) {
		t.Errorf("remote holds %d entries, want %d", remote.Len(), len(pr.p.Steps))
	}

	c2 := openCache(t, t.TempDir())
	be := &buildtest.Backend{}
	sum, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(be, c2, pr.p, pr.s, build.WithRemote(remote, false)), build.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := sum.Count(build.Cached); n != len(pr.p.Steps) || len(be.Builds()) != 0 {
		t.Errorf("fetching run: %v, built %v", states(sum), be.Builds())
	}
	for _, st := range pr.p.Steps {
		if diff := cmp.Diff(entryFiles(t, c1, st.Key), entryFiles(t, c2, st.Key)); diff != "" {
			t.Errorf("%s: fetched entry differs (-pushed +fetched):\n%s", st.ID, diff)
		}
		// A fetched entry is new to this cache: its history says so.
		if h, ok := c2.LastHistory(st.Pkg().Category, st.Pkg().Name); !ok || h.Key != st.Key {
			t.Errorf("%s: no history after fetching", st.ID)
		}
	}
	// A pushing run that finds everything cached still pushes it all.
	other := &buildtest.Remote{Name: "other"}
	if _, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(&buildtest.Backend{}, c2, pr.p, pr.s, build.WithRemote(other, true)), build.Options{}); err != nil {
		t.Fatal(err)
	}
	if other.Len() != len(pr.p.Steps) {
		t.Errorf("cached run pushed %d entries, want %d", other.Len(), len(pr.p.Steps))
	}
}

// Remotes are asked in order; one that fails is logged and skipped, and
// a fetch cut off halfway leaves no entry.
func TestFetchingOrder(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	st := pr.step(t, baseID)
	full := &buildtest.Remote{Name: "full"}
	src := openCache(t, t.TempDir())
	if _, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(&buildtest.Backend{}, src, pr.p, pr.s, build.WithRemote(full, true)), build.Options{}); err != nil {
		t.Fatal(err)
	}
	broken := &buildtest.Remote{Name: "broken"}
	e, _ := src.Get(st.Key)
	if err := broken.Push(ctx, e); err != nil {
		t.Fatal(err)
	}
	broken.FailWith(buildtest.ErrDown)
	empty := &buildtest.Remote{Name: "empty"}

	tests := []struct {
		name    string
		remotes []*buildtest.Remote
		built   bool
		logs    []string
		asked   map[string]int // fetches per remote
	}{
		{"first that has it", []*buildtest.Remote{empty, full}, false, nil, map[string]int{"empty": 1, "full": 1}},
		{"later ones not asked", []*buildtest.Remote{full, empty}, false, nil, map[string]int{"full": 1, "empty": 0}},
		{"a broken one is skipped", []*buildtest.Remote{broken, full}, false, []string{"etk: broken: remote down"}, map[string]int{"broken": 1, "full": 1}},
		{"none has it: built", []*buildtest.Remote{broken, empty}, true, []string{"etk: broken: remote down"}, map[string]int{"broken": 1, "empty": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openCache(t, t.TempDir())
			before := map[string]int{}
			var rs []build.Remote
			for _, r := range tt.remotes {
				before[r.Name], _ = r.Calls()
				rs = append(rs, r)
			}
			be := &buildtest.Backend{}
			var l logs
			o, err := build.Fetching(c, build.Storing(c, pr.p, be, pr.s), rs...).Build(ctx, st, l.log)
			if err != nil {
				t.Fatal(err)
			}
			if o.Cached == tt.built || (be.Builds()[baseID] == 1) != tt.built {
				t.Errorf("outcome %+v, builds %v; want built %v", o, be.Builds(), tt.built)
			}
			if diff := cmp.Diff(entryFiles(t, src, st.Key), entryFiles(t, c, st.Key)); diff != "" {
				t.Errorf("entry (-want +got):\n%s", diff)
			}
			var got []string
			for _, line := range l.lines {
				if strings.HasPrefix(line, "etk: ") {
					got = append(got, line)
				}
			}
			if diff := cmp.Diff(tt.logs, got); diff != "" {
				t.Errorf("log (-want +got):\n%s", diff)
			}
			asked := map[string]int{}
			for _, r := range tt.remotes {
				n, _ := r.Calls()
				asked[r.Name] = n - before[r.Name]
			}
			if diff := cmp.Diff(tt.asked, asked); diff != "" {
				t.Errorf("fetches (-want +got):\n%s", diff)
			}
			if l := leftovers(t, c); len(l) != 0 {
				t.Errorf("scratch left: %v", l)
			}
		})
	}
}

// A push that fails fails the step; the entry stays in the local cache.
func TestPushingFailure(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	c := openCache(t, t.TempDir())
	remote := &buildtest.Remote{Name: "mem"}
	remote.FailWith(buildtest.ErrDown)
	sum, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(&buildtest.Backend{}, c, pr.p, pr.s, build.WithRemote(remote, true)), build.Options{Jobs: 1})
	if !errors.Is(err, buildtest.ErrDown) {
		t.Fatalf("error = %v, want the push's", err)
	}
	if got := states(sum)[baseID]; got != build.Failed {
		t.Errorf("base: %s", got)
	}
	if _, ok := c.Get(pr.step(t, baseID).Key); !ok {
		t.Error("the built entry is gone")
	}
	// An entry-less outcome cannot be pushed.
	bare := &next{do: func(context.Context, *plan.Step) (build.Outcome, error) { return build.Outcome{}, nil }}
	if _, err := build.Pushing(bare, &buildtest.Remote{}).Build(ctx, pr.step(t, baseID), func(string) {}); err == nil {
		t.Error("pushed an outcome without entry")
	}
}

// A build that fails after writing its whole artefact leaves no entry
// and no scratch; its dependents are skipped, the rest built.
func TestBackendFailure(t *testing.T) {
	ctx := context.Background()
	pr := load(t, smallTree())
	c := openCache(t, t.TempDir())
	errExit := errors.New("exit status 3")
	be := &buildtest.Backend{AfterWrite: func(_ context.Context, s *plan.Step) error {
		if s.ID == aID {
			return errExit
		}
		return nil
	}}
	sum, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(be, c, pr.p, pr.s), build.Options{KeepGoing: true})
	if !errors.Is(err, errExit) || !strings.Contains(err.Error(), "build "+aID+": exit status 3") {
		t.Errorf("error = %v", err)
	}
	want := map[string]build.EventKind{baseID: build.Built, aID: build.Failed, bID: build.Built, cID: build.Skipped, allID: build.Built}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if _, ok := c.Get(pr.step(t, aID).Key); ok {
		t.Error("a failed build left an entry")
	}
	if _, ok := c.LastHistory("apps", "a"); ok {
		t.Error("a failed build was recorded")
	}
	if l := leftovers(t, c); len(l) != 0 {
		t.Errorf("scratch left: %v", l)
	}
}

// Cancelling the run while a build is writing leaves no entry.
func TestBackendCancel(t *testing.T) {
	pr := load(t, smallTree())
	c := openCache(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	be := &buildtest.Backend{AfterWrite: func(ctx context.Context, s *plan.Step) error {
		if s.ID == baseID {
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}}
	sum, err := build.Run(ctx, pr.p, pr.p.Steps, build.New(be, c, pr.p, pr.s), build.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	for _, st := range pr.p.Steps {
		if _, ok := c.Get(st.Key); ok && !st.Virtual {
			t.Errorf("%s: an entry after the cancelled run", st.ID)
		}
	}
	if got := states(sum)[baseID]; got != build.Failed {
		t.Errorf("base: %s", got)
	}
	if l := leftovers(t, c); len(l) != 0 {
		t.Errorf("scratch left: %v", l)
	}
}

// A backend whose metadata is not of what it wrote is refused.
func TestStoringChecksTheBackend(t *testing.T) {
	pr := load(t, smallTree())
	c := openCache(t, t.TempDir())
	st := pr.step(t, baseID)
	_, err := build.Storing(c, pr.p, liar{}, pr.s).Build(context.Background(), st, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "the backend wrote 5 bytes, its metadata says 6") {
		t.Errorf("error = %v", err)
	}
	if _, ok := c.Get(st.Key); ok {
		t.Error("an entry from a lying backend")
	}
}

// liar writes five bytes and says six.
type liar struct{}

func (liar) Build(_ context.Context, _ *build.Request, w io.Writer) (*artifact.Metadata, error) {
	_, err := io.WriteString(w, "hello")
	return &artifact.Metadata{Size: 6}, err
}

package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/etk-build/etk/repository"
)

// TestStore runs the read checks and the write checks on the stores
// newStore returns, each fresh and empty.
func TestStore(t *testing.T, newStore func(t *testing.T) repository.Store, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	t.Run("read", func(t *testing.T) {
		TestReadOnly(t, func(t *testing.T) (repository.Store, repository.ReadOnlyStore) {
			s := newStore(t)
			return s, s
		})
	})
	t.Run("put blob", func(t *testing.T) { testPutBlob(t, newStore(t)) })
	t.Run("verification", func(t *testing.T) { testVerification(t, newStore(t)) })
	t.Run("compare and swap", func(t *testing.T) { testCAS(t, newStore(t)) })
	t.Run("increment race", func(t *testing.T) { testIncrementRace(t, newStore(t), o) })
	t.Run("create race", func(t *testing.T) { testCreateRace(t, newStore(t), o) })
	t.Run("cancelled writes", func(t *testing.T) { testCancelledWrites(t, newStore(t)) })
}

// onlyReader hides all but Read, so that a store cannot read the source
// in place (repository/oci does with an io.ReaderAt and io.Seeker).
type onlyReader struct{ io.Reader }

// readers are the shapes of source a PutBlob gets: a file or
// bytes.Reader, and a stream.
var readers = []struct {
	name string
	of   func([]byte) io.Reader
}{
	{"seekable", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"stream", func(b []byte) io.Reader { return onlyReader{bytes.NewReader(b)} }},
}

func testPutBlob(t *testing.T, s repository.Store) {
	ctx := t.Context()
	for i, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			b := content(uint64(30+i), 100<<10)
			d := Digest(b)
			if err := s.PutBlob(ctx, d, int64(len(b)), rd.of(b)); err != nil {
				t.Fatalf("PutBlob: %v", err)
			}
			// Again: a no-op, whatever the source.
			for _, again := range readers {
				if err := s.PutBlob(ctx, d, int64(len(b)), again.of(b)); err != nil {
					t.Errorf("PutBlob again (%s): %v", again.name, err)
				}
			}
			if got, err := readBlob(ctx, s, d); err != nil || !bytes.Equal(got, b) {
				t.Errorf("GetBlob: %d bytes, %v", len(got), err)
			}
			// A negative size is unknown.
			u := content(uint64(40+i), 70<<10)
			if err := s.PutBlob(ctx, Digest(u), -1, rd.of(u)); err != nil {
				t.Fatalf("PutBlob of unknown size: %v", err)
			}
			if got, err := readBlob(ctx, s, Digest(u)); err != nil || !bytes.Equal(got, u) {
				t.Errorf("GetBlob of the blob of unknown size: %d bytes, %v", len(got), err)
			}
		})
	}
	if err := s.PutBlob(ctx, "sha256:../../x", 1, bytes.NewReader([]byte("x"))); err == nil {
		t.Error("PutBlob of a bad digest: no error")
	}
}

// failingReader fails after n bytes of b.
type failingReader struct {
	b []byte
	n int
}

var errSource = errors.New("storetest: the source failed")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errSource
	}
	n := copy(p[:min(len(p), f.n)], f.b)
	f.b, f.n = f.b[n:], f.n-n
	return n, nil
}

// testVerification: a blob whose content is not the digest and size it is
// put under is refused, and nothing of it is kept, under either digest.
func testVerification(t *testing.T, s repository.Store) {
	ctx := t.Context()
	type put struct {
		digest string
		size   int64
		data   []byte // the source's content
		r      func() io.Reader
	}
	cases := []struct {
		name string
		// streamOnly: the source is of its own kind, never seekable.
		streamOnly bool
		put        func(seed uint64, r func([]byte) io.Reader) put
	}{
		{"wrong digest", false, func(seed uint64, r func([]byte) io.Reader) put {
			b := content(seed, 64<<10)
			return put{Digest(content(seed+1, 64<<10)), int64(len(b)), b, func() io.Reader { return r(b) }}
		}},
		{"wrong digest, unknown size", false, func(seed uint64, r func([]byte) io.Reader) put {
			b := content(seed, 64<<10)
			return put{Digest(content(seed+1, 64<<10)), -1, b, func() io.Reader { return r(b) }}
		}},
		{"short: fewer bytes than the size", false, func(seed uint64, r func([]byte) io.Reader) put {
			b := content(seed, 64<<10)
			return put{Digest(b), int64(len(b)) + 1, b, func() io.Reader { return r(b) }}
		}},
		// The first size bytes are the digest's: a store that stops
		// reading at the size would take it.
		{"long: more bytes than the size", false, func(seed uint64, r func([]byte) io.Reader) put {
			b := content(seed, 64<<10)
			return put{Digest(b[:len(b)-1]), int64(len(b)) - 1, b, func() io.Reader { return r(b) }}
		}},
		{"source fails", true, func(seed uint64, _ func([]byte) io.Reader) put {
			b := content(seed, 64<<10)
			return put{Digest(b), int64(len(b)), b, func() io.Reader { return &failingReader{b: b, n: len(b) / 2} }}
		}},
	}
	seed := uint64(100)
	for _, tc := range cases {
		for _, rd := range readers {
			if tc.streamOnly && rd.name != "stream" {
				continue
			}
			seed += 2
			p := tc.put(seed, rd.of)
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				if err := s.PutBlob(ctx, p.digest, p.size, p.r()); err == nil {
					t.Fatalf("PutBlob(%s, %d) of %d other bytes: no error", p.digest, p.size, len(p.data))
				}
				for _, d := range []string{p.digest, Digest(p.data)} {
					if ok, err := s.HasBlob(ctx, d); ok || err != nil {
						t.Errorf("after the failed put, HasBlob(%s) = %v, %v; want false, nil", d, ok, err)
					}
					if _, err := s.GetBlob(ctx, d); !errors.Is(err, repository.ErrNotFound) {
						t.Errorf("after the failed put, GetBlob(%s): %v; want ErrNotFound", d, err)
					}
				}
			})
		}
	}
}

// testCAS: PutRef swaps only from the current value; nil old creates
// only.
func testCAS(t *testing.T, s repository.Store) {
	ctx := t.Context()
	name := repository.ChannelRef("cas")
	a, b, c := []byte("value a"), []byte("value b"), []byte("value c")
	check := func(step string, want []byte) {
		t.Helper()
		got, err := s.GetRef(ctx, name)
		if want == nil {
			if !errors.Is(err, repository.ErrNotFound) {
				t.Errorf("%s: GetRef = %q, %v; want ErrNotFound", step, got, err)
			}
			return
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: GetRef = %q, %v; want %q", step, got, err, want)
		}
	}
	steps := []struct {
		step      string
		old, data []byte
		conflict  bool
		after     []byte
	}{
		{"swap from a value of a missing reference", a, b, true, nil},
		{"create", nil, a, false, a},
		{"create again", nil, b, true, a},
		{"swap from a value it never had", c, b, true, a},
		{"swap from the current value", a, b, false, b},
		{"swap from a value it had before", a, c, true, b},
		{"swap to the same value", b, b, false, b},
		{"swap from an empty value", []byte{}, c, true, b},
	}
	for _, st := range steps {
		err := s.PutRef(ctx, name, st.old, st.data)
		switch {
		case st.conflict && !errors.Is(err, repository.ErrConflict):
			t.Errorf("%s: PutRef: %v, want ErrConflict", st.step, err)
		case !st.conflict && err != nil:
			t.Errorf("%s: PutRef: %v", st.step, err)
		}
		check(st.step, st.after)
	}

	// An empty reference exists: it is not nil, and nil old does not
	// replace it.
	empty := repository.RevisionRef(3)
	if err := s.PutRef(ctx, empty, nil, []byte{}); err != nil {
		t.Fatalf("PutRef of an empty value: %v", err)
	}
	got, err := s.GetRef(ctx, empty)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("GetRef of an empty reference = %#v, %v; want []byte{}", got, err)
	}
	if err := s.PutRef(ctx, empty, nil, a); !errors.Is(err, repository.ErrConflict) {
		t.Errorf("PutRef with nil old over an empty reference: %v, want ErrConflict", err)
	}
	if err := s.PutRef(ctx, empty, got, a); err != nil {
		t.Errorf("PutRef from the empty value: %v", err)
	}
}

// The race: writers goroutines, each making increments successful
// increments of one counter reference.
const (
	writers    = 8
	increments = 4
	// maxAttempts bounds the compare-and-swaps of one increment.
	maxAttempts = 500
)

// counter is the value of the counter reference: the count, and which
// increment of which writer wrote it, so that every write is distinct.
func counter(n, writer, inc int) []byte {
	return []byte(fmt.Sprintf("count %d by %d/%d", n, writer, inc))
}

func parseCounter(b []byte) (int, error) {
	var n, w, i int
	if _, err := fmt.Sscanf(string(b), "count %d by %d/%d", &n, &w, &i); err != nil {
		return 0, fmt.Errorf("counter %q: %w", b, err)
	}
	return n, nil
}

// testIncrementRace: writers increment a counter reference through
// compare-and-swap, retrying on ErrConflict; no increment is lost.
func testIncrementRace(t *testing.T, s repository.Store, o options) {
	ctx := t.Context()
	name := repository.LatestRef
	won := make([][][]byte, writers) // the values each writer was told it wrote
	var errs [writers]error
	done := make(chan int)
	for w := range writers {
		go func() {
			defer func() { done <- w }()
			for inc := range increments {
				ok := false
				for range maxAttempts {
					cur, err := s.GetRef(ctx, name)
					n := 0
					switch {
					case errors.Is(err, repository.ErrNotFound):
						cur = nil
					case err != nil:
						errs[w] = err
						return
					default:
						if n, err = parseCounter(cur); err != nil {
							errs[w] = err
							return
						}
					}
					v := counter(n+1, w, inc)
					err = s.PutRef(ctx, name, cur, v)
					if errors.Is(err, repository.ErrConflict) {
						continue
					}
					if err != nil {
						errs[w] = err
						return
					}
					won[w] = append(won[w], v)
					ok = true
					break
				}
				if !ok {
					errs[w] = fmt.Errorf("increment %d: %d compare-and-swaps all conflicted", inc, maxAttempts)
					return
				}
			}
		}()
	}
	for range writers {
		<-done
	}
	for w, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", w, err)
		}
	}
	final, err := s.GetRef(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	count, err := parseCounter(final)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	finalWon := false
	for _, vs := range won {
		for _, v := range vs {
			n, _ := parseCounter(v)
			counts[n]++
			finalWon = finalWon || bytes.Equal(v, final)
		}
	}
	if !finalWon {
		t.Errorf("the final value %q is none that a writer was told it wrote", final)
	}
	const total = writers * increments
	if o.bestEffortCAS {
		// Increments may be lost (both writers of count n+1 were told
		// they won), never invented.
		if count < 1 || count > total {
			t.Errorf("final count %d, want 1 to %d", count, total)
		}
		t.Logf("best-effort compare-and-swap: %d of %d increments kept", count, total)
		return
	}
	if count != total {
		t.Errorf("final count %d, want %d: increments were lost", count, total)
	}
	var wrong []string
	for n := 1; n <= total; n++ {
		if counts[n] != 1 {
			wrong = append(wrong, fmt.Sprintf("%d (%d times)", n, counts[n]))
		}
	}
	if wrong != nil {
		t.Errorf("each count from 1 to %d must be written once by a writer told it won; these were not: %s", total, strings.Join(wrong, ", "))
	}
}

// testCreateRace: writers create one reference at once (nil old); one
// wins, the others are told ErrConflict.
func testCreateRace(t *testing.T, s repository.Store, o options) {
	ctx := t.Context()
	name := repository.RevisionRef(7)
	var errs [writers]error
	start := make(chan struct{})
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			errs[w] = s.PutRef(ctx, name, nil, []byte(fmt.Sprintf("writer %d", w)))
		}()
	}
	close(start)
	for range writers {
		<-done
	}
	var winners [][]byte
	for w, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, []byte(fmt.Sprintf("writer %d", w)))
		case !errors.Is(err, repository.ErrConflict):
			t.Errorf("writer %d: %v, want nil or ErrConflict", w, err)
		}
	}
	got, err := s.GetRef(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(winners) == 0 || (!o.bestEffortCAS && len(winners) != 1) {
		t.Errorf("%d writers were told they created %s, want 1", len(winners), name)
	}
	if o.bestEffortCAS {
		t.Logf("best-effort compare-and-swap: %d of %d writers were told they created %s", len(winners), writers, name)
	}
	found := false
	for _, w := range winners {
		found = found || bytes.Equal(w, got)
	}
	if !found {
		t.Errorf("%s holds %q, which no writer was told it created", name, got)
	}
}

// endless is a source that never ends: it cancels its put's context once
// it has given cancelAt bytes, and fails (errNotStopped) if it is read on
// for stopWithin more.
type endless struct {
	cancel               context.CancelFunc
	n                    int64
	cancelAt, stopWithin int64
}

var errNotStopped = errors.New("storetest: read on long after the context was cancelled")

func (e *endless) Read(p []byte) (int, error) {
	if e.n >= e.cancelAt {
		e.cancel()
	}
	if e.n >= e.cancelAt+e.stopWithin {
		return 0, errNotStopped
	}
	for i := range p {
		p[i] = byte(e.n + int64(i))
	}
	e.n += int64(len(p))
	return len(p), nil
}

// testCancelledWrites: a put whose context is cancelled, before or while
// it runs, stops with the context's error and writes nothing.
func testCancelledWrites(t *testing.T, s repository.Store) {
	never := Digest([]byte("storetest: an endless source"))
	for _, size := range []int64{-1, 1 << 40} {
		t.Run(fmt.Sprintf("endless source, size %d", size), func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			src := &endless{cancel: cancel, cancelAt: 1 << 20, stopWithin: 64 << 20}
			err := s.PutBlob(ctx, never, size, src)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("PutBlob of an endless source cancelled after %d bytes: %v, want context.Canceled", src.cancelAt, err)
			}
			if ok, err := s.HasBlob(t.Context(), never); ok || err != nil {
				t.Errorf("after the cancelled put, HasBlob = %v, %v; want false, nil", ok, err)
			}
		})
	}

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	b := []byte("storetest: put with a cancelled context")
	for _, rd := range readers {
		if err := s.PutBlob(cancelled, Digest(b), int64(len(b)), rd.of(b)); !errors.Is(err, context.Canceled) {
			t.Errorf("PutBlob (%s) with a cancelled context: %v, want context.Canceled", rd.name, err)
		}
	}
	if ok, err := s.HasBlob(t.Context(), Digest(b)); ok || err != nil {
		t.Errorf("after the cancelled puts, HasBlob = %v, %v; want false, nil", ok, err)
	}

	name := repository.ChannelRef("cancelled")
	if err := s.PutRef(cancelled, name, nil, []byte("a")); !errors.Is(err, context.Canceled) {
		t.Errorf("PutRef (create) with a cancelled context: %v, want context.Canceled", err)
	}
	if got, err := s.GetRef(t.Context(), name); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("after the cancelled create, GetRef = %q, %v; want ErrNotFound", got, err)
	}
	putRef(t, s, name, []byte("a"))
	if err := s.PutRef(cancelled, name, []byte("a"), []byte("b")); !errors.Is(err, context.Canceled) {
		t.Errorf("PutRef (swap) with a cancelled context: %v, want context.Canceled", err)
	}
	if got, err := s.GetRef(t.Context(), name); err != nil || string(got) != "a" {
		t.Errorf("after the cancelled swap, GetRef = %q, %v; want %q", got, err, "a")
	}
}

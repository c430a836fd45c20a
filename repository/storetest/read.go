package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// OpenReadOnly returns a fresh, empty repository: seed writes to it, r
// reads it (the same store, or a web server in front of seed's folder).
// Anything the repository needs removed afterwards is left to t.Cleanup.
type OpenReadOnly func(t *testing.T) (seed repository.Store, r repository.ReadOnlyStore)

// Option adjusts the suite to a store.
type Option func(*options)

type options struct {
	bestEffortCAS bool
}

// BestEffortCAS says that the store's compare-and-swap can lose an update
// to a writer that interleaves exactly between its compare and its swap,
// as repository/oci documents for registries, which cannot update a tag
// conditionally. The race checks then hold the store to what it still
// promises: every PutRef that returned nil wrote its value, a writer
// overwritten before it read its value back is told ErrConflict, so the
// final value is always one whose writer was told it won; and no more
// increments are counted than were made. Without it, no increment may be
// lost and exactly one of the writers creating a reference wins.
func BestEffortCAS() Option { return func(o *options) { o.bestEffortCAS = true } }

// TestReadOnly runs the read checks on the repositories open returns.
func TestReadOnly(t *testing.T, open OpenReadOnly) {
	t.Run("blobs", func(t *testing.T) { testBlobs(t, open) })
	t.Run("refs", func(t *testing.T) { testRefs(t, open) })
	t.Run("bad names", func(t *testing.T) { testBadNames(t, open) })
	t.Run("ref size limit", func(t *testing.T) { testRefLimit(t, open) })
	t.Run("cancelled reads", func(t *testing.T) { testCancelledReads(t, open) })
	t.Run("concurrent reads", func(t *testing.T) { testConcurrentReads(t, open) })
}

// Digest is the digest of b, as stores name blobs.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// content is n pseudo-random bytes of seed: the same for the same
// arguments, unlike for others.
func content(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func putBlob(t *testing.T, s repository.Store, b []byte) string {
	t.Helper()
	d := Digest(b)
	if err := s.PutBlob(t.Context(), d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatalf("PutBlob %s (%d bytes): %v", d, len(b), err)
	}
	return d
}

func putRef(t *testing.T, s repository.Store, name string, data []byte) {
	t.Helper()
	if err := s.PutRef(t.Context(), name, nil, data); err != nil {
		t.Fatalf("PutRef %s: %v", name, err)
	}
}

// readBlob reads all of blob d.
func readBlob(ctx context.Context, r repository.ReadOnlyStore, d string) ([]byte, error) {
	rc, err := r.GetBlob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// absent is a well-formed digest of nothing stored.
var absent = Digest([]byte("storetest: never stored"))

func testBlobs(t *testing.T, open OpenReadOnly) {
	seed, r := open(t)
	ctx := t.Context()
	blobs := [][]byte{[]byte(`{"small":true}`), content(1, 3<<20+5), {}}
	var digests []string
	for _, b := range blobs {
		digests = append(digests, putBlob(t, seed, b))
	}
	for i, d := range digests {
		if ok, err := r.HasBlob(ctx, d); !ok || err != nil {
			t.Errorf("HasBlob(%s) = %v, %v; want true", d, ok, err)
		}
		got, err := readBlob(ctx, r, d)
		if err != nil {
			t.Errorf("GetBlob(%s): %v", d, err)
		} else if !bytes.Equal(got, blobs[i]) {
			t.Errorf("GetBlob(%s): %d bytes, not the %d put", d, len(got), len(blobs[i]))
		}
	}
	if ok, err := r.HasBlob(ctx, absent); ok || err != nil {
		t.Errorf("HasBlob(absent) = %v, %v; want false, nil", ok, err)
	}
	if _, err := r.GetBlob(ctx, absent); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("GetBlob(absent): %v, want ErrNotFound", err)
	}
}

// refNames are names every store has a place for (repository/oci maps
// only these to tags).
var refNames = []string{repository.LatestRef, repository.RevisionRef(1), repository.RevisionRef(12), repository.ChannelRef("stable")}

func testRefs(t *testing.T, open OpenReadOnly) {
	seed, r := open(t)
	ctx := t.Context()
	for _, name := range refNames {
		if _, err := r.GetRef(ctx, name); !errors.Is(err, repository.ErrNotFound) {
			t.Errorf("GetRef(%s) of an empty repository: %v, want ErrNotFound", name, err)
		}
	}
	want := map[string][]byte{}
	for i, name := range refNames {
		want[name] = []byte(fmt.Sprintf(`{"ref":%q,"n":%d}`, name, i))
		putRef(t, seed, name, want[name])
	}
	for _, name := range refNames {
		if got, err := r.GetRef(ctx, name); err != nil || !bytes.Equal(got, want[name]) {
			t.Errorf("GetRef(%s) = %q, %v; want %q", name, got, err, want[name])
		}
	}
	if _, err := r.GetRef(ctx, repository.RevisionRef(2)); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("GetRef(%s): %v, want ErrNotFound", repository.RevisionRef(2), err)
	}
}

func testBadNames(t *testing.T, open OpenReadOnly) {
	_, r := open(t)
	ctx := t.Context()
	for _, d := range []string{"", "sha256:../../etc/passwd", "sha256:" + strings.Repeat("A", 64), "md5:" + strings.Repeat("0", 32), absent + "/x"} {
		if ok, err := r.HasBlob(ctx, d); err == nil || ok {
			t.Errorf("HasBlob(%q) = %v, %v; want an error", d, ok, err)
		}
		if rc, err := r.GetBlob(ctx, d); err == nil || errors.Is(err, repository.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("GetBlob(%q): %v; want an error other than ErrNotFound", d, err)
		}
	}
	for _, name := range []string{"", "../latest", "snapshots/../../x", "/latest", "Latest"} {
		if _, err := r.GetRef(ctx, name); err == nil || errors.Is(err, repository.ErrNotFound) {
			t.Errorf("GetRef(%q): %v; want an error other than ErrNotFound", name, err)
		}
	}
}

// testRefLimit: a reference of index.MaxRefSize bytes is read, one of a
// byte more is refused with index.ErrTooLarge, by the writer that is
// asked to store it or by the reader.
func testRefLimit(t *testing.T, open OpenReadOnly) {
	seed, r := open(t)
	ctx := t.Context()
	full := content(2, index.MaxRefSize)
	putRef(t, seed, repository.RevisionRef(1), full)
	if got, err := r.GetRef(ctx, repository.RevisionRef(1)); err != nil || !bytes.Equal(got, full) {
		t.Errorf("GetRef of a reference of index.MaxRefSize bytes: %d bytes, %v", len(got), err)
	}
	over := content(3, index.MaxRefSize+1)
	if err := seed.PutRef(ctx, repository.LatestRef, nil, over); err != nil {
		if !errors.Is(err, index.ErrTooLarge) {
			t.Errorf("PutRef of %d bytes: %v, want index.ErrTooLarge or success", len(over), err)
		}
		return
	}
	if got, err := r.GetRef(ctx, repository.LatestRef); !errors.Is(err, index.ErrTooLarge) {
		t.Errorf("GetRef of a reference of %d bytes: %d bytes, %v; want index.ErrTooLarge", len(over), len(got), err)
	}
}

func testCancelledReads(t *testing.T, open OpenReadOnly) {
	seed, r := open(t)
	big := content(4, 4<<20)
	d := putBlob(t, seed, big)
	putRef(t, seed, repository.LatestRef, []byte("ref"))

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.GetRef(cancelled, repository.LatestRef); !errors.Is(err, context.Canceled) {
		t.Errorf("GetRef with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := readBlob(cancelled, r, d); !errors.Is(err, context.Canceled) {
		t.Errorf("GetBlob with a cancelled context: %v, want context.Canceled", err)
	}

	// Cancelled in the middle of the body: the rest is not delivered.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rc, err := r.GetBlob(ctx, d)
	if err != nil {
		t.Fatalf("GetBlob: %v", err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1)); err != nil {
		t.Fatalf("GetBlob: first byte: %v", err)
	}
	cancel()
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("reading a blob on after its context is cancelled: %d more bytes, %v; want context.Canceled", n, err)
	}
}

// testConcurrentReads: readers of the same blobs and references at once
// each get them whole.
func testConcurrentReads(t *testing.T, open OpenReadOnly) {
	seed, r := open(t)
	var blobs [][]byte
	var digests []string
	for i := range 4 {
		b := content(uint64(10+i), 256<<10+i)
		blobs = append(blobs, b)
		digests = append(digests, putBlob(t, seed, b))
	}
	ref := []byte("the latest reference")
	putRef(t, seed, repository.LatestRef, ref)
	ctx := t.Context()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range digests {
				i := (g + j) % len(digests)
				got, err := readBlob(ctx, r, digests[i])
				if err != nil || !bytes.Equal(got, blobs[i]) {
					t.Errorf("reader %d: GetBlob(%s): %d bytes, %v", g, digests[i], len(got), err)
				}
				if got, err := r.GetRef(ctx, repository.LatestRef); err != nil || !bytes.Equal(got, ref) {
					t.Errorf("reader %d: GetRef: %q, %v", g, got, err)
				}
			}
		}()
	}
	wg.Wait()
}

package dir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etk-build/etk/repository"
)

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func TestBlobs(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello")
	d := digest(data)
	if ok, _ := s.HasBlob(ctx, d); ok {
		t.Fatal("blob exists before put")
	}
	if err := s.PutBlob(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	rc, err := s.GetBlob(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Errorf("got %q", got)
	}
	// Wrong content for a digest: refused, nothing stored.
	bad := digest([]byte("other"))
	if err := s.PutBlob(ctx, bad, 5, bytes.NewReader(data)); err == nil {
		t.Error("a blob whose content does not match its digest was stored")
	}
	if ok, _ := s.HasBlob(ctx, bad); ok {
		t.Error("mismatching blob left behind")
	}
	if _, err := s.GetBlob(ctx, bad); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("missing blob: %v", err)
	}
	for _, d := range []string{"sha256:../../etc/passwd", "md5:00", ""} {
		if _, err := s.HasBlob(ctx, d); err == nil {
			t.Errorf("digest %q accepted", d)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(s.root, ".tmp")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestRefsCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	s, _ := Open(t.TempDir())
	if _, err := s.GetRef(ctx, "latest"); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("missing ref: %v", err)
	}
	if err := s.PutRef(ctx, "latest", nil, []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRef(ctx, "latest", nil, []byte("x")); !errors.Is(err, repository.ErrConflict) {
		t.Errorf("create over existing: %v", err)
	}
	if err := s.PutRef(ctx, "latest", []byte("0"), []byte("x")); !errors.Is(err, repository.ErrConflict) {
		t.Errorf("stale old value: %v", err)
	}
	if err := s.PutRef(ctx, "latest", []byte("1"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRef(ctx, "snapshots/2", nil, []byte("snap")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"../x", "/abs", "a/../b", "UPPER"} {
		if err := s.PutRef(ctx, n, nil, []byte("x")); err == nil {
			t.Errorf("reference name %q accepted", n)
		}
	}
	// Many writers racing from the same old value: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.PutRef(ctx, "latest", []byte("2"), []byte{byte('a' + i)}) == nil {
				wins <- i
			}
		}()
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Errorf("%d writers won the same swap", n)
	}
}

// TestPutRefWaitsUntilCancelled: a publisher waiting for the lock another
// holds stops when its context is done, and writes nothing.
func TestPutRefWaitsUntilCancelled(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(root, ".tmp", "refs.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := s.PutRef(ctx, repository.LatestRef, nil, []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PutRef while another holds the lock: %v, want context.DeadlineExceeded", err)
	}
	if _, err := s.GetRef(t.Context(), repository.LatestRef); !errors.Is(err, repository.ErrNotFound) {
		t.Errorf("GetRef after the cancelled PutRef: %v, want ErrNotFound", err)
	}
	// Released, the next publisher takes it.
	syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if err := s.PutRef(t.Context(), repository.LatestRef, nil, []byte("x")); err != nil {
		t.Errorf("PutRef once the lock is released: %v", err)
	}
}

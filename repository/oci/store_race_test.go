package oci

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/etk-build/etk/repository"
)

// racer runs hook once the test arms it, on the next PUT of the manifest
// tagged tag, before or after serving it.
func racer(tag string, after bool, armed *atomic.Bool, hook func()) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/manifests/"+tag) || !armed.CompareAndSwap(true, false) {
				h.ServeHTTP(w, r)
				return
			}
			if after {
				h.ServeHTTP(w, r)
				hook()
				return
			}
			hook()
			h.ServeHTTP(w, r)
		})
	}
}

// TestPutRefLosesRace: a writer that moves the tag between our write and
// our read-back is seen.
func TestPutRefLosesRace(t *testing.T) {
	a, b, c := []byte("a"), []byte("b"), []byte("c")
	for _, tc := range []struct {
		name, ref, tag string
		before         []byte // the value before, if any
	}{
		{"swap", "latest", "latest", a},
		{"create", "snapshots/7", "rev-7", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var armed atomic.Bool
			var other *Store
			var otherErr error
			s, repo := newStoreRegistry(t, racer(tc.tag, true, &armed, func() {
				otherErr = other.PutRef(context.Background(), tc.ref, b, c)
			}))
			other = newTestStore(t, repo)
			if tc.before != nil {
				if err := s.PutRef(t.Context(), tc.ref, nil, tc.before); err != nil {
					t.Fatal(err)
				}
			}
			armed.Store(true)
			err := s.PutRef(t.Context(), tc.ref, tc.before, b)
			if !errors.Is(err, repository.ErrConflict) {
				t.Errorf("PutRef overwritten before its read-back: %v, want ErrConflict", err)
			}
			if otherErr != nil {
				t.Errorf("the other writer: %v", otherErr)
			}
			if got, err := s.GetRef(t.Context(), tc.ref); err != nil || !bytes.Equal(got, c) {
				t.Errorf("GetRef = %q, %v; want the other writer's %q", got, err, c)
			}
		})
	}
}

// TestPutRefUnseenRace pins the race the Store's doc comment admits: a
// writer whose write and read-back fall between our read and our write
// is overwritten, and both think they won.
func TestPutRefUnseenRace(t *testing.T) {
	ours, theirs := []byte("ours"), []byte("theirs")
	var armed atomic.Bool
	armed.Store(true)
	var other *Store
	var otherErr error
	s, repo := newStoreRegistry(t, racer("rev-3", false, &armed, func() {
		otherErr = other.PutRef(context.Background(), "snapshots/3", nil, theirs)
	}))
	other = newTestStore(t, repo)
	if err := s.PutRef(t.Context(), "snapshots/3", nil, ours); err != nil {
		t.Errorf("ours: %v", err)
	}
	if otherErr != nil {
		t.Errorf("theirs: %v", otherErr)
	}
	if got, _ := s.GetRef(t.Context(), "snapshots/3"); !bytes.Equal(got, ours) {
		t.Errorf("GetRef = %q, want the last writer's %q", got, ours)
	}
}

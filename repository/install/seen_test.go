//go:build linux

package install

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/etk-build/etk/repository/seen"
)

func TestSeen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	boom := errors.New("refused")
	// A refusal in a fresh root leaves it empty.
	if err := e.root.Seen(ctx, func(*seen.State) error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got := snapshot(t, e.dir); len(got) != 0 {
		t.Errorf("a refused check wrote %v", got)
	}
	add := func(s *seen.State) error {
		s.Repositories = append(s.Repositories, seen.Repository{Name: "os", Revision: 2, Snapshot: "sha256:x"})
		return nil
	}
	if err := e.root.Seen(ctx, add); err != nil {
		t.Fatal(err)
	}
	var got []seen.Repository
	if err := e.root.Seen(ctx, func(s *seen.State) error { got = s.Repositories; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Revision != 2 {
		t.Errorf("remembered %+v", got)
	}
	// A symlink planted in its place is not followed.
	p := filepath.Join(e.dir, "var/lib/etk/seen.json")
	os.Remove(p)
	if err := os.Symlink(filepath.Join(e.outside, "victim"), p); err != nil {
		t.Fatal(err)
	}
	if err := e.root.Seen(ctx, add); err == nil {
		t.Error("read through a symlink")
	}
	e.checkOutside(t)
}

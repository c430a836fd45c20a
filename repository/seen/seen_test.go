package seen_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/memstore"
	"github.com/etk-build/etk/repository/seen"
)

// history publishes n revisions of repository name, signed by k, into a
// store in memory, and returns the store and each revision's snapshot.
func history(t *testing.T, k index.PrivateKey, name, salt string, n int) (repository.Store, []*index.Snapshot) {
	t.Helper()
	s := memstore.New()
	var snaps []*index.Snapshot
	for i := 1; i <= n; i++ {
		art := []byte(fmt.Sprintf("artefact %s %d", salt, i))
		sum := sha256.Sum256(art)
		p := filepath.Join(t.TempDir(), "a")
		if err := os.WriteFile(p, art, 0o644); err != nil {
			t.Fatal(err)
		}
		meta := fmt.Sprintf(`{"id":"c/p@%d","category":"c","name":"p","version":"%d","key":"k%d","artefact":{"digest":"sha256:%s","size":%d}}`, i, i, i, hex.EncodeToString(sum[:]), len(art))
		res, err := repository.Publish(context.Background(), s, []repository.Entry{{Metadata: []byte(meta), Artefact: p}},
			repository.PublishOptions{Name: name, Key: k, Time: time.Unix(1000, 0)})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, res.Snapshot)
	}
	return s, snaps
}

func newKey(t *testing.T) index.PrivateKey {
	k, err := index.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func payload(t *testing.T, s *index.Snapshot) string {
	d, err := s.PayloadDigest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestContinues(t *testing.T) {
	ctx := context.Background()
	k := newKey(t)
	s, snaps := history(t, k, "os", "a", 4)
	_, forked := history(t, k, "os", "b", 4) // the same name and key, another history
	fs, _ := history(t, k, "os", "b", 4)
	at := func(i int) seen.Point { return seen.Point{Revision: snaps[i].Revision, Payload: payload(t, snaps[i])} }
	for _, tt := range []struct {
		name string
		b    seen.Blobs
		snap *index.Snapshot
		p    seen.Point
		want error
	}{
		{"same revision", s, snaps[1], at(1), nil},
		{"next revision", s, snaps[2], at(1), nil},
		{"three revisions on", s, snaps[3], at(0), nil},
		{"by envelope digest", s, snaps[3], seen.Point{Revision: 1, Envelope: snaps[1].Previous.Digest}, nil},
		{"rolled back", s, snaps[0], at(2), index.ErrRollback},
		{"forked, same revision", fs, forked[1], at(1), index.ErrWrongRepository},
		{"forked, later revision", fs, forked[3], at(1), index.ErrWrongRepository},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := seen.Continues(ctx, tt.b, tt.snap, tt.p)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Continues: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckRepository(t *testing.T) {
	ctx := context.Background()
	k := newKey(t)
	s, snaps := history(t, k, "os", "a", 3)
	fs, forked := history(t, k, "os", "b", 3)
	os2, other := history(t, k, "other", "c", 1)
	st, err := seen.Decode(nil)
	if err != nil {
		t.Fatal(err)
	}
	const loc = "https://mirror.example/os"
	keys := []string{index.KeyID(k.Public().(index.PublicKey))}
	remember := func(snap *index.Snapshot, allow seen.Allow) {
		t.Helper()
		if err := st.RememberRepository(loc, snap, keys, allow); err != nil {
			t.Fatal(err)
		}
	}
	check := func(b seen.Blobs, snap *index.Snapshot, allow seen.Allow, want error) {
		t.Helper()
		err := st.CheckRepository(ctx, b, loc, snap, keys, allow)
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Fatalf("CheckRepository(revision %d of %s): %v, want %v", snap.Revision, snap.Name, err, want)
		}
	}
	check(s, snaps[1], seen.Allow{}, nil) // first seen: trusted
	remember(snaps[1], seen.Allow{})
	check(s, snaps[0], seen.Allow{}, index.ErrRollback)
	check(s, snaps[0], seen.Allow{Rollback: true}, nil)
	check(fs, forked[2], seen.Allow{}, index.ErrWrongRepository)
	check(fs, forked[2], seen.Allow{Rollback: true}, index.ErrWrongRepository)
	check(fs, forked[2], seen.Allow{Change: true}, nil)
	check(os2, other[0], seen.Allow{}, index.ErrWrongRepository) // the URL served "os"
	check(s, snaps[2], seen.Allow{}, nil)
	remember(snaps[2], seen.Allow{})
	remember(snaps[0], seen.Allow{}) // a slower concurrent client: kept at 3
	if got := st.Repositories[0].Revision; got != 3 {
		t.Errorf("remembered revision %d, want 3", got)
	}
	remember(snaps[0], seen.Allow{Rollback: true}) // accepted explicitly
	if got := st.Repositories[0].Revision; got != 1 {
		t.Errorf("remembered revision %d after an allowed rollback, want 1", got)
	}
	remember(other[0], seen.Allow{Change: true})
	b, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := seen.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []seen.Repository{
		{Name: "os", Revision: 1, Snapshot: payload(t, snaps[0]), Keys: keys},
		{Name: "other", Revision: 1, Snapshot: payload(t, other[0]), Keys: keys, URLs: []string{loc}},
	}
	if diff := cmp.Diff(want, back.Repositories); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	// The same name signed by other keys (a project's own test
	// repository) is another repository, remembered apart.
	k2 := newKey(t)
	s2, mine := history(t, k2, "os", "d", 1)
	keys2 := []string{index.KeyID(k2.Public().(index.PublicKey))}
	if err := st.CheckRepository(ctx, s2, "/elsewhere", mine[0], keys2, seen.Allow{}); err != nil {
		t.Fatalf("same name, other keys: %v", err)
	}
	if err := st.RememberRepository("/elsewhere", mine[0], keys2, seen.Allow{}); err != nil {
		t.Fatal(err)
	}
	if len(st.Repositories) != 3 {
		t.Errorf("%d repositories remembered, want 3", len(st.Repositories))
	}
	if err := st.CheckRepository(ctx, s, "/fresh", snaps[1], keys, seen.Allow{}); err != nil {
		t.Errorf("os of the first key, one revision on: %v", err)
	}
}

func TestChannel(t *testing.T) {
	st, err := seen.Decode(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := func(repo string, seq int64, versions ...string) *index.Channel {
		ch := &index.Channel{Name: repo, Channel: "stable", Sequence: seq}
		for _, v := range versions {
			ch.Entries = append(ch.Entries, index.ChannelEntry{Version: v, Image: "r/os:" + v, Digest: "sha256:" + v})
		}
		return ch
	}
	const loc = "/srv/repo"
	keys := []string{"k1"}
	mustRemember := func(ch *index.Channel, allow seen.Allow) {
		t.Helper()
		if err := st.CheckChannel(loc, ch, keys, allow); err != nil {
			t.Fatalf("check %d: %v", ch.Sequence, err)
		}
		if err := st.RememberChannel(loc, ch, keys, allow); err != nil {
			t.Fatal(err)
		}
	}
	mustRemember(c("os", 2, "1", "2"), seen.Allow{})
	if err := st.CheckChannel(loc, c("os", 1, "1"), keys, seen.Allow{}); !errors.Is(err, index.ErrRollback) {
		t.Errorf("older sequence: %v", err)
	}
	if err := st.CheckChannel(loc, c("os", 2, "1", "3"), keys, seen.Allow{}); !errors.Is(err, index.ErrWrongRepository) {
		t.Errorf("same sequence, other content: %v", err)
	}
	if err := st.CheckChannel(loc, c("other", 9, "1"), keys, seen.Allow{}); !errors.Is(err, index.ErrWrongRepository) {
		t.Errorf("another repository's channel at the same place: %v", err)
	}
	mustRemember(c("os", 3, "1", "2", "3"), seen.Allow{})
	mustRemember(c("os", 1, "1"), seen.Allow{Rollback: true})
	if got := st.Channels[0].Sequence; got != 1 {
		t.Errorf("sequence %d after an allowed rollback, want 1", got)
	}
}

func TestLocation(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:secret@host/repo?token=x": "https://host/repo",
		"oci://user:secret@host:5000/os":        "oci://host:5000/os",
		"/srv/repo":                             "/srv/repo",
	} {
		if got := seen.Location(in); got != want || strings.Contains(got, "secret") {
			t.Errorf("Location(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUpdateFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "etk", "seen.json")
	k := newKey(t)
	_, snaps := history(t, k, "os", "a", 1)
	if err := seen.UpdateFile(ctx, path, func(s *seen.State) error { return s.RememberRepository("/r", snaps[0], []string{"k1"}, seen.Allow{}) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := seen.UpdateFile(ctx, path, func(s *seen.State) error { s.Repositories = nil; return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	var got []seen.Repository
	seen.UpdateFile(ctx, path, func(s *seen.State) error { got = s.Repositories; return nil })
	if len(got) != 1 || got[0].Name != "os" {
		t.Errorf("state after a failed update: %+v", got)
	}
	if err := os.WriteFile(path, []byte(`{"format":"other"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := seen.UpdateFile(ctx, path, func(*seen.State) error { return nil }); err == nil {
		t.Error("a state of another format accepted")
	}
}

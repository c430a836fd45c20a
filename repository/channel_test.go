package repository_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

func TestChannels(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { testChannels(t, st.open(t)) })
	}
}

func testChannels(t *testing.T, s repository.Store) {
	ctx := context.Background()
	k, trust := key(t)
	entry := func(v string) index.ChannelEntry {
		return index.ChannelEntry{Version: v, Image: "r/os:" + v, Digest: "sha256:" + v, Published: time.Unix(1, 0).UTC()}
	}
	if _, err := repository.ReadChannel(ctx, s, trust, "stable"); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("no channel yet: %v", err)
	}
	for _, v := range []string{"0.1.0", "0.2.0", "0.1.0"} {
		if _, err := repository.PublishChannel(ctx, s, k, "test", "stable", entry(v)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := repository.ReadChannel(ctx, s, trust, "stable")
	if err != nil {
		t.Fatal(err)
	}
	// Republishing a version moves it to the end: it is the newest.
	if len(c.Entries) != 2 || c.Entries[0].Version != "0.2.0" || c.Entries[1].Version != "0.1.0" {
		t.Errorf("entries: %+v", c.Entries)
	}
	// Each publication counts, so readers can tell an older channel.
	if c.Sequence != 3 {
		t.Errorf("sequence %d after 3 publications", c.Sequence)
	}
	// Racing publishers lose no entry.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := repository.PublishChannel(ctx, s, k, "test", "stable", entry("1."+string(rune('0'+i)))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if c, _ = repository.ReadChannel(ctx, s, trust, "stable"); len(c.Entries) != 10 || c.Sequence != 11 {
		t.Errorf("after 8 racing publishers: %d entries, sequence %d; want 10, 11", len(c.Entries), c.Sequence)
	}
	_, other := key(t)
	if _, err := repository.ReadChannel(ctx, s, other, "stable"); !errors.Is(err, index.ErrUntrusted) {
		t.Errorf("untrusted: %v", err)
	}
	if _, err := repository.ReadChannel(ctx, s, trust, "../x"); err == nil {
		t.Error("bad channel name accepted")
	}
}

package index

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestChannelSignVerify(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := GenerateKey()
	c := &Channel{Name: "etk-foundation", Channel: "stable", Entries: []ChannelEntry{
		{Version: "0.1.0", Image: "r/os:0.1.0", Digest: "sha256:" + string(bytes.Repeat([]byte("a"), 64)), Revision: 1, Published: time.Unix(100, 0).UTC()},
	}}
	env, err := SignChannel(c, k)
	if err != nil {
		t.Fatal(err)
	}
	trust := Trust{Keys: []PublicKey{k.Public().(PublicKey)}}
	got, err := trust.VerifyChannel(env)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := got.Latest(); !ok || e.Version != "0.1.0" || got.Channel != "stable" {
		t.Errorf("channel: %+v", got)
	}
	if _, err := (Trust{Keys: []PublicKey{other.Public().(PublicKey)}}).VerifyChannel(env); !errors.Is(err, ErrUntrusted) {
		t.Errorf("untrusted key: %v", err)
	}
	tampered := bytes.Replace(env, []byte(`"payload": "`), []byte(`"payload": "e`), 1)
	if _, err := trust.VerifyChannel(tampered); err == nil {
		t.Error("a tampered channel was accepted")
	}
	if _, err := (Trust{Keys: trust.Keys, Name: "other"}).VerifyChannel(env); !errors.Is(err, ErrWrongRepository) {
		t.Errorf("wrong repository: %v", err)
	}
	// A signed snapshot is not a channel, even with the same key.
	snap, _ := Sign(&Snapshot{Name: "x", Revision: 1, Index: Blob{Digest: c.Entries[0].Digest, Size: 1}, Timestamp: time.Unix(1, 0), Expires: time.Unix(2, 0)}, k)
	b, _ := snap.Encode()
	if _, err := trust.VerifyChannel(b); err == nil {
		t.Error("a snapshot passed for a channel")
	}
}

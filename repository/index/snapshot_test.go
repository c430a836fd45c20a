package index

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	k1, k2, k3 = testKey("one"), testKey("two"), testKey("three")
	stranger   = testKey("stranger")
)

func mustSign(t *testing.T, s *Snapshot, keys ...ed25519.PrivateKey) *Signed {
	t.Helper()
	signed, err := Sign(s, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// resign signs payload as Sign would, whatever the payload holds.
func resign(payload []byte, keys ...PrivateKey) *Signed {
	s := &Signed{Payload: payload}
	for _, k := range keys {
		s.Signatures = append(s.Signatures, Signature{KeyID: KeyID(pub(k)), Sig: ed25519.Sign(k, pae(payload))})
	}
	return s
}

func TestSignVerify(t *testing.T) {
	snap := sampleSnapshot()
	signed := mustSign(t, snap, k1)
	got, err := Trust{Keys: []PublicKey{pub(k1)}, Now: t0.Add(time.Hour), Name: "etk-demo", MinRevision: 3}.Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(snap, got); diff != "" {
		t.Errorf("Verify (-signed +got):\n%s", diff)
	}
	if again := mustSign(t, snap, k1); !bytes.Equal(again.Signatures[0].Sig, signed.Signatures[0].Sig) || !bytes.Equal(again.Payload, signed.Payload) {
		t.Error("signing twice gives other bytes")
	}
}

func TestSignNormalizesTimes(t *testing.T) {
	snap := sampleSnapshot()
	zone := time.FixedZone("CET", 3600)
	snap.Timestamp = t0.In(zone).Add(400 * time.Millisecond)
	snap.Expires = snap.Expires.In(zone)
	snap.Format = ""
	got, err := Trust{Keys: []PublicKey{pub(k1)}, Now: t0}.Verify(mustSign(t, snap, k1))
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != SnapshotFormat || got.Timestamp != t0 || got.Expires != t0.Add(30*24*time.Hour) {
		t.Errorf("got format %q, times %v, %v; want %q, UTC whole seconds", got.Format, got.Timestamp, got.Expires, SnapshotFormat)
	}
}

func TestSignGolden(t *testing.T) {
	publisher := testKey("publisher")
	signed := mustSign(t, sampleSnapshot(), publisher)
	b, err := signed.Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "snapshot.json", b)
	golden(t, "snapshot.payload.json", signed.Payload)
	p, err := MarshalPublicKey(pub(publisher))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "etk.pub", p)

	// A client with the public key file verifies the envelope file.
	key, err := ReadPublicKeyFile("testdata/etk.pub")
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := DecodeSigned(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (Trust{Keys: []PublicKey{key}, Now: t0}).Verify(decoded); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyErrors(t *testing.T) {
	snap := sampleSnapshot()
	good := mustSign(t, snap, k1, k2)
	trust12 := Trust{Keys: []PublicKey{pub(k1), pub(k2)}, Now: t0.Add(time.Hour)}

	flipped := bytes.Clone(good.Payload)
	flipped[len(flipped)/2] ^= 0x01
	later := *snap
	later.Revision++
	laterPayload, err := later.encode()
	if err != nil {
		t.Fatal(err)
	}
	badSig := *good
	badSig.Signatures = []Signature{{KeyID: KeyID(pub(k1)), Sig: bytes.Repeat([]byte{7}, ed25519.SignatureSize)}}
	shortSig := *good
	shortSig.Signatures = []Signature{{KeyID: KeyID(pub(k1)), Sig: []byte{1, 2, 3}}}
	sameKeyTwice := resign(good.Payload, k1, k1)
	nonCanonical := bytes.Replace(good.Payload, []byte(`"revision": 3`), []byte(`"Revision": 3`), 1)
	spaced := append(bytes.Clone(good.Payload), ' ')
	unknownField := bytes.Replace(good.Payload, []byte(`"revision": 3,`), []byte(`"revision": 3, "extra": 1,`), 1)
	duplicateKey := bytes.Replace(good.Payload, []byte(`"revision": 3,`), []byte(`"revision": 9, "revision": 3,`), 1)
	expired := *snap
	expired.Expires = t0.Add(time.Minute)

	tests := []struct {
		name   string
		trust  Trust
		signed *Signed
		kind   error  // nil for success
		msg    string // in the message
	}{
		{"good", trust12, good, nil, ""},
		{"flipped byte", trust12, &Signed{Payload: flipped, Signatures: good.Signatures}, ErrBadSignature, "does not match the snapshot"},
		{"other revision", trust12, &Signed{Payload: laterPayload, Signatures: good.Signatures}, ErrBadSignature, KeyID(pub(k1)) + ", " + KeyID(pub(k2))},
		{"signature of other bytes", trust12, &badSig, ErrBadSignature, KeyID(pub(k1))},
		{"short signature", trust12, &shortSig, ErrBadSignature, ""},
		{"no signatures", trust12, &Signed{Payload: good.Payload}, ErrUnsigned, "no signature"},
		{"nil", trust12, nil, ErrUnsigned, ""},
		{"stranger", trust12, mustSign(t, snap, stranger), ErrUntrusted, "signed only by key " + KeyID(pub(stranger)) + ", which is not trusted (trusted: "},
		{"garbage by a stranger", trust12, resign([]byte("not json"), stranger), ErrUntrusted, ""},
		{"garbage, bad signature", trust12, &Signed{Payload: []byte("{"), Signatures: good.Signatures}, ErrBadSignature, ""},
		{"stranger beside a trusted key", trust12, mustSign(t, snap, k1, stranger), nil, ""},
		{"unknown key id quoted", trust12, &Signed{Payload: good.Payload, Signatures: []Signature{{KeyID: "x\ny", Sig: []byte{1}}}}, ErrUntrusted, `"x\ny"`},

		{"2 of 3", Trust{Keys: []PublicKey{pub(k1), pub(k2), pub(k3)}, Threshold: 2, Now: t0}, mustSign(t, snap, k1, k3), nil, ""},
		{"1 of 3, 2 needed", Trust{Keys: []PublicKey{pub(k1), pub(k2), pub(k3)}, Threshold: 2, Now: t0}, mustSign(t, snap, k2), ErrUntrusted, "signed by 1 trusted key (" + KeyID(pub(k2)) + ") but 2 are required"},
		{"one key twice, 2 needed", Trust{Keys: []PublicKey{pub(k1), pub(k2), pub(k3)}, Threshold: 2, Now: t0}, sameKeyTwice, ErrUntrusted, "signed by 1 trusted key"},
		{"2 good, 1 bad, 2 needed", Trust{Keys: []PublicKey{pub(k1), pub(k2), pub(k3)}, Threshold: 2, Now: t0},
			&Signed{Payload: good.Payload, Signatures: append(good.Signatures, Signature{KeyID: KeyID(pub(k3)), Sig: []byte("bad")})}, nil, ""},
		{"1 good, 1 bad, 2 needed", Trust{Keys: []PublicKey{pub(k1), pub(k2), pub(k3)}, Threshold: 2, Now: t0},
			&Signed{Payload: good.Payload, Signatures: append(good.Signatures[:1:1], Signature{KeyID: KeyID(pub(k3)), Sig: []byte("bad")})}, ErrBadSignature, KeyID(pub(k3))},

		{"expired", Trust{Keys: []PublicKey{pub(k1)}, Now: t0.Add(2 * time.Minute)}, mustSign(t, &expired, k1), ErrExpired,
			"snapshot of etk-demo revision 3 expired at 2026-03-04T20:30:17Z (1m0s ago); the repository may be frozen"},
		{"expires now", Trust{Keys: []PublicKey{pub(k1)}, Now: t0.Add(time.Minute)}, mustSign(t, &expired, k1), ErrExpired, ""},
		{"expired, clock now", Trust{Keys: []PublicKey{pub(k1)}}, mustSign(t, &expired, k1), ErrExpired, ""},
		{"rollback", Trust{Keys: []PublicKey{pub(k1)}, Now: t0, MinRevision: 4}, good, ErrRollback, "revision 3 is older than revision 4 already seen"},
		{"same revision again", Trust{Keys: []PublicKey{pub(k1)}, Now: t0, MinRevision: 3}, good, nil, ""},
		{"wrong repository", Trust{Keys: []PublicKey{pub(k1)}, Now: t0, Name: "other"}, good, ErrWrongRepository, `it is of repository "etk-demo", not "other"`},
		{"right repository", Trust{Keys: []PublicKey{pub(k1)}, Now: t0, Name: "etk-demo"}, good, nil, ""},

		{"signed non-canonical", trust12, resign(nonCanonical, k1), ErrMalformed, "not in canonical form"},
		{"signed trailing space", trust12, resign(spaced, k1), ErrMalformed, "not in canonical form"},
		{"signed duplicate key", trust12, resign(duplicateKey, k1), ErrMalformed, "not in canonical form"},
		{"signed unknown field", trust12, resign(unknownField, k1), ErrMalformed, `unknown field "extra"`},
		{"signed garbage", trust12, resign([]byte("not json"), k1), ErrMalformed, "decode snapshot: 1:2: invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.trust.Verify(tt.signed)
			if tt.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(snap, got); diff != "" {
					t.Errorf("Verify (-signed +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Verify: %v, want %v", err, tt.kind)
			}
			if got != nil {
				t.Errorf("Verify returned a snapshot with error %v", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error\n\t%v\nwant it to contain\n\t%s", err, tt.msg)
			}
		})
	}
}

func TestVerifyTrustErrors(t *testing.T) {
	signed := mustSign(t, sampleSnapshot(), k1)
	tests := []struct {
		name  string
		trust Trust
		want  string
	}{
		{"no keys", Trust{}, "no trusted key"},
		{"threshold above keys", Trust{Keys: []PublicKey{pub(k1), pub(k1)}, Threshold: 2}, "threshold 2 cannot be met by 1 distinct trusted keys"},
		{"negative threshold", Trust{Keys: []PublicKey{pub(k1)}, Threshold: -1}, "threshold -1"},
		{"short key", Trust{Keys: []PublicKey{pub(k1)[:5]}}, "trusted key 1 is 5 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.trust.Verify(signed)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	edit := func(f func(*Snapshot)) *Snapshot {
		s := sampleSnapshot()
		f(s)
		return s
	}
	tests := []struct {
		name string
		snap *Snapshot
		keys []PrivateKey
		want string
	}{
		{"no key", sampleSnapshot(), nil, "no signing key"},
		{"short key", sampleSnapshot(), []PrivateKey{k1[:10]}, "key 1 is 10 bytes"},
		{"format", edit(func(s *Snapshot) { s.Format = "etk-snapshot/v0" }), []PrivateKey{k1}, `format "etk-snapshot/v0"`},
		{"no name", edit(func(s *Snapshot) { s.Name = "" }), []PrivateKey{k1}, "no repository name"},
		{"revision 0", edit(func(s *Snapshot) { s.Revision = 0 }), []PrivateKey{k1}, "revision 0, want 1 or more"},
		{"no index", edit(func(s *Snapshot) { s.Index = Blob{} }), []PrivateKey{k1}, "index: digest"},
		{"bad previous", edit(func(s *Snapshot) { s.Previous = &Blob{Digest: "sha256:x"} }), []PrivateKey{k1}, "previous: digest"},
		{"no timestamp", edit(func(s *Snapshot) { s.Timestamp = time.Time{} }), []PrivateKey{k1}, "no timestamp"},
		{"expires first", edit(func(s *Snapshot) { s.Expires = s.Timestamp }), []PrivateKey{k1}, "not after its timestamp"},
		{"year 10000", edit(func(s *Snapshot) { s.Expires = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), []PrivateKey{k1}, "outside the years"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sign(tt.snap, tt.keys...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Sign: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSignDistinctKeys(t *testing.T) {
	signed := mustSign(t, sampleSnapshot(), k2, k1, k2)
	var ids []string
	for _, s := range signed.Signatures {
		ids = append(ids, s.KeyID)
	}
	want := []string{KeyID(pub(k1)), KeyID(pub(k2))}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("key ids (-want +got):\n%s", diff)
	}
}

func TestSignedRoundTrip(t *testing.T) {
	for _, signed := range []*Signed{
		mustSign(t, sampleSnapshot(), k1),
		mustSign(t, sampleSnapshot(), k1, k2, k3),
		{Payload: []byte("anything")},
	} {
		b, err := signed.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeSigned(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(signed, got, cmpOpts); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestDecodeSignedErrors(t *testing.T) {
	good, err := mustSign(t, sampleSnapshot(), k1).Encode()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("%q not in the sample", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "decode signed snapshot: empty"},
		{"unknown field", edit(`"payloadType"`, `"extra": 1, "payloadType"`), `unknown field "extra"`},
		{"payload type", edit(PayloadType, "application/json"), `payload type "application/json"`},
		{"no payload", edit(`"payload": "`, `"payload": "", "x": "`), `unknown field "x"`},
		{"bad base64", edit(`"payload": "`, `"payload": "!`), "illegal base64"},
		{"no key id", edit(`"keyid": "`+KeyID(pub(k1)), `"keyid": "`), "signatures[0]: no key id"},
		{"trailing data", append(bytes.Clone(good), "[]"...), "data after the end"},
		{"too big", append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxSignedSize)...), "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeSigned(tt.data)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("DecodeSigned: %v, want ErrMalformed with %q", err, tt.want)
			}
		})
	}
	if _, err := (&Signed{}).Encode(); err == nil {
		t.Error("Encode of an empty envelope succeeded")
	}
	var w wireSigned
	_ = decodeJSON("x", good, &w)
	w.Payload = nil
	b, _ := encodeJSON(&w)
	if _, err := DecodeSigned(b); err == nil || !strings.Contains(err.Error(), "no payload") {
		t.Errorf("DecodeSigned without payload: %v", err)
	}
}

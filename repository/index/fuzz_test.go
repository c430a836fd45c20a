package index

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeIndex: DecodeIndex never panics, fails only with ErrMalformed,
// and what it accepts encodes to bytes it decodes to the same index.
func FuzzDecodeIndex(f *testing.F) {
	if b, err := os.ReadFile("testdata/index.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"format":"etk-index/v1","name":"r","packages":[]}`))
	f.Add([]byte(`{"format":"etk-index/v1","name":"r","packages":[{"id":"a@1","name":"a","version":"1","key":"k","metadata":{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":0}}]}`))
	f.Add([]byte(`{"format":"etk-index/v1","packages":[{},{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := DecodeIndex(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		b, err := x.Encode()
		if err != nil {
			t.Fatalf("decoded index does not encode: %v", err)
		}
		y, err := DecodeIndex(b)
		if err != nil {
			t.Fatalf("encoded index does not decode: %v\n%s", err, b)
		}
		if diff := cmp.Diff(x, y, cmpOpts); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		if b2, _ := y.Encode(); !bytes.Equal(b, b2) {
			t.Fatalf("encodings differ:\n%s\n%s", b, b2)
		}
	})
}

// FuzzDecodeSigned: DecodeSigned and Verify never panic, and Verify
// accepts nothing but what a trusted key signed.
func FuzzDecodeSigned(f *testing.F) {
	if b, err := os.ReadFile("testdata/snapshot.json"); err == nil {
		f.Add(b)
	}
	signed, err := Sign(sampleSnapshot(), k1)
	if err != nil {
		f.Fatal(err)
	}
	good, err := signed.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"payload":"e30=","payloadType":"application/vnd.etk.snapshot.v1+json","signatures":[{"keyid":"x","sig":""}]}`))
	trust := Trust{Keys: []PublicKey{pub(k1), pub(k2)}, Now: t0}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSigned(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if _, err := s.Encode(); err != nil {
			t.Fatalf("decoded envelope does not encode: %v", err)
		}
		snap, err := trust.Verify(s)
		if err == nil && !bytes.Equal(s.Payload, signed.Payload) {
			t.Fatalf("verified a payload k1 never signed:\n%s", s.Payload)
		}
		if err == nil && snap.Revision != 3 {
			t.Fatalf("verified revision %d", snap.Revision)
		}
	})
}

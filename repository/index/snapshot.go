package index

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SnapshotFormat versions Snapshot.
const SnapshotFormat = "etk-snapshot/v1"

// PayloadType is the DSSE payload type of a signed snapshot.
const PayloadType = "application/vnd.etk.snapshot.v1+json"

// Snapshot is one revision of a repository: which index is current, from
// when and until when. It is what publishers sign and clients verify
// before they trust any other byte of the repository.
type Snapshot struct {
	// Format is SnapshotFormat; Sign fills it in when empty.
	Format string `json:"format"`
	// Name is the repository's name.
	Name string `json:"name"`
	// Revision counts the publications of the repository from 1.
	Revision int64 `json:"revision"`
	// Index is the index.json of this revision.
	Index Blob `json:"index"`
	// Timestamp is when the snapshot was published: the caller passes
	// SOURCE_DATE_EPOCH or the time. Times are UTC, whole seconds.
	Timestamp time.Time `json:"timestamp"`
	// Expires is when clients stop trusting the snapshot, so that a frozen
	// mirror cannot serve an old revision forever.
	Expires time.Time `json:"expires"`
	// Previous is the previous revision's signed envelope, a chain for
	// history and audit; nil for revision 1.
	Previous *Blob `json:"previous,omitempty"`
}

// encode returns the canonical JSON of s, the bytes Sign signs.
func (s *Snapshot) encode() ([]byte, error) {
	w := *s
	if w.Format == "" {
		w.Format = SnapshotFormat
	}
	w.Timestamp = w.Timestamp.UTC().Truncate(time.Second)
	w.Expires = w.Expires.UTC().Truncate(time.Second)
	if err := w.validate(); err != nil {
		return nil, err
	}
	return encodeJSON(&w)
}

func (s *Snapshot) validate() error {
	var errs problems
	if s.Format != SnapshotFormat {
		errs.add("format %q, want %q (a snapshot of another etk version?)", clip(s.Format), SnapshotFormat)
	}
	if s.Name == "" {
		errs.add("no repository name")
	}
	if s.Revision < 1 {
		errs.add("revision %d, want 1 or more", s.Revision)
	}
	if err := s.Index.validate(); err != nil {
		errs.add("index: %v", err)
	} else if s.Index.Size > MaxIndexSize {
		errs.add("index: %d bytes, more than the %s an index may be", s.Index.Size, humanBytes(MaxIndexSize))
	}
	if s.Previous != nil {
		if err := s.Previous.validate(); err != nil {
			errs.add("previous: %v", err)
		}
	}
	switch {
	case s.Timestamp.IsZero():
		errs.add("no timestamp")
	case !inJSONRange(s.Timestamp) || !inJSONRange(s.Expires):
		errs.add("a time outside the years 1 to 9999")
	case !s.Expires.After(s.Timestamp):
		errs.add("expires at %s, not after its timestamp %s", s.Expires.Format(time.RFC3339), s.Timestamp.Format(time.RFC3339))
	}
	return errs.err()
}

func inJSONRange(t time.Time) bool { return t.Year() >= 1 && t.Year() <= 9999 }

// decodeSnapshot parses a payload whose signature was verified. It must be
// canonical: JSON admits several texts of one value (duplicate keys, keys
// in another case, other spacing), and a signature is over one text only.
func decodeSnapshot(data []byte) (*Snapshot, error) {
	var s Snapshot
	if err := decodeJSON("decode snapshot", data, &s); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	if b, err := s.encode(); err != nil || !bytes.Equal(b, data) {
		return nil, malformed("decode snapshot: not in canonical form; the publisher's etk wrote it wrong — upgrade it and publish again")
	}
	return &s, nil
}

// Signed is a signed snapshot: a DSSE envelope
// (https://github.com/secure-systems-lab/dsse) whose payload is the
// snapshot's canonical JSON.
type Signed struct {
	// Payload is the snapshot, byte for byte as signed.
	Payload []byte
	// Signatures are sorted by key id.
	Signatures []Signature
}

// Signature is one key's ed25519 signature of a payload.
type Signature struct {
	// KeyID is KeyID of the public key, which says which trusted key to
	// check the signature with.
	KeyID string
	Sig   []byte
}

// The envelope's JSON follows DSSE, hence "payloadType" and "keyid"
// rather than snake_case: DSSE tools can read and check it.
type wireSigned struct {
	Payload     []byte          `json:"payload"`
	PayloadType string          `json:"payloadType"`
	Signatures  []wireSignature `json:"signatures"`
}

type wireSignature struct {
	KeyID string `json:"keyid"`
	Sig   []byte `json:"sig"`
}

// Sign signs the canonical JSON of s with each key, once per distinct key.
// Ed25519 signatures are deterministic, so the same snapshot and keys give
// the same envelope.
func Sign(s *Snapshot, keys ...ed25519.PrivateKey) (*Signed, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("sign snapshot: no signing key")
	}
	payload, err := s.encode()
	if err != nil {
		return nil, fmt.Errorf("sign snapshot: %w", err)
	}
	msg := pae(payload)
	out := &Signed{Payload: payload}
	for i, k := range keys {
		if len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("sign snapshot: key %d is %d bytes, not an ed25519 private key", i+1, len(k))
		}
		id := KeyID(k.Public().(ed25519.PublicKey))
		if slices.ContainsFunc(out.Signatures, func(s Signature) bool { return s.KeyID == id }) {
			continue
		}
		out.Signatures = append(out.Signatures, Signature{KeyID: id, Sig: ed25519.Sign(k, msg)})
	}
	sortSignatures(out.Signatures)
	return out, nil
}

// pae is DSSE's pre-authentication encoding of a snapshot payload, what
// the keys sign: it binds the payload type, so that no other document
// signed by the same key can pass for a snapshot.
func pae(payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(PayloadType)))
	b.WriteString(" " + PayloadType + " ")
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

func sortSignatures(sigs []Signature) {
	slices.SortStableFunc(sigs, func(a, b Signature) int { return strings.Compare(a.KeyID, b.KeyID) })
}

// Encode returns the envelope's JSON, payload and signatures in base64,
// signatures sorted by key id, with a trailing newline.
func (s *Signed) Encode() ([]byte, error) {
	w := wireSigned{Payload: s.Payload, PayloadType: PayloadType, Signatures: []wireSignature{}}
	sigs := slices.Clone(s.Signatures)
	sortSignatures(sigs)
	for _, sig := range sigs {
		w.Signatures = append(w.Signatures, wireSignature(sig))
	}
	if len(w.Payload) == 0 {
		return nil, fmt.Errorf("encode signed snapshot: empty payload")
	}
	return encodeJSON(&w)
}

// DecodeSigned decodes an envelope strictly. It checks the form only:
// Trust.Verify checks the signatures and only then reads the payload.
func DecodeSigned(data []byte) (*Signed, error) {
	if len(data) > MaxSignedSize {
		return nil, malformed("decode signed snapshot: %d bytes, more than the %d a snapshot can be", len(data), MaxSignedSize)
	}
	var w wireSigned
	if err := decodeJSON("decode signed snapshot", data, &w); err != nil {
		return nil, err
	}
	var errs problems
	if w.PayloadType != PayloadType {
		errs.add("payload type %q, want %q", clip(w.PayloadType), PayloadType)
	}
	if len(w.Payload) == 0 {
		errs.add("no payload")
	}
	s := &Signed{Payload: w.Payload}
	for i, sig := range w.Signatures {
		if sig.KeyID == "" {
			errs.add("signatures[%d]: no key id", i)
		}
		s.Signatures = append(s.Signatures, Signature(sig))
	}
	if err := errs.err(); err != nil {
		return nil, fmt.Errorf("decode signed snapshot: %w", err)
	}
	return s, nil
}

package index

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// What a client remembers of a repository, to tell a later revision of it
// from a rollback or from another repository signed by the same key, is
// built on these: the digest of a snapshot's signed bytes, and the chain
// of Previous envelopes.

// PayloadDigest is "sha256:<hex>" of the snapshot's canonical JSON: the
// bytes its signatures sign, so the same whichever keys signed it.
func (s *Snapshot) PayloadDigest() (string, error) {
	b, err := s.encode()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return digestPrefix + hex.EncodeToString(sum[:]), nil
}

// DecodePrevious decodes env, the signed envelope of an earlier revision
// that a verified snapshot names as its Previous (b). Its bytes are
// trusted through that digest, not through its own signatures (which may
// be by keys no longer trusted), so they are checked against b and the
// signatures are not.
func DecodePrevious(b Blob, env []byte) (*Snapshot, error) {
	if err := CheckDigest(b, env); err != nil {
		return nil, fmt.Errorf("previous revision: %w", err)
	}
	s, err := DecodeSigned(env)
	if err != nil {
		return nil, fmt.Errorf("previous revision: %w", err)
	}
	snap, err := decodeSnapshot(s.Payload)
	if err != nil {
		return nil, fmt.Errorf("previous revision: %w", err)
	}
	return snap, nil
}

// Digest is "sha256:<hex>" of the channel's canonical JSON, what
// SignChannel signs.
func (c *Channel) Digest() (string, error) {
	w := *c
	if w.Format == "" {
		w.Format = ChannelFormat
	}
	b, err := encodeJSON(&w)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return digestPrefix + hex.EncodeToString(sum[:]), nil
}

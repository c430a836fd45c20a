package index

import (
	"crypto/ed25519"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Trust is what a client trusts of a repository.
type Trust struct {
	// Keys are the public keys whose signatures count.
	Keys []PublicKey
	// Threshold is how many distinct keys of Keys must have signed; 0
	// means 1.
	Threshold int
	// MinRevision is the newest revision the client saw before; an older
	// snapshot is a rollback. 0 accepts any.
	MinRevision int64
	// Now is the time to check expiry against; zero means time.Now().
	Now time.Time
	// Name is the expected repository name; "" accepts any.
	Name string
}

// Verify checks the signatures of s and returns the snapshot they sign,
// or an error to be checked with errors.Is against ErrUnsigned,
// ErrUntrusted, ErrBadSignature, ErrMalformed, ErrWrongRepository,
// ErrRollback and ErrExpired, in the order Verify checks them. Nothing of
// the payload is read before Threshold trusted keys are found to have
// signed exactly its bytes, and the snapshot returned is decoded from those
// bytes. Signatures by unknown keys, and bad signatures beside enough good
// ones, are ignored: a repository can add a key before clients trust it.
func (t Trust) Verify(s *Signed) (*Snapshot, error) {
	threshold := t.Threshold
	if threshold == 0 {
		threshold = 1
	}
	trusted := make(map[string]PublicKey, len(t.Keys))
	for i, k := range t.Keys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("verify snapshot: trusted key %d is %d bytes, not an ed25519 public key", i+1, len(k))
		}
		trusted[KeyID(k)] = k
	}
	if len(trusted) == 0 {
		return nil, fmt.Errorf("verify snapshot: no trusted key; pass the repository's public key")
	}
	if threshold < 0 || threshold > len(trusted) {
		return nil, fmt.Errorf("verify snapshot: threshold %d cannot be met by %d distinct trusted keys", threshold, len(trusted))
	}
	if s == nil || len(s.Signatures) == 0 {
		return nil, &kindError{kind: ErrUnsigned, msg: "verify snapshot: it carries no signature: the repository was published without a signing key, or the signatures were stripped — publish it signed, or fetch it from the repository's own location"}
	}

	msg := pae(s.Payload)
	var good, bad, unknown []string
	for _, sig := range s.Signatures {
		k, ok := trusted[sig.KeyID]
		switch {
		case !ok:
			unknown = appendNew(unknown, sig.KeyID)
		case ed25519.Verify(k, msg, sig.Sig):
			good = appendNew(good, sig.KeyID)
		default:
			bad = appendNew(bad, sig.KeyID)
		}
	}
	if len(good) < threshold {
		switch {
		case len(bad) > 0:
			return nil, &kindError{kind: ErrBadSignature, msg: fmt.Sprintf(
				"verify snapshot: the signature of trusted key %s does not match the snapshot: it was changed after signing, or is corrupt — do not use this repository copy; fetch it again from the repository's own location",
				joinIDs(bad))}
		case len(good) == 0:
			return nil, &kindError{kind: ErrUntrusted, msg: fmt.Sprintf(
				"verify snapshot: signed only by key %s, which is not trusted (trusted: %s) — if the repository changed its key, get the new public key from its maintainers and trust it",
				joinIDs(unknown), listIDs(trusted))}
		default:
			return nil, &kindError{kind: ErrUntrusted, msg: fmt.Sprintf(
				"verify snapshot: signed by %d trusted key (%s) but %d are required — sign it with more of the trusted keys, or lower the threshold",
				len(good), joinIDs(good), threshold)}
		}
	}

	snap, err := decodeSnapshot(s.Payload)
	if err != nil {
		return nil, fmt.Errorf("verify snapshot: %w", err)
	}
	if t.Name != "" && snap.Name != t.Name {
		return nil, &kindError{kind: ErrWrongRepository, msg: fmt.Sprintf(
			"verify snapshot: it is of repository %q, not %q — check the repository's URL, or a mirror serves another repository at it",
			clip(snap.Name), t.Name)}
	}
	if snap.Revision < t.MinRevision {
		return nil, &kindError{kind: ErrRollback, msg: fmt.Sprintf(
			"verify snapshot of %s: revision %d is older than revision %d already seen — a mirror or cache serves an old snapshot; fetch it from the repository's own location, or wait for the mirror to catch up",
			snap.Name, snap.Revision, t.MinRevision)}
	}
	now := t.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !now.Before(snap.Expires) {
		return nil, &kindError{kind: ErrExpired, msg: fmt.Sprintf(
			"snapshot of %s revision %d expired at %s (%s ago); the repository may be frozen, or a mirror serves a stale copy — publish again to sign a fresh snapshot, or fetch it from the repository's own location; check this machine's clock if the time looks wrong",
			snap.Name, snap.Revision, snap.Expires.Format(time.RFC3339), now.Sub(snap.Expires).Truncate(time.Second))}
	}
	return snap, nil
}

func appendNew(ids []string, id string) []string {
	if slices.Contains(ids, id) {
		return ids
	}
	return append(ids, id)
}

// joinIDs lists key ids for a message. An unknown id comes from the
// envelope, so it is quoted unless it looks like one, and a long list is
// cut.
func joinIDs(ids []string) string {
	const most = 5
	shown := make([]string, 0, most+1)
	for i, id := range ids {
		if i == most {
			shown = append(shown, fmt.Sprintf("and %d more", len(ids)-most))
			break
		}
		if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
			id = strconv.Quote(clip(id))
		}
		shown = append(shown, id)
	}
	return strings.Join(shown, ", ")
}

func listIDs(m map[string]PublicKey) string {
	ids := slices.Sorted(maps.Keys(m))
	return joinIDs(ids)
}

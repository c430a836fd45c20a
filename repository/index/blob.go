package index

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Blob names a file by content: what the index says of an artefact or a
// metadata.json, and what a snapshot says of the index.
type Blob struct {
	// Digest is "sha256:" and the 64 lower-case hex digits of the bytes.
	Digest string `json:"digest"`
	// Size is the length of the bytes.
	Size int64 `json:"size"`
	// MediaType says what the bytes are, when the reader cannot know.
	MediaType string `json:"media_type,omitempty"`
}

// Media types of the blobs etk publishes and caches: the one set, which
// every store, cache and reader uses.
const (
	MediaTypeIndex    = "application/vnd.etk.index.v1+json"
	MediaTypeSigned   = "application/vnd.etk.snapshot.v1.dsse+json"
	MediaTypeArtefact = "application/vnd.etk.artefact.v1.tar+zstd"
	MediaTypeMetadata = "application/vnd.etk.package.metadata.v1+json"
	MediaTypeTree     = "application/vnd.etk.tree.v1.tar+zstd"
)

const digestPrefix = "sha256:"

// NewBlob describes data.
func NewBlob(data []byte, mediaType string) Blob {
	sum := sha256.Sum256(data)
	return Blob{Digest: digestPrefix + hex.EncodeToString(sum[:]), Size: int64(len(data)), MediaType: mediaType}
}

// validate checks the form of b, not its bytes.
func (b Blob) validate() error {
	hexPart, ok := strings.CutPrefix(b.Digest, digestPrefix)
	if !ok || len(hexPart) != 2*sha256.Size || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return fmt.Errorf("digest %q is not sha256:<64 lower-case hex digits>", clip(b.Digest))
	}
	if b.Size < 0 {
		return fmt.Errorf("negative size %d", b.Size)
	}
	return nil
}

// CheckDigest returns an ErrDigestMismatch error unless data has b's size
// and digest.
func CheckDigest(b Blob, data []byte) error {
	if err := b.validate(); err != nil {
		return fmt.Errorf("check blob: %w", err)
	}
	if got := NewBlob(data, b.MediaType); got.Size != b.Size || got.Digest != b.Digest {
		return mismatch(b, got.Size, got.Digest)
	}
	return nil
}

// VerifyBlob returns a reader of r's bytes that checks them against b: it
// fails as soon as r holds more than b.Size bytes, and at the end of r
// returns an ErrDigestMismatch error instead of io.EOF when the size or the
// digest differ. The bytes it yields are unverified until Read returns
// io.EOF, so write them somewhere temporary and use them only then. The
// error is for a malformed b.
func VerifyBlob(b Blob, r io.Reader) (io.Reader, error) {
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("verify blob: %w", err)
	}
	return &verifier{want: b, r: r, h: sha256.New()}, nil
}

type verifier struct {
	want Blob
	r    io.Reader
	h    hash.Hash
	n    int64
	err  error // sticky once set
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	// Read one byte past the size at most, to see an overlong blob
	// without reading all of it.
	if room := v.want.Size - v.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := v.r.Read(p)
	if v.n+int64(n) > v.want.Size {
		n = int(v.want.Size - v.n)
		v.h.Write(p[:n])
		v.n += int64(n)
		v.err = &kindError{kind: ErrDigestMismatch, msg: fmt.Sprintf(
			"blob %s: more than the %d bytes the index names; the source serves another file (or a stale one) — fetch it again, or republish",
			v.want.Digest, v.want.Size)}
		return n, v.err
	}
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		digest := digestPrefix + hex.EncodeToString(v.h.Sum(nil))
		if v.n != v.want.Size || digest != v.want.Digest {
			v.err = mismatch(v.want, v.n, digest)
			return n, v.err
		}
		v.err = io.EOF
	} else if err != nil {
		v.err = err
	}
	return n, err
}

func mismatch(want Blob, size int64, digest string) error {
	return &kindError{kind: ErrDigestMismatch, msg: fmt.Sprintf(
		"blob %s: got %d bytes with digest %s, want %d bytes; the source serves another file (or a stale or truncated one) — fetch it again, or republish",
		want.Digest, size, digest, want.Size)}
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

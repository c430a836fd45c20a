package index

import (
	"errors"

	"github.com/etk-build/etk/compiler/artifact"
)

// Errors, checked with errors.Is. The errors Verify and the decoders return
// carry a longer message that says what happened and what to do; these
// sentinels only classify them.
var (
	// ErrMalformed: bytes that do not follow one of the formats (an index,
	// a snapshot, a signed envelope, a key file).
	ErrMalformed = errors.New("malformed")
	// ErrDigestMismatch: a blob's bytes are not the ones its digest and
	// size name.
	ErrDigestMismatch = artifact.ErrDigestMismatch
	// ErrUnsigned: a signed envelope carries no signature.
	ErrUnsigned = errors.New("unsigned")
	// ErrUntrusted: fewer trusted keys signed a snapshot than the trust
	// threshold asks, usually none: it is signed only by unknown keys.
	ErrUntrusted = errors.New("untrusted")
	// ErrBadSignature: a trusted key's signature does not match the
	// payload, which was therefore changed after signing.
	ErrBadSignature = errors.New("bad signature")
	// ErrExpired: a validly signed snapshot is past its expiry time.
	ErrExpired = errors.New("expired")
	// ErrRollback: a validly signed snapshot is older than one the client
	// already saw.
	ErrRollback = errors.New("rollback")
	// ErrWrongRepository: a validly signed snapshot is of another
	// repository than the one asked for.
	ErrWrongRepository = errors.New("wrong repository")
	// ErrTooLarge: a file of a repository is larger than the limit of its
	// kind (limits.go), or than the size its signed index gives.
	ErrTooLarge = errors.New("too large")
)

// kindError is an error whose message is written for a user and whose
// kind is one of the sentinels above.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

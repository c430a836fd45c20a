package image

import (
	"errors"

	"github.com/etk-build/etk/compiler/artifact"
)

// Errors, checked with errors.Is.
var (
	// ErrBadConfig: a Config that cannot make an image (no name, a
	// package without ID or key, a label Build sets itself).
	ErrBadConfig = errors.New("bad image config")
	// ErrBadArtefact: an artefact is not a zstd tar in the artefact
	// format. It is compiler/artifact's, so that errors.Is holds across
	// the two packages.
	ErrBadArtefact = artifact.ErrBadArtefact
	// ErrArtefactChanged: reading a layer again gave other bytes than
	// Build hashed; an artefact's opener returned different content.
	ErrArtefactChanged = errors.New("artefact changed since the image was built")
)

package image

import "errors"

// Errors, checked with errors.Is.
var (
	// ErrBadConfig: a Config that cannot make an image (no name, a
	// package without ID or key, a label Build sets itself).
	ErrBadConfig = errors.New("bad image config")
	// ErrBadArtefact: an artefact is not a zstd tar in the artefact
	// format.
	ErrBadArtefact = errors.New("bad artefact")
	// ErrArtefactChanged: reading a layer again gave other bytes than
	// Build hashed; an artefact's opener returned different content.
	ErrArtefactChanged = errors.New("artefact changed since the image was built")
)

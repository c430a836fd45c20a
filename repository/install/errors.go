package install

import (
	"errors"

	"github.com/etk-build/etk/compiler/artifact"
)

// Errors, checked with errors.Is. An artefact that does not follow the
// format fails with artifact.ErrBadArtefact instead (wrapping
// artifact.ErrUnsafePath for absolute names and ".." elements), and one
// that is not what its metadata says with artifact.ErrMismatch.
var (
	// ErrUnsafePath: writing or removing a path would leave the root:
	// an element of it is a symlink (planted in the root or written by
	// the artefact), or a name is not clean.
	ErrUnsafePath = artifact.ErrUnsafePath
	// ErrConflict: an artefact writes a path that another installed
	// package owns, and the Root does not AllowReplace.
	ErrConflict = errors.New("file conflict")
	// ErrReserved: an artefact writes into the install database
	// (/var/lib/etk) or replaces one of its parents.
	ErrReserved = errors.New("path reserved for the install database")
	// ErrNotInstalled: Uninstall names no installed package.
	ErrNotInstalled = errors.New("not installed")
	// ErrBadRecord: a file of the install database cannot be read or
	// names unsafe paths; nothing is changed until it is fixed.
	ErrBadRecord = errors.New("bad install record")
	// ErrBadPackage: a Package lacks an ID or has a name or category
	// that cannot name a database file, or has an artefact but no
	// metadata to check it against.
	ErrBadPackage = errors.New("bad package")
	// ErrNotAllowed: an artefact holds what the install policy refuses
	// unless allowed: device nodes (AllowDevices).
	ErrNotAllowed = errors.New("not allowed")
	// ErrNoSpace: the root's filesystem has less room (bytes or inodes)
	// than the package's metadata says it installs.
	ErrNoSpace = errors.New("not enough space")
)

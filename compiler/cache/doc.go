// Package cache owns the local build cache: artefacts and their metadata
// stored by build key in a folder, written so that a crash or a second etk
// running at the same time never leaves or sees a half-written entry.
package cache

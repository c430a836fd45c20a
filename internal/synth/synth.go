package synth

import (
	"fmt"
	"os"
	"testing/fstest"
)

// Config sets the size and shape of a generated tree. Zero values are
// valid: negative counts count as zero, Categories as at least one.
type Config struct {
	Packages           int     // total packages, each entry of a collection counting as one
	Categories         int     // number of categories, named cat00, cat01, ...
	CollectionFraction float64 // share of packages in collection.yaml files (2 to 8 entries sharing one build.yaml)
	MaxRequires        int     // each package requires 1..MaxRequires earlier packages; 0 makes every package a standalone root
	Seed               int64
	ContextFiles       int // files per package directory that form the build context
	// Chain, if positive, adds the package chain/top, whose build closure
	// (itself included) is Chain packages of category chain, each requiring
	// its predecessor and up to three older ones.
	Chain int
	// Includes, if positive, gives every package with an includes list
	// that many more patterns, as generated trees have (one per file of
	// the package): half are file patterns of the package itself, half
	// come from a pool shared by every package (common library paths).
	Includes int
}

// Generate returns the tree described by cfg, rooted at the file system's
// root: packages/ and values/default.yaml. The same cfg always gives the same
// files, byte for byte.
func Generate(cfg Config) fstest.MapFS {
	return newTree(cfg).render()
}

// WriteDir writes fsys under dir, creating dir if needed. It refuses to
// overwrite existing files, so a tree is never mixed with a previous one.
func WriteDir(dir string, fsys fstest.MapFS) error {
	if err := os.CopyFS(dir, fsys); err != nil {
		return fmt.Errorf("write synthetic tree: %w", err)
	}
	return nil
}

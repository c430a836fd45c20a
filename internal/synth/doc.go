// Package synth owns the generation of synthetic luet-format package trees,
// used by tests and benchmarks that need trees larger or denser than the real
// ones in the corpus.
//
// A generated tree mirrors the layout of the elemental tree: a packages/
// folder with one sub-folder per category, definition.yaml and
// collection.yaml package directories whose build.yaml files are Go
// templates over .Values, a packages/templates/ folder of {{define}} blocks
// and a values/default.yaml with every key those templates read.
//
// The tree is a function of its Config: the same Config gives the same bytes.
// Packages only ever require packages generated before them, so the
// dependency graph has no cycles, and every selector resolves to a package
// of the tree. With Config.Chain set, the extra package chain/top has a build
// closure (itself included) of exactly Chain packages.
package synth

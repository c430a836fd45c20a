// Package compiletree owns the compile tree: the blob a repository
// publishes beside its index so that a derivative can rebuild its packages
// with changes of its own. It holds every file of the package trees, the
// values they were rendered with, and where each tree came from (the
// repository that wrote it, its revision, whether it overlays the trees
// before it), so that chains of derivatives load each tree once and an
// extends cycle is found and named.
//
// The blob is a tar, zstd-compressed (MediaType), with sorted entries and
// fixed times and owners: the same trees give the same bytes.
//
//	tree.yaml          provenance (Meta); absent in trees written before it
//	values.yaml        the values the packages were rendered with
//	trees/<n>/...      the files of tree n
package compiletree

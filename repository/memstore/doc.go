// Package memstore owns the in-memory repository store: a
// repository.Store whose blobs and references live in maps, for tests and
// for programs that assemble a repository before copying it elsewhere.
//
// It is a real store, not a stub: PutBlob verifies the size and digest of
// what it reads and keeps nothing of a failed put; PutRef compares and
// swaps under a mutex, so concurrent publishers never lose an update; a
// reference larger than index.MaxRefSize, which every reader would
// refuse, is not written; reads and writes stop once their context is
// done. It passes repository/storetest like the folder and registry
// stores.
package memstore

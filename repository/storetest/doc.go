// Package storetest owns the conformance suite of repository stores: what
// every repository.ReadOnlyStore and repository.Store must do, run by each
// backend (repository/memstore, dir, httpstore, oci) from its own tests,
// so that a new backend proves itself against the same checks as the
// others.
//
// TestReadOnly checks the read side: blobs and references read back as
// written, ErrNotFound for what is not there, bad names refused, a
// reference past index.MaxRefSize refused with index.ErrTooLarge, reads
// stopped by a cancelled context, and concurrent readers. TestStore runs
// it on the store and adds the write side: PutBlob verifies digest and
// size and keeps nothing of a failed or cancelled put, PutRef compares and
// swaps, and concurrent writers incrementing one counter reference through
// compare-and-swap lose no increment (or, for a store whose
// compare-and-swap has a documented limit, keep what that store promises:
// see BestEffortCAS).
//
// A store's test calls them with a function that returns a fresh, empty
// repository for each check:
//
//	func TestConformance(t *testing.T) {
//		storetest.TestStore(t, func(t *testing.T) repository.Store { return memstore.New() })
//	}
package storetest

package oci

import (
	"testing"
	"time"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/storetest"
)

// TestConformance runs the store suite on ggcr's in-memory registry. A
// registry cannot update a tag conditionally, so PutRef's
// compare-and-swap is best effort (the Store's doc comment says which
// race it cannot see): the race checks hold it to what that doc promises
// (the final value is one whose writer was told it won; a lost increment
// is possible, an invented one is not), not to losing no increment.
func TestConformance(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) repository.Store {
		s, _ := newStoreRegistry(t, nil)
		return s
	}, storetest.BestEffortCAS())
}

// TestConformanceRegistryDistribution runs the suite against the real
// registry CI starts (skipped locally without it, failed in CI), each
// check in a repository of its own.
//
// Retries are spaced as in production, not milliseconds apart as in the
// other tests: distribution's filesystem storage rewrites a tag's link
// file in place, and a read of the tag while another writer rewrites it
// is answered 500 ("invalid checksum digest format"), which the racing
// writers of the suite provoke; ggcr retries it, and a retry a few
// milliseconds later can land in the next writer's rewrite.
func TestConformanceRegistryDistribution(t *testing.T) {
	needRegistry(t)
	storetest.TestStore(t, func(t *testing.T) repository.Store {
		return newRealStore(t, "conformance", WithBackoff(100*time.Millisecond), WithRetries(4))
	}, storetest.BestEffortCAS())
}

package memstore_test

import (
	"testing"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/memstore"
	"github.com/etk-build/etk/repository/storetest"
)

func TestConformance(t *testing.T) {
	storetest.TestStore(t, func(*testing.T) repository.Store { return memstore.New() })
}

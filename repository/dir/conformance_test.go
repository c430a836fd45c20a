package dir_test

import (
	"testing"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/storetest"
)

func TestConformance(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T) repository.Store {
		s, err := dir.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

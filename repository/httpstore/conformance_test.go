package httpstore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/httpstore"
	"github.com/etk-build/etk/repository/storetest"
)

// TestConformance runs the read checks of the suite on a folder
// repository served by a plain file server: the suite writes to the
// folder and reads over HTTP.
func TestConformance(t *testing.T) {
	storetest.TestReadOnly(t, func(t *testing.T) (repository.Store, repository.ReadOnlyStore) {
		root := t.TempDir()
		w, err := dir.Open(root)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.StripPrefix("/repo", http.FileServer(http.Dir(root))))
		t.Cleanup(srv.Close)
		r, err := httpstore.New(srv.URL+"/repo/", srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		return w, r
	})
}

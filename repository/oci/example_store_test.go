package oci_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/oci"
)

// A revision's reference is created once: a second publisher that picked
// the same revision is told so, and takes the next one.
func ExampleStore() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ctx := context.Background()
	s, err := oci.NewStore(strings.TrimPrefix(srv.URL, "http://") + "/etk/foundation")
	check(err)

	check(s.PutRef(ctx, repository.RevisionRef(1), nil, []byte(`{"signed":"one"}`)))
	err = s.PutRef(ctx, repository.RevisionRef(1), nil, []byte(`{"signed":"other"}`))
	fmt.Println(errors.Is(err, repository.ErrConflict))
	b, err := s.GetRef(ctx, repository.RevisionRef(1))
	check(err)
	fmt.Println(string(b))
	// Output:
	// true
	// {"signed":"one"}
}

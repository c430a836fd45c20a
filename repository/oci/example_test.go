package oci_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/repository/oci"
)

// A build machine pushes an entry of its local cache; another fetches it
// into its own.
func ExampleCache() {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ctx := context.Background()
	remote, err := oci.NewCache(strings.TrimPrefix(srv.URL, "http://") + "/etk/cache")
	check(err)
	key := strings.Repeat("ab", 32)
	dir, err := os.MkdirTemp("", "etk-example")
	check(err)
	defer os.RemoveAll(dir)

	builder, err := cache.Open(filepath.Join(dir, "builder"))
	check(err)
	w, err := builder.Create(key)
	check(err)
	check(w.WriteMetadata(map[string]any{"format": "etk-package/v1", "id": "dev/hello", "key": key}))
	e, err := w.Commit()
	check(err)
	check(remote.Push(ctx, e))

	other, err := cache.Open(filepath.Join(dir, "other"))
	check(err)
	w, err = other.Create(key)
	check(err)
	defer w.Abort()
	found, err := remote.Fetch(ctx, key, w)
	check(err)
	e, err = w.Commit()
	check(err)
	fmt.Println(found, e.Artefact == "")
	// Output: true true
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

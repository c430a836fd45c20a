package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/memstore"
)

// A repository published and read back in memory: what a test of code
// that consumes repositories needs, without a folder or a registry.
func Example() {
	ctx := context.Background()
	key, err := index.GenerateKey()
	if err != nil {
		panic(err)
	}
	s := memstore.New()
	// A package with nothing to build has metadata and no artefact.
	meta := `{"format":"etk-package/v1","id":"virtual/base@1.0","category":"virtual","name":"base","version":"1.0","key":"` + fmt.Sprintf("%064d", 1) + `"}`
	now := time.Unix(1700000000, 0)
	if _, err := repository.Publish(ctx, s, []repository.Entry{{Metadata: []byte(meta)}},
		repository.PublishOptions{Name: "example", Key: key, Time: now}); err != nil {
		panic(err)
	}
	r, err := repository.Open(ctx, s, index.Trust{Keys: []index.PublicKey{key.Public().(index.PublicKey)}, Now: now}, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Snapshot.Name, r.Snapshot.Revision, r.Index.Packages[0].ID)
	// Output: example 1 virtual/base@1.0
}

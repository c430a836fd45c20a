package index_test

import (
	"fmt"
	"log"
	"time"

	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/repository/index"
)

// A publisher writes the index and signs a snapshot of it; a client
// verifies the snapshot, then the index against it.
func Example() {
	key, err := index.GenerateKey()
	check(err)
	published := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC) // SOURCE_DATE_EPOCH

	// Publisher.
	meta := index.NewBlob([]byte(`{"format":"etk-package/v1"}`), index.MediaTypeMetadata)
	x := &index.Index{Name: "etk-demo", Packages: []index.Package{{
		ID: "dev/hello@1.0", Category: "dev", Name: "hello", Version: "1.0",
		Requires: []spec.Ref{{Category: "base", Name: "libc", Version: ">=2"}},
		Key:      "3f2a", Metadata: meta,
	}}}
	indexJSON, err := x.Encode()
	check(err)
	signed, err := index.Sign(&index.Snapshot{
		Name: "etk-demo", Revision: 1,
		Index:     index.NewBlob(indexJSON, index.MediaTypeIndex),
		Timestamp: published, Expires: published.AddDate(0, 1, 0),
	}, key)
	check(err)
	snapshotJSON, err := signed.Encode()
	check(err)

	// Client, which trusts the publisher's public key and saw no revision
	// yet.
	envelope, err := index.DecodeSigned(snapshotJSON)
	check(err)
	trust := index.Trust{
		Keys: []index.PublicKey{key.Public().(index.PublicKey)},
		Name: "etk-demo", Now: published.Add(time.Hour),
	}
	snap, err := trust.Verify(envelope)
	check(err)
	check(index.CheckDigest(snap.Index, indexJSON))
	got, err := index.DecodeIndex(indexJSON)
	check(err)
	fmt.Println(snap.Name, "revision", snap.Revision, "expires", snap.Expires.Format(time.DateOnly))
	for _, p := range got.Packages {
		fmt.Println(p.ID, "requires", p.Requires[0])
	}
	// Output:
	// etk-demo revision 1 expires 2026-04-04
	// dev/hello@1.0 requires base/libc >=2
}

func ExampleDiff() {
	hello := func(version, key string) index.Package {
		return index.Package{ID: "dev/hello@" + version, Category: "dev", Name: "hello", Version: version, Key: key}
	}
	old := &index.Index{Packages: []index.Package{hello("1.0", "a")}}
	cur := &index.Index{Packages: []index.Package{hello("1.1", "b")}}
	for _, c := range index.Diff(old, cur).Changed {
		fmt.Println(c.Old.ID, "->", c.New.ID)
	}
	// Output:
	// dev/hello@1.0 -> dev/hello@1.1
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

package index

import (
	"crypto/ed25519"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/etk-build/etk/compiler/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

// cmpOpts compare decoded values with built ones: refs' positions are not
// encoded, and an empty list decodes as nil.
var cmpOpts = cmp.Options{cmpopts.IgnoreFields(spec.Ref{}, "Pos"), cmpopts.EquateEmpty()}

// testKey is a fixed key, so that golden envelopes are stable (ed25519
// signatures are deterministic).
func testKey(name string) PrivateKey {
	seed := sha256.Sum256([]byte("etk index test key " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func pub(k PrivateKey) PublicKey { return k.Public().(PublicKey) }

var t0 = time.Date(2026, 3, 4, 20, 29, 17, 0, time.UTC)

func blobOf(s string) Blob { return NewBlob([]byte(s), "") }

func blobPtr(s, mediaType string) *Blob {
	b := NewBlob([]byte(s), mediaType)
	return &b
}

// pkg is a package of category dev with one requirement.
func pkg(name, version string) Package {
	return Package{
		ID: "dev/" + name + "@" + version, Category: "dev", Name: name, Version: version,
		Description: "the " + name + " package",
		Requires:    []spec.Ref{{Category: "base", Name: "libc", Version: ">=2"}},
		Key:         fmt.Sprintf("%x", sha256.Sum256([]byte(name+version))),
		Artefact:    blobPtr("artefact "+name+version, MediaTypeArtefact),
		Metadata:    blobOf("metadata " + name + version),
	}
}

func sampleIndex() *Index {
	virtual := Package{
		ID: "meta/all@1", Category: "meta", Name: "all", Version: "1", Hidden: true,
		Requires: []spec.Ref{{Category: "dev", Name: "hello"}, {Category: "dev", Name: "world", Version: "<2.0"}},
		Key:      "k-all", Metadata: blobOf("metadata all"),
	}
	noCategory := Package{
		ID: "tool@0.1", Name: "tool", Version: "0.1", Key: "k-tool",
		Conflicts: []spec.Ref{{Name: "oldtool"}},
		Provides:  []spec.Ref{{Name: "tools", Version: "0.1"}},
		Artefact:  blobPtr("artefact tool", MediaTypeArtefact), Metadata: blobOf("metadata tool"),
	}
	return &Index{
		Format: IndexFormat, Name: "etk-demo",
		Packages: []Package{pkg("hello", "1.0"), pkg("world", "1.2"), virtual, noCategory},
		Tree:     blobPtr("tree", MediaTypeTree),
	}
}

func sampleSnapshot() *Snapshot {
	idx, err := sampleIndex().Encode()
	if err != nil {
		panic(err)
	}
	return &Snapshot{
		Format: SnapshotFormat, Name: "etk-demo", Revision: 3,
		Index:     NewBlob(idx, MediaTypeIndex),
		Timestamp: t0, Expires: t0.Add(30 * 24 * time.Hour),
		Previous: blobPtr("revision 2", MediaTypeSigned),
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got), run go test -update if intended:\n%s", path, diff)
	}
}

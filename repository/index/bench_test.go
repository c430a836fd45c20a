package index

import (
	"fmt"
	"testing"

	"github.com/etk-build/etk/compiler/spec"
)

// bigIndex is an index of n packages, each requiring three others.
func bigIndex(n int) *Index {
	x := &Index{Format: IndexFormat, Name: "big", Tree: blobPtr("tree", MediaTypeTree)}
	for i := range n {
		name := fmt.Sprintf("package-%05d", i)
		p := Package{
			ID: "dev/" + name + "@1.2.3", Category: "dev", Name: name, Version: "1.2.3",
			Description: "a package of a big tree",
			Key:         fmt.Sprintf("%064x", i),
			Artefact:    blobPtr("artefact "+name, MediaTypeArtefact),
			Metadata:    blobOf("metadata " + name),
		}
		for j := 1; j <= 3; j++ {
			p.Requires = append(p.Requires, spec.Ref{Category: "dev", Name: fmt.Sprintf("package-%05d", (i+j*7)%n), Version: ">=1.0"})
		}
		x.Packages = append(x.Packages, p)
	}
	return x
}

// BenchmarkIndex10k writes and reads back the index of a 10,000-package
// repository.
func BenchmarkIndex10k(b *testing.B) {
	x := bigIndex(10_000)
	data, err := x.Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		data, err := x.Encode()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeIndex(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	signed, err := Sign(sampleSnapshot(), k1)
	if err != nil {
		b.Fatal(err)
	}
	trust := Trust{Keys: []PublicKey{pub(k1)}, Now: t0}
	for b.Loop() {
		if _, err := trust.Verify(signed); err != nil {
			b.Fatal(err)
		}
	}
}

package artifact_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/etk-build/etk/compiler/artifact"
)

func FuzzList(f *testing.F) {
	_, b := mustBuild(f, artifact.Delta, artifact.Spec{}, layer(f, sample(nil)...))
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte("\x28\xb5\x2f\xfd"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := artifact.List(bytes.NewReader(data))
		if err != nil {
			return
		}
		if m.Size != int64(len(data)) {
			t.Errorf("Size %d of %d bytes", m.Size, len(data))
		}
		if err := artifact.Verify(bytes.NewReader(data), m.Digest); err != nil {
			t.Errorf("List accepted what Verify refuses: %v", err)
		}
	})
}

func FuzzDelta(f *testing.F) {
	f.Add(layerBytes(f, sample(nil)...))
	f.Add(layerBytes(f, file("../x", "")))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fn := range []writeFunc{artifact.Delta, artifact.Full} {
			build(t, fn, artifact.Spec{}, open(data)) // checks List against the metadata
		}
	})
}

// tenThousand is one layer of 10,000 small files in 100 directories.
func tenThousand(b *testing.B) artifact.Opener {
	var es []ent
	for d := range 100 {
		name := fmt.Sprintf("usr/share/pkg%03d", d)
		es = append(es, dir(name))
		for i := range 100 {
			es = append(es, file(fmt.Sprintf("%s/file%03d.txt", name, i), fmt.Sprintf("content of %d/%d\n", d, i)))
		}
	}
	return layer(b, es...)
}

func BenchmarkDelta(b *testing.B) {
	l := tenThousand(b)
	spec := artifact.Spec{TempDir: b.TempDir()}
	b.ReportAllocs()
	for b.Loop() {
		m, err := artifact.Delta(context.Background(), []artifact.Opener{l}, spec, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if len(m.Files) != 10100 {
			b.Fatalf("%d files", len(m.Files))
		}
	}
}

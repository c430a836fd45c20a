package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/repository/image"
)

// Two packages, the second virtual, become an image in an OCI layout.
func ExampleBuild() {
	ctx := context.Background()
	art := exampleArtefact(map[string]string{"etc/motd": "hello\n"})
	// What the package's signed metadata.json says of its artefact.
	meta, err := artifact.List(bytes.NewReader(art))
	check(err)
	img, err := image.Build(ctx, image.Config{
		Name: "etk-os", Version: "2024.1", Revision: "abc123",
		Packages: []image.Layer{
			{ID: "core/base@1", Key: "0123456789abcdef", Metadata: meta, Artefact: func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(art)), nil
			}},
			{ID: "groups/minimal@1", Key: "fedcba9876543210"},
		},
		Created: time.Unix(1700000000, 0),
		Cmd:     []string{"/bin/sh"},
	})
	check(err)

	dir, err := os.MkdirTemp("", "etk-image-example")
	check(err)
	defer os.RemoveAll(dir)
	check(image.WriteLayout(ctx, img, dir, "etk-os:2024.1"))

	cf, err := img.ConfigFile()
	check(err)
	fmt.Println(len(cf.RootFS.DiffIDs), "layer,", cf.History[0].Comment)
	fmt.Println(cf.Config.Labels["etk.packages"])
	fmt.Println(cf.Created.UTC())
	// Output:
	// 1 layer, etk: core/base@1
	// core/base@1=0123456789ab,groups/minimal@1=fedcba987654
	// 2023-11-14 22:13:20 +0000 UTC
}

// exampleArtefact writes files as an artefact with compiler/artifact.
func exampleArtefact(files map[string]string) []byte {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for name, body := range files {
		check(tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}))
		_, err := io.WriteString(tw, body)
		check(err)
	}
	check(tw.Close())
	var out bytes.Buffer
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil }
	_, err := artifact.Full(context.Background(), []artifact.Opener{open}, artifact.Spec{}, &out)
	check(err)
	return out.Bytes()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

//go:build linux

package install_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/repository/install"
)

func ExampleRoot_Install() {
	ctx := context.Background()
	// An artefact of one image layer holding /usr/bin/hello.
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "usr/bin/", Mode: 0o755})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "usr/bin/hello", Mode: 0o755, Size: 3})
	tw.Write([]byte("hi\n"))
	tw.Close()
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil }
	var art bytes.Buffer
	meta, err := artifact.Full(ctx, []artifact.Opener{open}, artifact.Spec{}, &art)
	if err != nil {
		log.Fatal(err)
	}

	dir, err := os.MkdirTemp("", "root")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	root, err := install.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	// Artefact is what the package's signed metadata.json says of the
	// artefact: Install refuses anything else.
	p := install.Package{ID: "demo/hello@1.0", Category: "demo", Name: "hello", Version: "1.0", Key: "k1", Artefact: meta}
	if err := root.Install(ctx, p, &art); err != nil {
		log.Fatal(err)
	}
	installed, err := root.Installed()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range installed[0].Files {
		fmt.Println(f.Type, f.Path)
	}
	if err := root.Uninstall(ctx, p.ID); err != nil {
		log.Fatal(err)
	}
	// Output:
	// dir /usr
	// dir /usr/bin
	// file /usr/bin/hello
}

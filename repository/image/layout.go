package image

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
)

// AnnotationRefName is the OCI annotation that names an image of a layout.
const AnnotationRefName = "org.opencontainers.image.ref.name"

// WriteLayout writes img into the OCI image layout at dir, creating it if
// needed, and lists it in index.json annotated with ref
// (org.opencontainers.image.ref.name), in place of an image the layout
// already listed under ref. Blobs the layout holds are not written again.
func WriteLayout(ctx context.Context, img v1.Image, dir string, ref string) error {
	if ref == "" {
		return fmt.Errorf("layout %s: %w: empty ref", dir, ErrBadConfig)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := layout.FromPath(dir)
	if errors.Is(err, fs.ErrNotExist) {
		p, err = layout.Write(dir, empty.Index)
	}
	if err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	if err := p.ReplaceImage(img, match.Annotation(AnnotationRefName, ref),
		layout.WithAnnotations(map[string]string{AnnotationRefName: ref})); err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	return nil
}

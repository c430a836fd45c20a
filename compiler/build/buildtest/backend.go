package buildtest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/plan"
)

// Backend is a build.Backend that runs nothing. The artefact of a step
// holds, under /<category>/<name>/, the step's build context files with
// their modes, and a file "inputs" listing each input it was given as
// "<id> <artefact digest>" ("<id> virtual" for a virtual one), the
// digest read from the input's artefact and checked against its
// metadata. It is written by compiler/artifact like any artefact, so the
// same step and inputs give the same bytes.
//
// The zero value is ready to use. Set the hooks before the first build.
type Backend struct {
	// BeforeWrite, when set, is called as a build starts; an error it
	// returns fails the build before anything is written.
	BeforeWrite func(ctx context.Context, s *plan.Step) error
	// AfterWrite, when set, is called once the whole artefact is
	// written; an error it returns fails the build all the same. Tests
	// block in it to hold a build, or fail one that wrote everything.
	AfterWrite func(ctx context.Context, s *plan.Step) error
	// TempDir is where the artefact writer spools; "" is os.TempDir().
	TempDir string

	mu     sync.Mutex
	builds map[string]int
}

var _ build.Backend = (*Backend)(nil)

// Build writes the artefact of req.Step to w.
func (b *Backend) Build(ctx context.Context, req *build.Request, w io.Writer) (*artifact.Metadata, error) {
	s := req.Step
	b.mu.Lock()
	if b.builds == nil {
		b.builds = map[string]int{}
	}
	b.builds[s.ID]++
	b.mu.Unlock()
	if s.Virtual {
		return nil, fmt.Errorf("%s: a virtual step has nothing to build", s.ID)
	}
	if b.BeforeWrite != nil {
		if err := b.BeforeWrite(ctx, s); err != nil {
			return nil, err
		}
	}
	if req.Log != nil {
		req.Log(fmt.Sprintf("building %s from %d context files and %d inputs", s.ID, len(req.Context.Files), len(req.Inputs)))
	}
	layer, err := layerOf(req)
	if err != nil {
		return nil, err
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer)), nil }
	m, err := artifact.Full(ctx, []artifact.Opener{open}, artifact.Spec{Epoch: time.Unix(0, 0), TempDir: b.TempDir}, w)
	if err != nil {
		return nil, err
	}
	if b.AfterWrite != nil {
		if err := b.AfterWrite(ctx, s); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Builds returns how many times each step (by ID) was handed to Build.
func (b *Backend) Builds() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.builds))
	for k, v := range b.builds {
		out[k] = v
	}
	return out
}

// layerOf is the uncompressed layer tar the artefact of req is cut from.
func layerOf(req *build.Request) ([]byte, error) {
	pkg := req.Step.Pkg()
	cat := pkg.Category
	if cat == "" {
		cat = "_"
	}
	root := cat + "/" + pkg.Name
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	mkdirs := func(p string) error {
		var missing []string
		for d := path.Dir(p); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			missing = append(missing, d)
		}
		slices.Reverse(missing)
		for _, d := range missing {
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return err
			}
		}
		return nil
	}
	add := func(name string, mode fs.FileMode, data []byte) error {
		if err := mkdirs(name); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: int64(mode.Perm()), Size: int64(len(data))}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	files := slices.Clone(req.Context.Files)
	slices.Sort(files)
	for _, f := range files {
		name := root + "/ctx/" + f
		fi, err := fs.Lstat(req.Context.FS, f)
		if err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := fs.ReadLink(req.Context.FS, f)
			if err != nil {
				return nil, fmt.Errorf("context: %w", err)
			}
			if err := mkdirs(name); err != nil {
				return nil, err
			}
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}); err != nil {
				return nil, err
			}
			continue
		}
		data, err := fs.ReadFile(req.Context.FS, f)
		if err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
		if err := add(name, fi.Mode(), data); err != nil {
			return nil, err
		}
	}
	var inputs bytes.Buffer
	for _, in := range req.Inputs {
		d, err := inputDigest(in)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&inputs, "%s %s\n", in.Step.ID, d)
	}
	if err := add(root+"/inputs", 0o644, inputs.Bytes()); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// inputDigest reads an input's artefact and checks it against the
// input's metadata.
func inputDigest(in build.Input) (string, error) {
	if in.Metadata == nil {
		return "", fmt.Errorf("input %s: no metadata", in.Step.ID)
	}
	if in.Metadata.Key != in.Step.Key {
		return "", fmt.Errorf("input %s: metadata of key %s, want %s", in.Step.ID, in.Metadata.Key, in.Step.Key)
	}
	if in.Artefact == "" {
		if in.Metadata.Artefact != nil {
			return "", fmt.Errorf("input %s: metadata names an artefact, there is none", in.Step.ID)
		}
		return "virtual", nil
	}
	f, err := in.Open()
	if err != nil {
		return "", fmt.Errorf("input %s: %w", in.Step.ID, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("input %s: %w", in.Step.ID, err)
	}
	d := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if in.Metadata.Artefact == nil || in.Metadata.Artefact.Digest != d {
		return "", fmt.Errorf("input %s: artefact %s does not match its metadata", in.Step.ID, d)
	}
	return d, nil
}

package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// memEngine keeps images in memory as lists of uncompressed layer tars,
// with what of an engine's behaviour the backend relies on: a FROM or
// COPY --from of an image it lacks fails, a build adds one layer on its
// FROM image (its context under /luetbuild, its RUN lines in
// /steps/<PACKAGE_NAME>), a RUN line holding fail fails the build, Save
// writes `docker save` format, Import makes a one-layer image.
type memEngine struct {
	fail string

	mu     sync.Mutex
	images map[string][][]byte
	calls  []string
}

func newMemEngine(base string, files map[string]string) *memEngine {
	return &memEngine{images: map[string][][]byte{base: {tarOf(files)}}}
}

func (e *memEngine) record(format string, args ...any) {
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
}

// called reports whether a call was made.
func (e *memEngine) called(call string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.calls {
		if c == call {
			return true
		}
	}
	return false
}

func (e *memEngine) has(ref string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.images[ref]
	return ok
}

func (e *memEngine) drop(ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.images, ref)
}

func (e *memEngine) Inspect(_ context.Context, ref string) (docker.ImageInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	layers, ok := e.images[ref]
	if !ok {
		return docker.ImageInfo{}, fmt.Errorf("%s: %w", ref, docker.ErrNotFound)
	}
	h := sha256.New()
	for _, l := range layers {
		h.Write(l)
	}
	return docker.ImageInfo{ID: fmt.Sprintf("sha256:%x", h.Sum(nil)), Layers: len(layers)}, nil
}

func (e *memEngine) Build(ctx context.Context, req docker.BuildRequest, log func(string)) (string, error) {
	e.mu.Lock()
	e.record("build %s", req.Tag)
	var layers [][]byte
	files := map[string]string{}
	var pkgName string
	var runs []string
	for i, line := range strings.Split(strings.TrimSpace(string(req.Dockerfile)), "\n") {
		if log != nil {
			log(fmt.Sprintf("Step %d : %s", i+1, line))
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "FROM":
			if f[1] != "scratch" {
				base, ok := e.images[f[1]]
				if !ok {
					e.mu.Unlock()
					return "", fmt.Errorf("pull access denied for %s", f[1])
				}
				layers = append(layers, base...)
			}
		case f[0] == "COPY" && strings.HasPrefix(f[1], "--from="):
			from := strings.TrimPrefix(f[1], "--from=")
			src, ok := e.images[from]
			if !ok {
				e.mu.Unlock()
				return "", fmt.Errorf("pull access denied for %s", from)
			}
			layers = append(layers, src...)
		case f[0] == "ENV" && strings.HasPrefix(f[1], "PACKAGE_NAME="):
			pkgName = strings.TrimPrefix(f[1], "PACKAGE_NAME=")
		case f[0] == "RUN":
			if e.fail != "" && strings.Contains(line, e.fail) {
				e.mu.Unlock()
				return "", fmt.Errorf("The command '%s' returned a non-zero code: 1", line)
			}
			runs = append(runs, line)
		}
	}
	e.mu.Unlock()
	for _, name := range req.Files {
		data, err := readFile(req, name)
		if err != nil {
			return "", err
		}
		files["luetbuild/"+name] = data
	}
	files["steps/"+pkgName] = strings.Join(runs, "\n") + "\n"
	layers = append(layers, tarOf(files))
	if err := ctx.Err(); err != nil {
		return "", err
	}
	e.mu.Lock()
	e.images[req.Tag] = layers
	e.mu.Unlock()
	info, err := e.Inspect(ctx, req.Tag)
	return info.ID, err
}

func readFile(req docker.BuildRequest, name string) (string, error) {
	f, err := req.Context.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	return string(data), err
}

func (e *memEngine) Save(_ context.Context, ref, dir string) (string, error) {
	e.mu.Lock()
	e.record("save %s", ref)
	layers, ok := e.images[ref]
	e.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%s: %w", ref, docker.ErrNotFound)
	}
	img := empty.Image
	for _, l := range layers {
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(l)), nil })
		if err != nil {
			return "", err
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return "", err
		}
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, ".mem-save-*.tar")
	if err != nil {
		return "", err
	}
	f.Close()
	if err := tarball.WriteToFile(f.Name(), r, img); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func (e *memEngine) Import(_ context.Context, r io.Reader, ref string) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		if _, err := tr.Next(); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("import %s: not a tar: %w", ref, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("import %s", ref)
	e.images[ref] = [][]byte{data}
	return nil
}

func (e *memEngine) Remove(_ context.Context, ref string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.record("remove %s", ref)
	delete(e.images, ref)
	return nil
}

// tarOf is a layer holding files (name → content), their folders
// first, in sorted order.
func tarOf(files map[string]string) []byte {
	var names []string
	dirs := map[string]bool{}
	for n := range files {
		names = append(names, n)
		for d := filepath.Dir(n); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		names = append(names, d+"/")
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/")) })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			must(tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755}))
			continue
		}
		must(tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n]))}))
		_, err := tw.Write([]byte(files[n]))
		must(err)
	}
	must(tw.Close())
	return buf.Bytes()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

var _ docker.Images = (*memEngine)(nil)

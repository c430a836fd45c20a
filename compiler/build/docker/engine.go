package docker

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// Client is the part of the Docker API etk uses; *client.Client has it,
// and tests fake it.
type Client interface {
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImageInspect(ctx context.Context, imageID string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageSave(ctx context.Context, imageIDs []string, opts ...client.ImageSaveOption) (io.ReadCloser, error)
	ImageImport(ctx context.Context, source image.ImportSource, ref string, options image.ImportOptions) (io.ReadCloser, error)
	ImageRemove(ctx context.Context, imageID string, options image.RemoveOptions) ([]image.DeleteResponse, error)
	ImagePull(ctx context.Context, ref string, options image.PullOptions) (io.ReadCloser, error)
	Ping(ctx context.Context) (types.Ping, error)
}

// Ping checks that the engine answers.
func (e *Engine) Ping(ctx context.Context) error {
	_, err := e.c.Ping(ctx)
	return err
}

// Engine talks to one Docker engine.
type Engine struct {
	c Client
}

// New connects to the engine the environment names (DOCKER_HOST and
// friends, else the local socket), negotiating the API version so that
// older engines (API 1.41) and newer ones both work.
func New() (*Engine, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	return &Engine{c: c}, nil
}

// NewWithClient wraps a client set up otherwise than from the
// environment.
func NewWithClient(c Client) *Engine { return &Engine{c: c} }

// ErrNotFound is returned for images the engine does not have.
var ErrNotFound = errors.New("image not found")

// ImageInfo is what etk needs to know of an image.
type ImageInfo struct {
	ID     string // the content-addressed ID, "sha256:…"
	Layers int    // how many layers its root filesystem has
}

// Inspect describes a local image, or returns ErrNotFound.
func (e *Engine) Inspect(ctx context.Context, ref string) (ImageInfo, error) {
	r, err := e.c.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return ImageInfo{}, fmt.Errorf("%s: %w", ref, ErrNotFound)
		}
		return ImageInfo{}, fmt.Errorf("inspect %s: %w", ref, err)
	}
	n := 0
	if r.RootFS.Type == "layers" {
		n = len(r.RootFS.Layers)
	}
	return ImageInfo{ID: r.ID, Layers: n}, nil
}

// Resolve returns the ID of ref, pulling it when the engine lacks it and
// pull is set.
func (e *Engine) Resolve(ctx context.Context, ref string, pull bool) (string, error) {
	info, err := e.Inspect(ctx, ref)
	if err == nil {
		return info.ID, nil
	}
	if !errors.Is(err, ErrNotFound) || !pull {
		return "", err
	}
	rc, err := e.c.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	if err := drain(rc, nil); err != nil {
		return "", fmt.Errorf("pull %s: %w", ref, err)
	}
	info, err = e.Inspect(ctx, ref)
	return info.ID, err
}

// BuildRequest is one classic-builder build.
type BuildRequest struct {
	Dockerfile []byte
	// Context holds the build context; Files lists what of it to send.
	Context fs.FS
	Files   []string
	Tag     string
	// Network is "none" (the default) or "host".
	Network string
	Labels  map[string]string
}

// Build builds an image with the classic builder and tags it. Output
// lines go to log as they come. A failing instruction's error says which
// step of the Dockerfile failed.
func (e *Engine) Build(ctx context.Context, req BuildRequest, log func(string)) (string, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeContext(pw, req))
	}()
	defer pr.Close()
	network := req.Network
	if network == "" {
		network = "none"
	}
	resp, err := e.c.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Version:     build.BuilderV1,
		Tags:        []string{req.Tag},
		Dockerfile:  "Dockerfile",
		NetworkMode: network,
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Labels:      req.Labels,
	})
	if err != nil {
		return "", fmt.Errorf("build %s: %w", req.Tag, err)
	}
	defer resp.Body.Close()
	if err := drain(resp.Body, log); err != nil {
		return "", fmt.Errorf("build %s: %w", req.Tag, err)
	}
	info, err := e.Inspect(ctx, req.Tag)
	if err != nil {
		return "", err
	}
	return info.ID, nil
}

// writeContext writes the build context as a tar: the Dockerfile, then
// the files in sorted order with fixed times, so that the engine's own
// layer cache sees the same context for the same inputs.
func writeContext(w io.Writer, req BuildRequest) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	hdr := &tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(req.Dockerfile)), ModTime: epoch, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(req.Dockerfile); err != nil {
		return err
	}
	files := append([]string(nil), req.Files...)
	sort.Strings(files)
	dirs := map[string]bool{}
	for _, f := range files {
		for d := path.Dir(f); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := addFile(tw, req.Context, f, epoch); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, fsys fs.FS, name string, epoch time.Time) error {
	fi, err := fs.Lstat(fsys, name)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := fs.ReadLink(fsys, name)
		if err != nil {
			return err
		}
		return tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, ModTime: epoch, Typeflag: tar.TypeSymlink})
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("context file %s: not a regular file or symlink", name)
	}
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err == nil && n != fi.Size() {
		err = fmt.Errorf("context file %s changed while being read", name)
	}
	return err
}

// message is one JSON line of a build or pull stream.
type message struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// drain reads a JSON message stream, sending output lines to log, and
// returns the stream's error, if any.
func drain(r io.ReadCloser, log func(string)) error {
	defer r.Close()
	dec := json.NewDecoder(bufio.NewReader(r))
	var partial string
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if err == io.EOF {
				break
			}
			return fmt.Errorf("read engine output: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if log == nil {
			continue
		}
		text := partial + m.Stream
		lines := strings.Split(text, "\n")
		partial = lines[len(lines)-1]
		for _, l := range lines[:len(lines)-1] {
			log(strings.TrimRight(l, "\r"))
		}
	}
	if log != nil && partial != "" {
		log(partial)
	}
	return nil
}

// Save writes the image (all its layers) in `docker save` format to a
// temporary file in dir and returns its path; the caller removes it.
func (e *Engine) Save(ctx context.Context, ref, dir string) (string, error) {
	rc, err := e.c.ImageSave(ctx, []string{ref})
	if err != nil {
		return "", fmt.Errorf("save %s: %w", ref, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(dir, ".etk-save-*.tar")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", fmt.Errorf("save %s: %w", ref, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Import creates image ref from a filesystem tar (uncompressed or
// compressed as the engine understands).
func (e *Engine) Import(ctx context.Context, r io.Reader, ref string) error {
	rc, err := e.c.ImageImport(ctx, image.ImportSource{Source: r, SourceName: "-"}, ref, image.ImportOptions{})
	if err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	if err := drain(rc, nil); err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	return nil
}

// Remove deletes an image tag (and its layers when unused); a missing
// image is not an error.
func (e *Engine) Remove(ctx context.Context, ref string) error {
	_, err := e.c.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove %s: %w", ref, err)
	}
	return nil
}

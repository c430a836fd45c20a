package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Labels Build sets.
const (
	LabelTitle      = "org.opencontainers.image.title"
	LabelVersion    = "org.opencontainers.image.version"
	LabelOSName     = "etk.os.name"
	LabelOSVersion  = "etk.os.version"
	LabelRevision   = "etk.repository.revision"
	LabelPackages   = "etk.packages"
	historyComment  = "etk: "
	historyCreateBy = "etk"
)

// Layer is one package of the OS.
type Layer struct {
	// ID is the package's ID ("category/name@version").
	ID string
	// Key is the package's build key.
	Key string
	// Artefact opens the package's artefact (the zstd tar); nil for a
	// virtual package. It is called more than once, also after Build
	// returns (each read of the layer), and must give the same bytes.
	Artefact func() (io.ReadCloser, error)
	// Metadata is the artefact's metadata, from the package's signed
	// metadata.json; required with Artefact. Build refuses an artefact
	// that is not what it lists, and no read of a layer goes past what
	// it promises.
	Metadata *artifact.Metadata
}

// Config says what goes into the image.
type Config struct {
	// Name and Version of the OS: labels org.opencontainers.image.title
	// and .version, etk.os.name and etk.os.version. Name is required.
	Name, Version string
	// Revision of the repository: label etk.repository.revision.
	Revision string
	// Packages in install (dependency) order, lowest first.
	Packages []Layer
	// Created is the image's and its history's time (SOURCE_DATE_EPOCH);
	// the zero Time means the Unix epoch.
	Created time.Time
	Env     []string
	// Cmd is what the image runs; nil is DefaultCmd, the OS's init.
	Cmd []string
	// Labels are added to Build's own, which they may not set.
	Labels map[string]string
	// Platform defaults to linux/amd64 (OS and Architecture each).
	Platform v1.Platform
	// MaxLayers, when positive, caps the number of layers by merging
	// consecutive packages (see the package doc). 0: a layer per package.
	MaxLayers int
	// TempDir holds the spool of merged layers; empty means os.TempDir().
	TempDir string
}

// Build assembles the image of cfg. It reads every artefact once (merged
// layers more) to compute the layer digests; the returned image reads
// them again whenever its layers are read. No Docker daemon is involved.
func Build(ctx context.Context, cfg Config) (v1.Image, error) {
	if err := check(cfg); err != nil {
		return nil, err
	}
	units := group(cfg.Packages, cfg.MaxLayers, cfg.TempDir)
	layers := make([]*layer, len(units))
	err := forEach(ctx, len(units), func(ctx context.Context, i int) error {
		u := units[i]
		for _, p := range u.pkgs {
			if err := checkArtefact(ctx, p); err != nil {
				return fmt.Errorf("package %s: %w", p.ID, err)
			}
		}
		if len(u.pkgs) > 1 {
			if err := u.mergeEpoch(ctx); err != nil {
				return err
			}
		}
		l, err := measure(ctx, u)
		layers[i] = l
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", cfg.Name, err)
	}

	rawConfig, err := json.Marshal(configFile(cfg, layers))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType: types.OCIConfigJSON,
			Size:      int64(len(rawConfig)),
			Digest:    sha256Hash(rawConfig),
		},
		Layers: []v1.Descriptor{},
	}
	byDigest := map[v1.Hash]*layer{}
	for _, l := range layers {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.OCILayer, Size: l.size, Digest: l.digest})
		byDigest[l.digest] = l
	}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&image{config: rawConfig, manifest: rawManifest, layers: byDigest})
}

// configFile is the image config: nothing in it depends on the machine or
// the moment.
func configFile(cfg Config, layers []*layer) *v1.ConfigFile {
	created := cfg.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC().Truncate(time.Second)
	p := cfg.Platform
	if p.OS == "" {
		p.OS = "linux"
	}
	if p.Architecture == "" {
		p.Architecture = "amd64"
	}
	cf := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		OSVersion:    p.OSVersion,
		Variant:      p.Variant,
		OSFeatures:   slices.Clone(p.OSFeatures),
		Created:      v1.Time{Time: created},
		Config: v1.Config{
			Env:    slices.Clone(cfg.Env),
			Cmd:    slices.Clone(cmd(cfg.Cmd)),
			Labels: labels(cfg),
		},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}},
	}
	for _, l := range layers {
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, l.diffID)
		cf.History = append(cf.History, v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: historyCreateBy,
			Comment:   historyComment + strings.Join(l.u.ids(), ", "),
		})
	}
	return cf
}

func labels(cfg Config) map[string]string {
	ls := map[string]string{
		LabelTitle:    cfg.Name,
		LabelOSName:   cfg.Name,
		LabelPackages: packagesLabel(cfg.Packages),
	}
	if cfg.Version != "" {
		ls[LabelVersion] = cfg.Version
		ls[LabelOSVersion] = cfg.Version
	}
	if cfg.Revision != "" {
		ls[LabelRevision] = cfg.Revision
	}
	for k, v := range cfg.Labels {
		ls[k] = v
	}
	return ls
}

// packagesLabel is "id=key12,...", sorted, for every package.
func packagesLabel(pkgs []Layer) string {
	items := make([]string, len(pkgs))
	for i, p := range pkgs {
		items[i] = p.ID + "=" + p.Key[:min(len(p.Key), 12)]
	}
	slices.Sort(items)
	return strings.Join(items, ",")
}

var reservedLabels = []string{LabelTitle, LabelVersion, LabelOSName, LabelOSVersion, LabelRevision, LabelPackages}

func check(cfg Config) error {
	if cfg.Name == "" {
		return fmt.Errorf("%w: no name", ErrBadConfig)
	}
	if cfg.MaxLayers < 0 {
		return fmt.Errorf("%w: MaxLayers %d", ErrBadConfig, cfg.MaxLayers)
	}
	for _, k := range reservedLabels {
		if _, ok := cfg.Labels[k]; ok {
			return fmt.Errorf("%w: label %s is set by Build", ErrBadConfig, k)
		}
	}
	seen := map[string]bool{}
	for i, p := range cfg.Packages {
		switch {
		case p.ID == "":
			return fmt.Errorf("%w: package %d has no ID", ErrBadConfig, i)
		case strings.ContainsAny(p.ID, ",= \t\n"):
			// They would break the etk.packages label.
			return fmt.Errorf("%w: package ID %q holds a comma, an equals sign or a space", ErrBadConfig, p.ID)
		case p.Key == "":
			return fmt.Errorf("%w: package %s has no key", ErrBadConfig, p.ID)
		case seen[p.ID]:
			return fmt.Errorf("%w: package %s listed twice", ErrBadConfig, p.ID)
		case p.Artefact != nil && p.Metadata == nil:
			return fmt.Errorf("%w: package %s has an artefact but no metadata to check it against", ErrBadConfig, p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}

// forEach runs fn for 0..n-1, GOMAXPROCS at a time (compressing is CPU
// bound), and returns the first error, which cancels the others.
func forEach(ctx context.Context, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
loop:
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

func sha256Hash(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// image is the assembled image; partial.CompressedToImage completes it.
type image struct {
	config, manifest []byte
	layers           map[v1.Hash]*layer
}

func (i *image) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *image) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *image) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func (i *image) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h]; ok {
		return l, nil
	}
	if h == sha256Hash(i.config) {
		return partial.ConfigLayer(i)
	}
	return nil, fmt.Errorf("image: no layer %s", h)
}

// DefaultCmd is what an OS image runs when its Config says nothing: the
// system's init, as a container of it and a booted system both start.
var DefaultCmd = []string{"/sbin/init"}

func cmd(c []string) []string {
	if c == nil {
		return DefaultCmd
	}
	return c
}

package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/tmpl"
	"go.yaml.in/yaml/v3"
)

// FileName is the manifest's name.
const FileName = "manifest.yaml"

// ErrNotFound is returned by Find when no manifest is found.
var ErrNotFound = errors.New("no " + FileName + " found in this directory or any parent (use -C DIR, or --tree DIR without a manifest)")

// Manifest is a decoded manifest.yaml.
type Manifest struct {
	// Name and Version identify the project (and, later, its repository).
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
	// Trees are the package tree folders, relative to the manifest.
	Trees []string `yaml:"trees"`
	// Templates is a folder of Dockerfile templates overriding the
	// built-in ones by file name; optional.
	Templates string `yaml:"templates,omitempty"`
	// Flavor is the default flavor.
	Flavor string `yaml:"flavor"`
	// Flavors maps a flavor name to its values files, layered in order.
	Flavors map[string][]string `yaml:"flavors"`
	// Targets are what `etk compile` builds by default ("category/name").
	Targets []string `yaml:"targets,omitempty"`
	// Publish says where `etk publish` puts the project's repository.
	Publish *Publish `yaml:"publish,omitempty"`
	// Image is the OS image `etk image build` assembles.
	Image *Image `yaml:"image,omitempty"`
	// Profiles is the folder of profiles (default "profiles").
	Profiles string `yaml:"profiles,omitempty"`
	// Extends are the upstream repositories the project builds on, pinned
	// in etk.lock.
	Extends []Upstream `yaml:"extends,omitempty"`
	// Epoch is the time templates read through now and the date
	// functions when SOURCE_DATE_EPOCH is not set: Unix seconds, or an
	// RFC 3339 time. Unset, it is the Unix epoch.
	Epoch string `yaml:"epoch,omitempty"`

	// Dir is the directory holding the manifest.
	Dir string `yaml:"-"`
	// File is the manifest's path as shown in messages.
	File string `yaml:"-"`
}

// Publish is the `publish:` section.
type Publish struct {
	// Name is the repository's name (default: the project's name).
	Name string `yaml:"name,omitempty"`
	// To are the repository URLs: a folder (path or file://), or an OCI
	// repository (oci://host[:port]/repo).
	To []string `yaml:"to"`
	// TrustedKeys are public key files readers of the repository trust;
	// relative to the manifest.
	TrustedKeys []string `yaml:"trusted_keys,omitempty"`
}

// Image is the `image:` section: the OS image of the project.
type Image struct {
	// Name and Version label the image (default: the project's).
	Name    string `yaml:"name,omitempty"`
	Version string `yaml:"version,omitempty"`
	// Packages are what the image holds, with what they need at runtime.
	Packages []string `yaml:"packages"`
	// MaxLayers caps the image's layers (0: one per package).
	MaxLayers int `yaml:"max_layers,omitempty"`
	// Cmd is what the image runs (default: /sbin/init).
	Cmd []string `yaml:"cmd,omitempty"`
}

// ImageFor is the image section as the profiles (in order) change it:
// the last profile naming image packages decides them. A manifest without
// an image section gives one of its name and version, with no packages.
func (m *Manifest) ImageFor(profiles []*Profile) Image {
	img := Image{}
	if m.Image != nil {
		img = *m.Image
	}
	for _, p := range profiles {
		if len(p.Image) > 0 {
			img.Packages = p.Image
		}
	}
	if img.Name == "" {
		img.Name = m.Name
	}
	if img.Version == "" {
		img.Version = m.Version
	}
	return img
}

// Find walks up from dir to the first directory holding a manifest.
func Find(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(abs, FileName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", ErrNotFound
		}
		abs = parent
	}
}

// Load reads and checks a manifest.
func Load(path string) (*Manifest, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Parse(path, src)
	if err != nil {
		return nil, err
	}
	m.Dir = filepath.Dir(path)
	return m, nil
}

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// Parse decodes a manifest from src; file is used in messages.
func Parse(file string, src []byte) (*Manifest, error) {
	m := &Manifest{File: file}
	if d := diag.InvalidUTF8(file, src); d != nil {
		return nil, d
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(m); err != nil {
		var diags diag.List
		for _, line := range splitYAMLErr(err) {
			if s := lineRE.FindStringSubmatch(line); s != nil {
				n, _ := strconv.Atoi(s[1])
				diags.Add(&diag.Diagnostic{Pos: diag.Pos{File: file, Line: n, Col: 1}, Msg: s[2], Detail: diag.Excerpt(src, n, 1)})
			} else {
				diags.Errorf(diag.Pos{File: file}, "%s", line)
			}
		}
		return nil, diags
	}
	if err := m.check(src); err != nil {
		return nil, err
	}
	return m, nil
}

func splitYAMLErr(err error) []string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return te.Errors
	}
	return []string{err.Error()}
}

func (m *Manifest) check(src []byte) error {
	var diags diag.List
	pos := diag.Pos{File: m.File}
	if m.Name == "" {
		diags.Errorf(pos, "name is required")
	}
	if len(m.Trees) == 0 {
		diags.Errorf(pos, "trees: at least one package tree folder is required")
	}
	if len(m.Flavors) > 0 {
		if m.Flavor == "" {
			diags.Errorf(pos, "flavor: name the default flavor (one of %v)", m.FlavorNames())
		} else if _, ok := m.Flavors[m.Flavor]; !ok {
			diags.Errorf(pos, "flavor %q is not one of the flavors %v", m.Flavor, m.FlavorNames())
		}
	} else if m.Flavor != "" {
		diags.Errorf(pos, "flavor %q set, but no flavors are defined", m.Flavor)
	}
	if m.Epoch != "" {
		if _, err := tmpl.ParseEpoch(m.Epoch); err != nil {
			diags.Errorf(pos, "%v", err)
		}
	}
	return diags.Err()
}

// FlavorNames lists the flavors, sorted.
func (m *Manifest) FlavorNames() []string {
	names := make([]string, 0, len(m.Flavors))
	for n := range m.Flavors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ValuesFiles returns the values files of flavor ("" for the default), as
// paths relative to the working directory.
func (m *Manifest) ValuesFiles(flavor string) ([]string, error) {
	if flavor == "" {
		flavor = m.Flavor
	}
	if flavor == "" {
		return nil, nil
	}
	files, ok := m.Flavors[flavor]
	if !ok {
		return nil, fmt.Errorf("%s: no flavor %q (have %v)", m.File, flavor, m.FlavorNames())
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = m.Path(f)
	}
	return out, nil
}

// Path resolves a manifest-relative path.
func (m *Manifest) Path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(m.Dir, rel)
}

package manifest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// ProfileFile is a profile's file, in profiles/<name>/.
const ProfileFile = "profile.yaml"

// Profile overlays a project: values, packages of its own, packages
// masked, and the package set of the OS image. Profiles compose in the
// order given: later values win, trees stack (a later tree's package
// replaces the same category/name from before), masks add up, and the
// last profile naming image packages decides them.
type Profile struct {
	Name        string `yaml:"-"`
	Dir         string `yaml:"-"`
	Description string `yaml:"description,omitempty"`
	// Values are layered over the flavor's values, after ValuesFiles.
	Values map[string]any `yaml:"values,omitempty"`
	// ValuesFiles are values files, relative to the profile folder.
	ValuesFiles []string `yaml:"values_files,omitempty"`
	// Trees are package tree folders of the profile, relative to it.
	Trees []string `yaml:"trees,omitempty"`
	// Mask removes packages ("category/name", every version).
	Mask []string `yaml:"mask,omitempty"`
	// Image names the packages of the OS image.
	Image []string `yaml:"image,omitempty"`
}

// ProfilesDir is the manifest's profiles folder (`profiles:`, default
// "profiles").
func (m *Manifest) ProfilesDir() string {
	if m.Profiles != "" {
		return m.Path(m.Profiles)
	}
	return m.Path("profiles")
}

// LoadProfile reads profile name of the project.
func (m *Manifest) LoadProfile(name string) (*Profile, error) {
	if name == "" || filepath.Base(name) != name || name[0] == '.' {
		return nil, fmt.Errorf("profile %q: not a profile name", name)
	}
	dir := filepath.Join(m.ProfilesDir(), name)
	file := filepath.Join(dir, ProfileFile)
	src, err := os.ReadFile(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("profile %q: no %s (profiles are folders of %s)", name, file, m.ProfilesDir())
		}
		return nil, err
	}
	p := &Profile{Name: name, Dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// Path resolves a profile-relative path.
func (p *Profile) Path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(p.Dir, rel)
}

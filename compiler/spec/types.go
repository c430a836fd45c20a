package spec

import (
	"strings"

	"github.com/etk-build/etk/compiler/diag"
)

// Spec file names recognised in a package directory.
const (
	DefinitionFile = "definition.yaml"
	CollectionFile = "collection.yaml"
	BuildFile      = "build.yaml"
	FinalizeFile   = "finalize.yaml"
	TemplatesDir   = "templates"
)

// IsSpecFile reports whether name is one of the spec files, which are never
// part of a package's build context.
func IsSpecFile(name string) bool {
	switch name {
	case DefinitionFile, CollectionFile, BuildFile, FinalizeFile:
		return true
	}
	return false
}

// Ref names a package, or a set of its versions: Version is a selector such
// as ">=0" or "<2.0" in requires and conflicts, and a version or selector in
// provides.
type Ref struct {
	Category string   `json:"category,omitempty" yaml:"category,omitempty"`
	Name     string   `json:"name" yaml:"name"`
	Version  string   `json:"version,omitempty" yaml:"version,omitempty"`
	Pos      diag.Pos `json:"-" yaml:"-"`
}

// PackageName is "category/name" (or "name" without a category).
func (r Ref) PackageName() string { return JoinName(r.Category, r.Name) }

func (r Ref) String() string {
	if r.Version == "" {
		return r.PackageName()
	}
	return r.PackageName() + " " + r.Version
}

// JoinName is "category/name", or name alone when category is empty.
func JoinName(category, name string) string {
	if category == "" {
		return name
	}
	return category + "/" + name
}

// Package is one package of a tree: the runtime part comes from its
// definition (or collection entry), Build from its rendered build.yaml.
type Package struct {
	Category    string            `json:"category,omitempty"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Hidden      bool              `json:"hidden,omitempty"`
	Description string            `json:"description,omitempty"`
	License     string            `json:"license,omitempty"`
	URI         []string          `json:"uri,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Requires    []Ref             `json:"requires,omitempty"`
	Conflicts   []Ref             `json:"conflicts,omitempty"`
	Provides    []Ref             `json:"provides,omitempty"`

	// Values are the definition's keys, the package's own template values.
	Values map[string]any `json:"-"`
	// Pos is where the definition or collection entry starts.
	Pos diag.Pos `json:"-"`
	// Dir is the package directory, slash-separated, relative to its tree.
	Dir string `json:"-"`
	// Tree is the index of the tree the package was loaded from.
	Tree int `json:"-"`
	// Collection is set for entries of a collection.yaml.
	Collection bool `json:"-"`
	// Build is the rendered build.yaml; nil when the directory has none.
	Build *Build `json:"-"`
	// Finalize is the rendered finalize.yaml, if any.
	Finalize *Finalize `json:"-"`
	// Broken holds the errors of the package's own specs (its definition
	// or collection entry, build.yaml, finalize.yaml). A broken package
	// stays in the tree under its identity, so that what needs it fails
	// with these errors and the rest of the tree works; it cannot be
	// planned, built or listed.
	Broken diag.List `json:"-"`
	// Clock is the pinned time (RFC 3339, UTC) its templates read through
	// now or the date functions; empty when they read none. Keys record it.
	Clock string `json:"-"`
}

// PackageName is "category/name".
func (p *Package) PackageName() string { return JoinName(p.Category, p.Name) }

// ID is "category/name@version", unique within a tree.
func (p *Package) ID() string { return p.PackageName() + "@" + p.Version }

// Build is a rendered build.yaml.
type Build struct {
	Image               string   `json:"image,omitempty"`
	Requires            []Ref    `json:"requires,omitempty"`
	Conflicts           []Ref    `json:"conflicts,omitempty"`
	Provides            []Ref    `json:"provides,omitempty"`
	Prelude             []string `json:"prelude,omitempty"`
	Steps               []string `json:"steps,omitempty"`
	Env                 []string `json:"env,omitempty"`
	Retrieve            []string `json:"retrieve,omitempty"`
	PackageDir          string   `json:"package_dir,omitempty"`
	Unpack              bool     `json:"unpack,omitempty"`
	Includes            []string `json:"includes,omitempty"`
	Excludes            []string `json:"excludes,omitempty"`
	Copy                []Copy   `json:"copy,omitempty"`
	RequiresFinalImages bool     `json:"requires_final_images,omitempty"`
	Seed                string   `json:"seed,omitempty"`
	// Network is etk's addition: "none" (the default) or "host" for steps
	// that must reach a package mirror.
	Network     string       `json:"network,omitempty"`
	Subpackages []Subpackage `json:"subpackages,omitempty"`

	// Pos is the position of the build.yaml itself.
	Pos diag.Pos `json:"-"`
	// Source is the rendered text, kept for error excerpts and --explain.
	Source []byte `json:"-"`
}

// Copy is one `copy:` entry: files from another package's image or from an
// image reference, into the builder.
type Copy struct {
	Package     *Ref     `json:"package,omitempty"`
	Image       string   `json:"image,omitempty"`
	Source      string   `json:"source"`
	Destination string   `json:"destination"`
	Pos         diag.Pos `json:"-"`
}

// Subpackage is a luet subpackage: a second artefact cut from the same build
// by its own includes and excludes.
type Subpackage struct {
	Ref      Ref      `json:"package"`
	Includes []string `json:"includes,omitempty"`
	Excludes []string `json:"excludes,omitempty"`
}

// Finalize is a finalize.yaml: commands run after installation, in
// dependency order, chrooted into the target root.
type Finalize struct {
	Install []string `json:"install,omitempty"`
	Shell   []string `json:"shell,omitempty"`
}

// Empty reports whether the build produces nothing by itself: no steps, no
// image content and no package_dir (a meta package).
func (b *Build) Empty() bool {
	return b == nil || (len(b.Steps) == 0 && !b.Unpack && b.PackageDir == "" && len(b.Copy) == 0)
}

// ParseID splits "category/name@version" (version optional) into a Ref
// whose Version is the exact version, or "" for any.
func ParseID(s string) Ref {
	var r Ref
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s, r.Version = s[:i], s[i+1:]
	}
	if i := strings.LastIndex(s, "/"); i >= 0 {
		r.Category, r.Name = s[:i], s[i+1:]
	} else {
		r.Name = s
	}
	return r
}

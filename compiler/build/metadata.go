package build

import (
	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/compiler/spec"
)

// MetadataFormat versions Metadata.
const MetadataFormat = "etk-package/v1"

// Metadata describes a built package: who it is, what it was built from
// (every input of its key), what it needs at runtime, and its artefact.
// It is written beside the artefact as metadata.json. It holds no time or
// machine, so the same key gives the same bytes.
type Metadata struct {
	Format      string            `json:"format"`
	ID          string            `json:"id"`
	Category    string            `json:"category,omitempty"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Key         string            `json:"key"`
	Inputs      []plan.Input      `json:"inputs"`
	Hidden      bool              `json:"hidden,omitempty"`
	Description string            `json:"description,omitempty"`
	License     string            `json:"license,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Requires    []spec.Ref        `json:"requires,omitempty"`
	Conflicts   []spec.Ref        `json:"conflicts,omitempty"`
	Provides    []spec.Ref        `json:"provides,omitempty"`
	Finalize    *spec.Finalize    `json:"finalize,omitempty"`
	// Artefact is nil for a package with nothing to build.
	Artefact *artifact.Metadata `json:"artefact,omitempty"`
}

// NewMetadata describes step s with its artefact (nil when virtual).
func NewMetadata(s *plan.Step, a *artifact.Metadata) *Metadata {
	p := s.Pkg()
	return &Metadata{
		Format: MetadataFormat, ID: s.ID,
		Category: p.Category, Name: p.Name, Version: p.Version,
		Key: s.Key, Inputs: s.Inputs,
		Hidden: p.Hidden, Description: p.Description, License: p.License,
		Labels: p.Labels, Annotations: p.Annotations,
		Requires: p.Requires, Conflicts: p.Conflicts, Provides: p.Provides,
		Finalize: p.Finalize,
		Artefact: a,
	}
}

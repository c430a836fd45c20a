package build

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/plan"
)

// Backend makes the artefact of one step: an engine that runs the step's
// build (a Docker engine, a BuildKit daemon, a fake in tests). It writes
// the artefact, an etk-artefact/v1 archive (see compiler/artifact), to w
// and returns its metadata; on error what it wrote is garbage, which the
// caller drops. A Backend never sees the cache: what it builds from comes
// in the Request, and where the artefact goes is the caller's business.
// It is never asked to build a virtual step, which has no artefact.
// Implementations must be safe for concurrent use.
type Backend interface {
	Build(ctx context.Context, req *Request, w io.Writer) (*artifact.Metadata, error)
}

// Request is what a Backend builds one step from.
type Request struct {
	// Plan is the plan the step belongs to. The build spec is
	// Step.Pkg().Build; a backend that builds from Dockerfiles renders
	// them itself (Plan.DockerfileData), one that builds from the spec
	// (BuildKit's LLB) reads it.
	Plan *plan.Plan
	Step *plan.Step
	// Context is the step's build context.
	Context Context
	// Inputs are the built steps s builds on, directly or not, that the
	// cache holds, in plan order: their artefacts and metadata.
	Inputs []Input
	// Log receives the build's output lines.
	Log Log
}

// Input returns the input of s, if the request has it.
func (r *Request) Input(s *plan.Step) (Input, bool) {
	for _, in := range r.Inputs {
		if in.Step == s {
			return in, true
		}
	}
	return Input{}, false
}

// Context is a build context: the files of a package's folder the build
// may read.
type Context struct {
	// FS is rooted at the package's folder; Files lists the context
	// files in it (plan.Step.Context), slash-separated.
	FS    fs.FS
	Files []string
}

// Source gives the build context of a step; *compiler.Session is one.
type Source interface {
	Context(s *plan.Step) (fs.FS, []string)
}

// Input is the built artefact of a step another step builds on.
type Input struct {
	Step *plan.Step
	// Artefact is the path of the artefact file (zstd-compressed tar),
	// "" for a virtual step.
	Artefact string
	// Metadata is the step's package metadata, Metadata.Artefact
	// describing the artefact.
	Metadata *Metadata
}

// Open opens the input's artefact file.
func (in Input) Open() (io.ReadCloser, error) {
	if in.Artefact == "" {
		return nil, fmt.Errorf("%s has no artefact", in.Step.ID)
	}
	return os.Open(in.Artefact)
}

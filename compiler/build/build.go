package build

import (
	"context"
	"time"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
)

// Builder builds one step of a plan whose inputs are all built.
// Implementations must be safe for concurrent use.
type Builder interface {
	Build(ctx context.Context, s *plan.Step, log Log) (Outcome, error)
}

// Log receives the output lines of a build as they come.
type Log func(line string)

// Outcome is what building a step gave.
type Outcome struct {
	// Cached is set when nothing was built: the artefact was found by key.
	Cached bool
	// Artefact is the path of the artefact file in the local cache, and
	// Digest its sha256 ("sha256:…"); both empty for a virtual step.
	Artefact string
	Digest   string
	// Size is the artefact's size in bytes.
	Size int64
	// Entry is the step's entry in the local cache, for the decorators
	// that act on it after the build (pushing it to a remote).
	Entry *cache.Entry `json:"-"`
}

// EventKind names what happened to a step.
type EventKind string

const (
	Started EventKind = "started"
	LogLine EventKind = "log"
	Cached  EventKind = "cached"
	Built   EventKind = "built"
	Failed  EventKind = "failed"
	// Skipped: not built because an input failed (with --keep-going) or
	// the run was stopped.
	Skipped EventKind = "skipped"
)

// Event is one thing that happened during a run. Events of one step come
// in order; events of different steps interleave.
type Event struct {
	Kind     EventKind     `json:"event"`
	ID       string        `json:"package"`
	Key      string        `json:"key"`
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"duration,omitempty"`
	Line     string        `json:"line,omitempty"`
	Error    string        `json:"error,omitempty"`
	Outcome  *Outcome      `json:"outcome,omitempty"`
	// Step is the step the event is about.
	Step *plan.Step `json:"-"`
}

// Listener receives events; it is called from the scheduler's goroutines,
// one event at a time (calls never overlap).
type Listener func(Event)

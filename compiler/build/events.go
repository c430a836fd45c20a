package build

import (
	"sync"
	"time"

	"github.com/etk-build/etk/compiler/plan"
)

// emitter serializes calls to a Listener: the loop and every running
// build report through it, and a Listener need not be safe for
// concurrent use.
type emitter struct {
	mu sync.Mutex
	l  Listener
}

// send stamps e and calls the listener. Stamping under the lock keeps
// Time in the order the listener sees the events.
func (e *emitter) send(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sendLocked(ev)
}

func (e *emitter) sendLocked(ev Event) {
	if e.l == nil {
		return
	}
	ev.Time = time.Now()
	e.l(ev)
}

// begin emits Started for s and returns what reports the rest of its
// build.
func (e *emitter) begin(s *plan.Step) *stepEvents {
	e.send(Event{Kind: Started, ID: s.ID, Key: s.Key, Step: s})
	return &stepEvents{e: e, s: s}
}

// stepEvents reports the log lines and the end of one build.
type stepEvents struct {
	e *emitter
	s *plan.Step
	// ended is guarded by e.mu. A Builder that logs after Build returned
	// (a stray goroutine) is ignored: its step has already ended and the
	// Listener may be gone with the run.
	ended bool
}

func (st *stepEvents) log(line string) {
	st.e.mu.Lock()
	defer st.e.mu.Unlock()
	if st.ended {
		return
	}
	st.e.sendLocked(Event{Kind: LogLine, ID: st.s.ID, Key: st.s.Key, Line: line, Step: st.s})
}

// end emits the final event of a build: Built, Cached or Failed.
func (st *stepEvents) end(r *Result) {
	st.e.mu.Lock()
	defer st.e.mu.Unlock()
	st.ended = true
	ev := Event{Kind: r.State, ID: st.s.ID, Key: st.s.Key, Duration: r.Duration, Step: st.s}
	if r.Err != nil {
		ev.Error = r.Err.Error()
	} else {
		out := r.Outcome
		ev.Outcome = &out
	}
	st.e.sendLocked(ev)
}

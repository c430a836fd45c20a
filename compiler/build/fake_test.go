package build

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etk-build/etk/compiler/plan"
)

// behaviour scripts what the fake does for one step.
type behaviour struct {
	logs []string
	// gate, when set, holds Build until it is closed or, unless
	// ignoreCtx, until ctx is done.
	gate      chan struct{}
	ignoreCtx bool
	err       error
	panic     any
	cached    bool
}

// fakeBuilder is a Builder whose steps do what script says. It counts
// calls and concurrent calls, and reports starts and returns on channels
// so tests drive timing without clocks.
type fakeBuilder struct {
	script   map[string]behaviour
	started  chan string // each step ID as its Build begins; nil to not report
	returned chan string // each step ID as its Build returns; nil to not report

	mu         sync.Mutex
	calls      map[string]int
	running    int
	maxRunning int
	logs       map[string]Log // the Log each step was given
}

func newFake(script map[string]behaviour) *fakeBuilder {
	return &fakeBuilder{
		script:   script,
		started:  make(chan string, 100),
		returned: make(chan string, 100),
		calls:    map[string]int{},
		logs:     map[string]Log{},
	}
}

func (f *fakeBuilder) Build(ctx context.Context, s *plan.Step, log Log) (Outcome, error) {
	f.mu.Lock()
	f.calls[s.ID]++
	f.running++
	f.maxRunning = max(f.maxRunning, f.running)
	f.logs[s.ID] = log
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
		f.returned <- s.ID
	}()
	f.started <- s.ID

	bh := f.script[s.ID]
	for _, l := range bh.logs {
		log(l)
	}
	if bh.gate != nil {
		if bh.ignoreCtx {
			<-bh.gate
		} else {
			select {
			case <-bh.gate:
			case <-ctx.Done():
				return Outcome{}, ctx.Err()
			}
		}
	}
	if bh.panic != nil {
		panic(bh.panic)
	}
	if bh.err != nil {
		return Outcome{}, bh.err
	}
	return Outcome{Cached: bh.cached, Digest: "sha256:" + s.Key}, nil
}

func (f *fakeBuilder) callCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

// newPlan builds a plan by hand from lines "id: dep dep…" in plan order.
func newPlan(t *testing.T, lines ...string) (*plan.Plan, map[string]*plan.Step) {
	t.Helper()
	p := &plan.Plan{}
	steps := map[string]*plan.Step{}
	for _, line := range lines {
		id, deps, _ := strings.Cut(line, ":")
		s := &plan.Step{ID: strings.TrimSpace(id), Key: "key-" + strings.TrimSpace(id)}
		for _, d := range strings.Fields(deps) {
			ds, ok := steps[d]
			if !ok {
				t.Fatalf("newPlan: %s: dep %s not defined before", s.ID, d)
			}
			s.Deps = append(s.Deps, ds)
			s.Level = max(s.Level, ds.Level+1)
		}
		p.Steps = append(p.Steps, s)
		steps[s.ID] = s
	}
	return p, steps
}

func pick(steps map[string]*plan.Step, ids ...string) []*plan.Step {
	var out []*plan.Step
	for _, id := range ids {
		out = append(out, steps[id])
	}
	return out
}

// recorder is a Listener that keeps every event and notes whether two
// calls ever overlapped.
type recorder struct {
	inCall  atomic.Int32
	overlap atomic.Bool

	mu     sync.Mutex
	events []Event
}

func (r *recorder) listen(ev Event) {
	if r.inCall.Add(1) != 1 {
		r.overlap.Store(true)
	}
	runtime.Gosched() // widen the window an overlap would need
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.inCall.Add(-1)
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// startedOrder is the IDs of the Started events, in order.
func (r *recorder) startedOrder() []string {
	var out []string
	for _, ev := range r.all() {
		if ev.Kind == Started {
			out = append(out, ev.ID)
		}
	}
	return out
}

func states(s *Summary) map[string]EventKind {
	out := map[string]EventKind{}
	for _, r := range s.Results {
		out[r.Step.ID] = r.State
	}
	return out
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// noLeak fails the test if it ends with more goroutines than it began
// with. Workers exit right after handing their result over, so it gives
// them a moment.
func noLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// receive returns the next value of c, failing the test rather than
// hanging when none comes.
func receive(t *testing.T, c <-chan string, what string) string {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return ""
	}
}

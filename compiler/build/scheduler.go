package build

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/etk-build/etk/compiler/plan"
)

// Options tune Run.
type Options struct {
	// Jobs bounds the Builder.Build calls in flight; zero or less means
	// GOMAXPROCS. The limit lives here rather than in a Builder decorator
	// so that the scheduler, which knows the priorities, picks who waits.
	Jobs int
	// KeepGoing builds, after a failure, everything that does not depend
	// on the failed step instead of stopping the run.
	KeepGoing bool
	// Listener receives the run's events; it may be nil.
	Listener Listener
}

// Result is what happened to one step of a run.
type Result struct {
	Step *plan.Step
	// State is Built, Cached, Failed or Skipped.
	State   EventKind
	Outcome Outcome
	// Err is the build error of a Failed step and the reason of a
	// Skipped one.
	Err error
	// Duration is how long Build took; zero for a Skipped step.
	Duration time.Duration
}

// Summary is the outcome of a run.
type Summary struct {
	// Results has one entry per step of the run, in plan order.
	Results  []Result
	Duration time.Duration
}

// Count returns the number of steps whose state is k.
func (s *Summary) Count(k EventKind) int {
	n := 0
	for _, r := range s.Results {
		if r.State == k {
			n++
		}
	}
	return n
}

// Failed returns the results of the failed steps, in plan order.
func (s *Summary) Failed() []Result {
	var out []Result
	for _, r := range s.Results {
		if r.State == Failed {
			out = append(out, r)
		}
	}
	return out
}

// Run builds targets, steps of p, and every step they depend on
// (Step.Deps, transitively): each step once, and only after all its deps
// were built or found cached. Among the steps ready to build it starts the
// one with the longest chain of dependents first, so the critical path
// never waits behind short branches.
//
// When a step fails, Run cancels the builds in flight and starts nothing
// new, unless opts.KeepGoing is set: then only the dependents of the
// failed step are skipped. When ctx is cancelled, Run cancels the builds
// in flight and waits for them to return. Either way every step that did
// not start is Skipped, and Run returns an error naming each failed step
// (or wrapping ctx.Err()) along with the Summary.
//
// Virtual steps go to the Builder like any other: what building one means
// is the Builder's business.
func Run(ctx context.Context, p *plan.Plan, targets []*plan.Step, b Builder, opts Options) (*Summary, error) {
	t0 := time.Now()
	nodes, err := closure(p, targets)
	if err != nil {
		return nil, err
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	buildCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &scheduler{
		b:         b,
		keepGoing: opts.KeepGoing,
		jobs:      jobs,
		ev:        &emitter{l: opts.Listener},
		// Buffered for every step, so a worker never blocks on send
		// and cannot outlive Run even if the loop stopped receiving.
		done: make(chan *node, len(nodes)),
	}
	for _, n := range nodes {
		if n.pending == 0 {
			heap.Push(&s.ready, n)
		}
	}
	s.loop(ctx, buildCtx, cancel)
	return s.summary(ctx, nodes, t0)
}

// node is a step of the run with its scheduling state. Only the loop
// goroutine touches it, except res and interrupted, which the worker sets
// before handing the node back over the done channel.
type node struct {
	step       *plan.Step
	order      int // position in the plan
	height     int // steps on the longest path from here up to a target
	pending    int // deps not yet built
	dependents []*node

	res         *Result
	interrupted bool // failed with a context error after the run was cancelled
}

// closure returns the nodes of targets and their transitive deps in plan
// order, linked both ways. It checks that each dep comes earlier in the
// plan, which rules out cycles that would leave steps waiting forever.
func closure(p *plan.Plan, targets []*plan.Step) ([]*node, error) {
	order := make(map[*plan.Step]int, len(p.Steps))
	for i, s := range p.Steps {
		order[s] = i
	}
	byStep := map[*plan.Step]*node{}
	var visit func(s *plan.Step) (*node, error)
	visit = func(s *plan.Step) (*node, error) {
		if n, ok := byStep[s]; ok {
			return n, nil
		}
		i, ok := order[s]
		if !ok {
			return nil, fmt.Errorf("step %s is not in the plan", s.ID)
		}
		n := &node{step: s, order: i}
		byStep[s] = n
		seen := map[*node]bool{}
		for _, d := range s.Deps {
			dn, err := visit(d)
			if err != nil {
				return nil, err
			}
			if dn.order >= n.order {
				return nil, fmt.Errorf("step %s depends on %s, which does not come before it in the plan", s.ID, d.ID)
			}
			if !seen[dn] {
				seen[dn] = true
				n.pending++
				dn.dependents = append(dn.dependents, n)
			}
		}
		return n, nil
	}
	for _, t := range targets {
		if _, err := visit(t); err != nil {
			return nil, err
		}
	}
	nodes := make([]*node, 0, len(byStep))
	for _, n := range byStep {
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b *node) int { return a.order - b.order })
	// Dependents come later in the plan, so one backward pass sees every
	// dependent's height before its deps'.
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		n.height = 1
		for _, d := range n.dependents {
			n.height = max(n.height, d.height+1)
		}
	}
	return nodes, nil
}

type scheduler struct {
	b         Builder
	keepGoing bool
	jobs      int
	ev        *emitter

	ready   readyQueue
	running int
	done    chan *node
	// stopped says why no new step starts; nil while the run goes on.
	stopped error
}

// loop starts ready steps while there is room and handles finished ones
// until nothing runs and nothing can start.
func (s *scheduler) loop(ctx, buildCtx context.Context, cancel context.CancelFunc) {
	ctxDone := ctx.Done()
	for {
		for s.stopped == nil && s.running < s.jobs && s.ready.Len() > 0 {
			if err := ctx.Err(); err != nil {
				s.stopped = fmt.Errorf("not started: %w", err)
				break
			}
			s.start(buildCtx, heap.Pop(&s.ready).(*node))
		}
		if s.running == 0 {
			return
		}
		select {
		case n := <-s.done:
			s.running--
			s.finish(n, cancel)
		case <-ctxDone:
			// buildCtx derives from ctx: the running builds see it too.
			ctxDone = nil
			if s.stopped == nil {
				s.stopped = fmt.Errorf("not started: %w", ctx.Err())
			}
		}
	}
}

// start emits Started and builds n on its own goroutine.
func (s *scheduler) start(ctx context.Context, n *node) {
	s.running++
	st := s.ev.begin(n.step)
	go func() {
		t0 := time.Now()
		out, err := safeBuild(ctx, s.b, n.step, st.log)
		res := &Result{Step: n.step, Outcome: out, Err: err, Duration: time.Since(t0)}
		switch {
		case err != nil:
			res.State, res.Outcome = Failed, Outcome{}
			n.interrupted = ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
		case out.Cached:
			res.State = Cached
		default:
			res.State = Built
		}
		n.res = res
		// The final event goes out before the loop hears of it, so a
		// dependent's Started always follows its deps' Built.
		st.end(res)
		s.done <- n
	}()
}

// finish readies the dependents of a built step, or skips them when it
// failed.
func (s *scheduler) finish(n *node, cancel context.CancelFunc) {
	if n.res.State != Failed {
		for _, d := range n.dependents {
			d.pending--
			if d.pending == 0 && d.res == nil {
				heap.Push(&s.ready, d)
			}
		}
		return
	}
	if n.interrupted {
		// The run is already stopping; its dependents get the stop reason.
		return
	}
	reason := fmt.Errorf("input %s failed", n.step.ID)
	var skip func(*node)
	skip = func(m *node) {
		for _, d := range m.dependents {
			if d.res == nil {
				s.skip(d, reason)
				skip(d)
			}
		}
	}
	skip(n)
	if !s.keepGoing && s.stopped == nil {
		s.stopped = fmt.Errorf("not started: stopped after %s failed", n.step.ID)
		cancel()
	}
}

func (s *scheduler) skip(n *node, reason error) {
	n.res = &Result{Step: n.step, State: Skipped, Err: reason}
	s.ev.send(Event{Kind: Skipped, ID: n.step.ID, Key: n.step.Key, Error: reason.Error(), Step: n.step})
}

// summary skips what never started and gathers the results and the error.
func (s *scheduler) summary(ctx context.Context, nodes []*node, t0 time.Time) (*Summary, error) {
	sum := &Summary{Results: make([]Result, 0, len(nodes))}
	var errs []error
	unfinished := false
	for _, n := range nodes {
		if n.res == nil {
			unfinished = true
			reason := s.stopped
			if reason == nil {
				reason = errors.New("not started")
			}
			s.skip(n, reason)
		}
		sum.Results = append(sum.Results, *n.res)
		switch {
		case n.interrupted:
			unfinished = true
		case n.res.State == Failed:
			errs = append(errs, fmt.Errorf("build %s: %w", n.step.ID, n.res.Err))
		}
	}
	if err := ctx.Err(); err != nil && unfinished {
		errs = append(errs, fmt.Errorf("build interrupted: %w", err))
	}
	sum.Duration = time.Since(t0)
	return sum, errors.Join(errs...)
}

// safeBuild calls b.Build, turning a panic into an error so that one bad
// build fails its step instead of the process.
func safeBuild(ctx context.Context, b Builder, s *plan.Step, log Log) (out Outcome, err error) {
	defer func() {
		if v := recover(); v != nil {
			out = Outcome{}
			if e, ok := v.(error); ok {
				err = fmt.Errorf("panic: %w\n%s", e, panicStack())
			} else {
				err = fmt.Errorf("panic: %v\n%s", v, panicStack())
			}
		}
	}()
	return b.Build(ctx, s, log)
}

// panicStack returns the frames from the panic up to safeBuild, at most
// eight: enough to find the bug without the scheduler's frames or the
// runtime's.
func panicStack() string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	for k := 0; k < 8; {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "/build.safeBuild") {
			break
		}
		if !strings.HasPrefix(f.Function, "runtime.") {
			fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
			k++
		}
		if !more {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// readyQueue is a heap of the steps whose deps are all built: longest
// remaining path first, then plan order, so runs are deterministic.
type readyQueue []*node

func (q readyQueue) Len() int { return len(q) }
func (q readyQueue) Less(i, j int) bool {
	if q[i].height != q[j].height {
		return q[i].height > q[j].height
	}
	return q[i].order < q[j].order
}
func (q readyQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *readyQueue) Push(x any)   { *q = append(*q, x.(*node)) }
func (q *readyQueue) Pop() any {
	old := *q
	n := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return n
}

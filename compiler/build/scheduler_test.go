package build

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/etk-build/etk/compiler/plan"
)

func TestRunBuildsEachStepOnce(t *testing.T) {
	tests := []struct {
		name    string
		plan    []string
		targets []string
		virtual []string
		script  map[string]behaviour
		want    map[string]EventKind
	}{{
		name:    "diamond",
		plan:    []string{"d", "b: d", "c: d", "a: b c"},
		targets: []string{"a"},
		want:    map[string]EventKind{"a": Built, "b": Built, "c": Built, "d": Built},
	}, {
		name:    "many targets share deps",
		plan:    []string{"base", "lib1: base", "lib2: base", "app1: lib1 lib2", "app2: lib1", "app3: lib2 base"},
		targets: []string{"app1", "app2", "app3", "lib1", "app1"},
		want: map[string]EventKind{
			"base": Built, "lib1": Built, "lib2": Built,
			"app1": Built, "app2": Built, "app3": Built,
		},
	}, {
		name:    "only the closure of the targets",
		plan:    []string{"d", "b: d", "c: d", "a: b c"},
		targets: []string{"b"},
		want:    map[string]EventKind{"b": Built, "d": Built},
	}, {
		name:    "virtual steps go to the builder, cached ones count as cached",
		plan:    []string{"x", "y", "meta: x y"},
		targets: []string{"meta"},
		virtual: []string{"meta"},
		script:  map[string]behaviour{"y": {cached: true}},
		want:    map[string]EventKind{"x": Built, "y": Cached, "meta": Built},
	}, {
		name: "no targets, nothing to do",
		plan: []string{"a"},
		want: map[string]EventKind{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeak(t)
			p, steps := newPlan(t, tt.plan...)
			for _, id := range tt.virtual {
				steps[id].Virtual = true
			}
			f := newFake(tt.script)
			sum, err := Run(context.Background(), p, pick(steps, tt.targets...), f, Options{Jobs: 4})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(tt.want, states(sum)); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
			wantCalls := map[string]int{}
			for id := range tt.want {
				wantCalls[id] = 1
			}
			if diff := cmp.Diff(wantCalls, f.callCounts()); diff != "" {
				t.Errorf("Build calls (-want +got):\n%s", diff)
			}
			var order []int
			for _, r := range sum.Results {
				order = append(order, slices.Index(p.Steps, r.Step))
			}
			if !slices.IsSorted(order) {
				t.Errorf("results not in plan order: %v", order)
			}
			if got := sum.Count(Built) + sum.Count(Cached); got != len(tt.want) {
				t.Errorf("Count(Built)+Count(Cached) = %d, want %d", got, len(tt.want))
			}
		})
	}
}

func TestRunJobsLimit(t *testing.T) {
	for _, jobs := range []int{1, 2, 5, 0} {
		t.Run(fmt.Sprintf("jobs=%d", jobs), func(t *testing.T) {
			noLeak(t)
			limit := jobs
			if limit == 0 {
				limit = runtime.GOMAXPROCS(0)
			}
			gate := make(chan struct{})
			lines := []string{}
			script := map[string]behaviour{}
			var all []string
			for i := range 12 {
				id := string(rune('a' + i))
				lines = append(lines, id)
				all = append(all, id)
				script[id] = behaviour{gate: gate}
			}
			lines = append(lines, "top: "+strings.Join(all, " "))
			p, steps := newPlan(t, lines...)
			f := newFake(script)
			done := make(chan error, 1)
			go func() {
				_, err := Run(context.Background(), p, pick(steps, "top"), f, Options{Jobs: jobs})
				done <- err
			}()
			// Steps without deps start at once, up to the limit.
			for range min(limit, 12) {
				receive(t, f.started, "a start")
			}
			f.mu.Lock()
			running := f.running
			f.mu.Unlock()
			if running != min(limit, 12) {
				t.Errorf("running = %d, want %d", running, min(limit, 12))
			}
			close(gate)
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			if f.maxRunning != min(limit, 12) {
				t.Errorf("at most %d builds ran at once, want %d", f.maxRunning, min(limit, 12))
			}
		})
	}
}

func TestRunPriority(t *testing.T) {
	tests := []struct {
		name    string
		plan    []string
		targets []string
		jobs    int
		// prefix, if set, compares only the first starts: with more than
		// one job the later ones depend on which build ends first.
		prefix int
		want   []string
	}{{
		name:    "critical path first",
		plan:    []string{"b", "c", "a1", "a2: a1", "a3: a2", "a4: a3"},
		targets: []string{"b", "c", "a4"},
		jobs:    1,
		// a4 ties with b and c at the end: plan order decides.
		want: []string{"a1", "a2", "a3", "b", "c", "a4"},
	}, {
		name:    "longest path beats most dependents",
		plan:    []string{"x", "y", "x1: x", "x2: x", "x3: x", "y1: y", "y2: y1"},
		targets: []string{"x1", "x2", "x3", "y2"},
		jobs:    1,
		want:    []string{"y", "x", "y1", "x1", "x2", "x3", "y2"},
	}, {
		name:    "ties in plan order",
		plan:    []string{"c", "a", "b"},
		targets: []string{"a", "b", "c"},
		jobs:    1,
		want:    []string{"c", "a", "b"},
	}, {
		name:    "path length counts up to any target",
		plan:    []string{"s", "l", "m: l", "t1: s", "t2: m"},
		targets: []string{"t1", "t2"},
		jobs:    1,
		want:    []string{"l", "s", "m", "t1", "t2"},
	}, {
		name:    "parallel starts take the longest paths",
		plan:    []string{"s1", "s2", "s3", "m1", "m2: m1", "l1", "l2: l1", "l3: l2"},
		targets: []string{"s1", "s2", "s3", "m2", "l3"},
		jobs:    2,
		prefix:  2,
		want:    []string{"l1", "m1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, steps := newPlan(t, tt.plan...)
			var rec recorder
			if _, err := Run(context.Background(), p, pick(steps, tt.targets...), newFake(nil), Options{Jobs: tt.jobs, Listener: rec.listen}); err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := rec.startedOrder()
			if tt.prefix > 0 {
				got = got[:tt.prefix]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("start order (-want +got):\n%s", diff)
			}
		})
	}
}

var (
	errStep  = errors.New("step 3 failed: exit status 1")
	errOther = errors.New("exit status 2")
)

func TestRunFailure(t *testing.T) {
	// With one job, builds go in priority order: a (path of 5), b (4),
	// c (3, before f in the plan), f (3), then d, i, g, h, m.
	plan := []string{"a", "b: a", "c: b", "d: c", "f", "g: f", "h: g", "i", "m: d f"}
	targets := []string{"h", "m", "i"}
	tests := []struct {
		name      string
		keepGoing bool
		script    map[string]behaviour
		want      map[string]EventKind
		// reasons are the errors of the failed and skipped steps.
		reasons map[string]string
		err     string
		is      []error
	}{{
		name:   "stop at the first failure",
		script: map[string]behaviour{"f": {err: errStep}},
		want: map[string]EventKind{
			"a": Built, "b": Built, "c": Built,
			"f": Failed, "g": Skipped, "h": Skipped, "m": Skipped, "d": Skipped, "i": Skipped,
		},
		reasons: map[string]string{
			"f": "step 3 failed: exit status 1",
			"g": "input f failed", "h": "input f failed", "m": "input f failed",
			"d": "not started: stopped after f failed",
			"i": "not started: stopped after f failed",
		},
		err: "build f: step 3 failed: exit status 1",
		is:  []error{errStep},
	}, {
		name:      "keep going builds the independent branches",
		keepGoing: true,
		script:    map[string]behaviour{"f": {err: errStep}},
		want: map[string]EventKind{
			"a": Built, "b": Built, "c": Built, "d": Built, "i": Built,
			"f": Failed, "g": Skipped, "h": Skipped, "m": Skipped,
		},
		reasons: map[string]string{
			"f": "step 3 failed: exit status 1",
			"g": "input f failed", "h": "input f failed", "m": "input f failed",
		},
		err: "build f: step 3 failed: exit status 1",
		is:  []error{errStep},
	}, {
		name:      "keep going lists every failure",
		keepGoing: true,
		script:    map[string]behaviour{"b": {err: errOther}, "f": {err: errStep}, "i": {err: errOther}},
		want: map[string]EventKind{
			"a": Built, "b": Failed, "c": Skipped, "d": Skipped,
			"f": Failed, "g": Skipped, "h": Skipped, "m": Skipped, "i": Failed,
		},
		reasons: map[string]string{
			"b": "exit status 2", "c": "input b failed", "d": "input b failed", "m": "input b failed",
			"f": "step 3 failed: exit status 1", "g": "input f failed", "h": "input f failed",
			"i": "exit status 2",
		},
		err: "build b: exit status 2\nbuild f: step 3 failed: exit status 1\nbuild i: exit status 2",
		is:  []error{errStep, errOther},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeak(t)
			p, steps := newPlan(t, plan...)
			f := newFake(tt.script)
			sum, err := Run(context.Background(), p, pick(steps, targets...), f, Options{Jobs: 1, KeepGoing: tt.keepGoing})
			if got := errText(err); got != tt.err {
				t.Errorf("error = %q, want %q", got, tt.err)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(err, %v) = false", target)
				}
			}
			if diff := cmp.Diff(tt.want, states(sum)); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
			reasons := map[string]string{}
			for _, r := range sum.Results {
				if r.Err != nil {
					reasons[r.Step.ID] = r.Err.Error()
				}
			}
			if diff := cmp.Diff(tt.reasons, reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			for id, n := range f.callCounts() {
				if tt.want[id] == Skipped || n != 1 {
					t.Errorf("%s: %d Build calls, state %s", id, n, tt.want[id])
				}
			}
			var failed []string
			for _, r := range sum.Failed() {
				failed = append(failed, r.Step.ID)
			}
			if got, want := len(failed), sum.Count(Failed); got != want {
				t.Errorf("Failed() has %d results, Count(Failed) = %d", got, want)
			}
		})
	}
}

// A failure cancels the builds in flight; they are not reported as
// failures of their own.
func TestRunFailureCancelsRunning(t *testing.T) {
	noLeak(t)
	p, steps := newPlan(t, "slow", "bad", "next")
	f := newFake(map[string]behaviour{
		"slow": {gate: make(chan struct{})}, // only ctx ends it
		"bad":  {err: errStep},
	})
	sum, err := Run(context.Background(), p, pick(steps, "slow", "bad", "next"), f, Options{Jobs: 2})
	if got, want := errText(err), "build bad: step 3 failed: exit status 1"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	want := map[string]EventKind{"slow": Failed, "bad": Failed, "next": Skipped}
	if diff := cmp.Diff(want, states(sum)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if r := sum.Results[0]; !errors.Is(r.Err, context.Canceled) {
		t.Errorf("slow: err = %v, want context.Canceled", r.Err)
	}
}

func TestRunCancel(t *testing.T) {
	noLeak(t)
	p, steps := newPlan(t, "x", "y", "z: x")
	yGate := make(chan struct{})
	f := newFake(map[string]behaviour{
		"x": {gate: make(chan struct{})},
		"y": {gate: yGate, ignoreCtx: true}, // a build slow to notice
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type ret struct {
		sum     *Summary
		err     error
		running int
	}
	done := make(chan ret, 1)
	go func() {
		sum, err := Run(ctx, p, pick(steps, "z", "y"), f, Options{Jobs: 2})
		f.mu.Lock()
		running := f.running
		f.mu.Unlock()
		done <- ret{sum, err, running}
	}()
	receive(t, f.started, "first start")
	receive(t, f.started, "second start")
	cancel()
	if id := receive(t, f.returned, "x to return"); id != "x" {
		t.Fatalf("%s returned first, want x", id)
	}
	close(yGate)
	r := <-done
	if r.running != 0 {
		t.Errorf("Run returned with %d builds still running", r.running)
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", r.err)
	}
	if got, want := errText(r.err), "build interrupted: context canceled"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	want := map[string]EventKind{"x": Failed, "y": Built, "z": Skipped}
	if diff := cmp.Diff(want, states(r.sum)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if got, want := errText(r.sum.Results[2].Err), "not started: context canceled"; got != want {
		t.Errorf("z: reason = %q, want %q", got, want)
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	noLeak(t)
	p, steps := newPlan(t, "a", "b: a")
	f := newFake(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sum, err := Run(ctx, p, pick(steps, "b"), f, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff(map[string]EventKind{"a": Skipped, "b": Skipped}, states(sum)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if n := len(f.callCounts()); n != 0 {
		t.Errorf("%d steps built, want none", n)
	}
}

func TestRunPanic(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		value any
		msg   string
		is    error
	}{
		{"string", "kaboom", "panic: kaboom\n", nil},
		{"error", boom, "panic: boom\n", boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeak(t)
			p, steps := newPlan(t, "p", "q: p", "r")
			f := newFake(map[string]behaviour{"p": {panic: tt.value}})
			sum, err := Run(context.Background(), p, pick(steps, "q", "r"), f, Options{KeepGoing: true})
			if want := map[string]EventKind{"p": Failed, "q": Skipped, "r": Built}; !cmp.Equal(want, states(sum)) {
				t.Errorf("states = %v, want %v", states(sum), want)
			}
			perr := sum.Results[0].Err
			msg := errText(perr)
			if !strings.HasPrefix(msg, tt.msg) {
				t.Errorf("error = %q, want prefix %q", msg, tt.msg)
			}
			if !strings.Contains(msg, "(*fakeBuilder).Build") {
				t.Errorf("stack lacks the panicking frame:\n%s", msg)
			}
			if strings.Contains(msg, "runtime.gopanic") || strings.Contains(msg, "safeBuild") {
				t.Errorf("stack is not trimmed:\n%s", msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(err, %v) = false", tt.is)
			}
			if !strings.HasPrefix(errText(err), "build p: panic: ") {
				t.Errorf("error = %q, want it to name p", errText(err))
			}
		})
	}
}

func TestRunEvents(t *testing.T) {
	noLeak(t)
	p, steps := newPlan(t, "d", "b: d", "c: d", "a: b c", "e")
	f := newFake(map[string]behaviour{
		"d": {logs: []string{"d1", "d2"}},
		"b": {cached: true},
		"c": {logs: []string{"oops"}, err: errOther},
		"e": {logs: []string{"e1"}},
	})
	var rec recorder
	if _, err := Run(context.Background(), p, pick(steps, "a", "e"), f, Options{Jobs: 3, KeepGoing: true, Listener: rec.listen}); err == nil {
		t.Fatal("Run: no error, want c's")
	}
	events := rec.all()
	if rec.overlap.Load() {
		t.Error("listener calls overlapped")
	}

	perStep := map[string][]string{}
	final := map[string]int{}   // index of each step's last event
	started := map[string]int{} // index of each step's Started
	for i, ev := range events {
		s := string(ev.Kind)
		if ev.Kind == LogLine {
			s += ":" + ev.Line
		}
		perStep[ev.ID] = append(perStep[ev.ID], s)
		switch ev.Kind {
		case Started:
			started[ev.ID] = i
		case LogLine:
		default:
			final[ev.ID] = i
		}
		if ev.Time.IsZero() || (i > 0 && ev.Time.Before(events[i-1].Time)) {
			t.Errorf("event %d (%s %s): time %v out of order", i, ev.Kind, ev.ID, ev.Time)
		}
		if ev.Step == nil || ev.Step.ID != ev.ID || ev.Key != "key-"+ev.ID {
			t.Errorf("event %d (%s %s): step or key not set", i, ev.Kind, ev.ID)
		}
		if (ev.Kind == Built || ev.Kind == Cached) != (ev.Outcome != nil) {
			t.Errorf("event %d (%s %s): outcome %v", i, ev.Kind, ev.ID, ev.Outcome)
		}
		if (ev.Kind == Failed || ev.Kind == Skipped) != (ev.Error != "") {
			t.Errorf("event %d (%s %s): error %q", i, ev.Kind, ev.ID, ev.Error)
		}
		if ev.Duration < 0 || (ev.Duration != 0) && (ev.Kind == Started || ev.Kind == LogLine || ev.Kind == Skipped) {
			t.Errorf("event %d (%s %s): duration %v", i, ev.Kind, ev.ID, ev.Duration)
		}
	}
	want := map[string][]string{
		"d": {"started", "log:d1", "log:d2", "built"},
		"b": {"started", "cached"},
		"c": {"started", "log:oops", "failed"},
		"a": {"skipped"},
		"e": {"started", "log:e1", "built"},
	}
	if diff := cmp.Diff(want, perStep); diff != "" {
		t.Errorf("events per step (-want +got):\n%s", diff)
	}
	for id, i := range started {
		for _, dep := range steps[id].Deps {
			if final[dep.ID] > i {
				t.Errorf("%s started before its dep %s ended", id, dep.ID)
			}
		}
	}
	if got, want := events[final["a"]].Error, "input c failed"; got != want {
		t.Errorf("a: skipped because %q, want %q", got, want)
	}

	// A builder that logs after Build returned is ignored.
	f.logs["d"]("late")
	if n := len(rec.all()); n != len(events) {
		t.Errorf("a late log line reached the listener: %d events, want %d", n, len(events))
	}
}

func TestRunInvalidPlan(t *testing.T) {
	p, steps := newPlan(t, "a", "b: a")
	stray, _ := newPlan(t, "stray")
	steps["b"].Deps = append(steps["b"].Deps, stray.Steps[0])
	if _, err := Run(context.Background(), p, pick(steps, "b"), newFake(nil), Options{}); errText(err) != "step stray is not in the plan" {
		t.Errorf("error = %v", err)
	}

	p, steps = newPlan(t, "a", "b")
	steps["a"].Deps = []*plan.Step{steps["b"]}
	if _, err := Run(context.Background(), p, pick(steps, "a"), newFake(nil), Options{}); errText(err) != "step a depends on b, which does not come before it in the plan" {
		t.Errorf("error = %v", err)
	}
}

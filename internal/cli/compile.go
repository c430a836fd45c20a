package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/oci"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type compileFlags struct {
	projectFlags
	targetFlags
	cacheDir   string
	keepGoing  bool
	onlyTarget bool
	dryRun     bool
	verbose    bool
	output     string
	cacheRepo  string
	push       bool
}

func newCompileCmd(io *streams) *cobra.Command {
	f := &compileFlags{}
	cmd := &cobra.Command{
		Use:   "compile [PKG...]",
		Short: "Build packages on a Docker engine into cached artefacts",
		Long: `Build PKG... (default: the manifest's targets, else all), what they need at
runtime, and everything those are built from, on the Docker engine of the
environment (DOCKER_HOST, else the local socket). Each package is built once,
after its inputs, up to --jobs at a time, and only when the cache lacks its
key; its artefact and metadata go to the cache (--cache-dir).

Build logs are kept in the cache folder under logs/. With --output json, the
events of the run (started, log, cached, built, failed, skipped) are printed
as JSON lines on stdout.`,
		Example: `  etk compile
  etk compile system/grub --keep-going -v
  etk compile --dry-run
  etk compile --cache-repo 127.0.0.1:5000/etk/cache --push`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.Validate(); err != nil {
				return err
			}
			return f.run(cmd.Context(), io, args)
		},
	}
	f.projectFlags.AddFlags(cmd)
	f.targetFlags.AddFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.cacheDir, "cache-dir", cache.DefaultDir(), "the local build cache `DIR`")
	fl.BoolVar(&f.keepGoing, "keep-going", false, "when a package fails, still build everything that does not need it")
	fl.BoolVar(&f.onlyTarget, "only-target", false, "build only the named packages; their inputs must be cached")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan (what is cached, what would build) and build nothing")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "print build output as it comes")
	fl.StringVarP(&f.output, "output", "o", "text", "output: text, or json for an event stream on stdout")
	fl.StringVar(&f.cacheRepo, "cache-repo", "", "a shared build cache in an OCI registry, `REGISTRY/REPO`: keys missing locally are fetched from it")
	fl.BoolVar(&f.push, "push", false, "push every package of the run to --cache-repo")
	return cmd
}

func (f *compileFlags) Validate() error {
	if err := f.projectFlags.Validate(); err != nil {
		return err
	}
	if f.output != "text" && f.output != "json" {
		return usagef("--output must be text or json, not %q", f.output)
	}
	if f.push && f.cacheRepo == "" {
		return usagef("--push needs --cache-repo")
	}
	return nil
}

func (f *compileFlags) run(ctx context.Context, io *streams, args []string) error {
	s, p, err := f.load(ctx, io)
	if err != nil {
		return err
	}
	args = p.Targets(args)
	engine, err := dockerEngine(ctx)
	if err != nil {
		return fmt.Errorf("compile needs a Docker engine (DOCKER_HOST, else the local socket): %w", err)
	}
	c, err := cache.Open(f.cacheDir)
	if err != nil {
		return err
	}
	s.SetImageDigest(resolver(ctx, engine, true))
	targets, err := f.targets(s, args)
	if err != nil {
		return err
	}
	pl, diags := s.Plan(ctx, targets)
	if err := diags.Err(); err != nil {
		return err
	}
	if f.dryRun {
		return printPlanStatus(io, pl, c, p.Upstreams)
	}
	steps := pl.Steps
	if f.onlyTarget {
		named, err := s.Targets(args)
		if err != nil {
			return err
		}
		if steps, err = build.OnlyTargets(pl, named, c); err != nil {
			return fmt.Errorf("--only-target: %w", err)
		}
	}
	// Image saves and spools go to a folder of this run's, which the
	// next run removes if this one is killed.
	tmp, release, err := c.RunDir()
	if err != nil {
		return err
	}
	defer release()
	backend := docker.NewBackend(engine, s, docker.WithEpoch(sourceDateEpoch()), docker.WithTempDir(tmp))
	var opts []build.Option
	// A package whose key an upstream has is the upstream's: taken, not built.
	for _, u := range p.Upstreams {
		opts = append(opts, build.WithRemote(u, false))
	}
	if f.cacheRepo != "" {
		remote, err := oci.NewCache(f.cacheRepo, oci.WithTransport(transport()))
		if err != nil {
			return &UsageError{err}
		}
		opts = append(opts, build.WithRemote(remote, f.push))
	}
	b := build.New(backend, c, pl, s, opts...)
	out := newReporter(io, f, c, len(steps))
	sum, runErr := build.Run(ctx, pl, steps, b, build.Options{Jobs: f.jobs, KeepGoing: f.keepGoing, Listener: out.event})
	out.close()
	if sum != nil && f.output == "text" {
		out.summary(sum)
	}
	return runErr
}

// openCacheIfExists opens the cache folder when it is there, without
// creating it.
func openCacheIfExists(dir string) (*cache.Cache, bool) {
	if _, err := os.Stat(dir); err != nil {
		return nil, false
	}
	c, err := cache.Open(dir)
	return c, err == nil
}

// sourceDateEpoch is the artefact timestamp: SOURCE_DATE_EPOCH when set,
// else the Unix epoch, read as the templates' clock is (compiler.Clock;
// opening a project already refused a malformed value).
func sourceDateEpoch() time.Time {
	t, err := compiler.Clock(os.Getenv, "")
	if err != nil {
		return time.Unix(0, 0).UTC()
	}
	return t
}

func printPlanStatus(io *streams, pl *plan.Plan, c *cache.Cache, ups []*repository.Upstream) error {
	w := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "LEVEL\tPACKAGE\tKEY\tSTATUS")
	for i, l := range pl.Levels {
		for _, s := range l {
			status := "cached"
			if _, ok := c.Get(s.Key); !ok {
				status = "build: " + build.WhyRebuild(c, s)
				for _, u := range ups {
					if p, ok := u.Has(s.Key); ok {
						status = "upstream " + u.Name + " (" + p.ID + ")"
						break
					}
				}
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", i, s.ID, s.Key[:16], status)
		}
	}
	return w.Flush()
}

// reporter shows a run: progress, logs, events.
type reporter struct {
	io      *streams
	f       *compileFlags
	logDir  string
	total   int
	done    int
	enc     *json.Encoder
	mu      sync.Mutex
	logs    map[string]*os.File
	tails   map[string][]string
	started time.Time
	// bar shows progress on a terminal; nil in CI and pipes, where plain
	// lines are printed instead.
	bar     *progressbar.ProgressBar
	running map[string]bool
}

func newReporter(io *streams, f *compileFlags, c *cache.Cache, total int) *reporter {
	r := &reporter{io: io, f: f, logDir: filepath.Join(c.Dir(), "logs"), total: total,
		logs: map[string]*os.File{}, tails: map[string][]string{}, started: time.Now()}
	if f.output == "json" {
		r.enc = json.NewEncoder(io.out)
	}
	if fd, ok := io.errOut.(interface{ Fd() uintptr }); ok && r.enc == nil && !f.verbose && term.IsTerminal(int(fd.Fd())) && os.Getenv("CI") == "" {
		r.running = map[string]bool{}
		r.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(io.errOut),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionEnableColorCodes(os.Getenv("NO_COLOR") == ""),
			progressbar.OptionClearOnFinish(),
		)
	}
	return r
}

// line prints a message above the progress bar (or plainly).
func (r *reporter) line(format string, args ...any) {
	if r.bar != nil {
		r.bar.Clear()
	}
	fmt.Fprintf(r.io.errOut, format, args...)
	if r.bar != nil {
		r.bar.RenderBlank()
	}
}

func (r *reporter) describe() {
	var ids []string
	for id := range r.running {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	r.bar.Describe("building " + strings.Join(ids, ", "))
}

const tailLines = 30

func (r *reporter) event(e build.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.enc != nil {
		_ = r.enc.Encode(e)
	}
	switch e.Kind {
	case build.Started:
		if f, err := r.openLog(e); err == nil {
			r.logs[e.ID] = f
		}
		switch {
		case r.bar != nil:
			r.running[e.ID] = true
			r.describe()
		case r.enc == nil:
			fmt.Fprintf(r.io.errOut, "[%d/%d] building %s\n", r.done+1, r.total, e.ID)
		}
	case build.LogLine:
		if f := r.logs[e.ID]; f != nil {
			fmt.Fprintln(f, e.Line)
		}
		t := append(r.tails[e.ID], e.Line)
		if len(t) > tailLines {
			t = t[len(t)-tailLines:]
		}
		r.tails[e.ID] = t
		if r.f.verbose && r.enc == nil {
			fmt.Fprintf(r.io.errOut, "  %s | %s\n", e.ID, e.Line)
		}
	case build.Cached, build.Built, build.Failed, build.Skipped:
		r.done++
		if f := r.logs[e.ID]; f != nil {
			f.Close()
			delete(r.logs, e.ID)
		}
		if r.enc == nil {
			msg := string(e.Kind)
			if e.Duration > 0 && e.Kind != build.Skipped {
				msg += " in " + e.Duration.Round(10*time.Millisecond).String()
			}
			if e.Error != "" {
				msg += ": " + e.Error
			}
			if r.bar != nil {
				delete(r.running, e.ID)
				r.describe()
				r.bar.Add(1)
			}
			if r.bar == nil || e.Kind == build.Failed || e.Kind == build.Built {
				r.line("[%d/%d] %s %s\n", r.done, r.total, e.ID, msg)
			}
			if e.Kind == build.Failed && len(r.tails[e.ID]) > 0 {
				r.line("  last lines of the log (%s):\n", r.logPath(e))
				for _, l := range r.tails[e.ID] {
					r.line("  | %s\n", l)
				}
			}
		}
		delete(r.tails, e.ID)
	}
}

func (r *reporter) logPath(e build.Event) string {
	return filepath.Join(r.logDir, strings.ReplaceAll(e.ID, "/", "_")+".log")
}

func (r *reporter) openLog(e build.Event) (*os.File, error) {
	if err := os.MkdirAll(r.logDir, 0o755); err != nil {
		return nil, err
	}
	return os.Create(r.logPath(e))
}

func (r *reporter) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		r.bar.Finish()
	}
	for _, f := range r.logs {
		f.Close()
	}
}

func (r *reporter) summary(s *build.Summary) {
	w := tabwriter.NewWriter(r.io.errOut, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "\nbuilt %d, cached %d, failed %d, skipped %d in %s\n", s.Count(build.Built), s.Count(build.Cached), s.Count(build.Failed), s.Count(build.Skipped), s.Duration.Round(10*time.Millisecond))
	for _, res := range s.Results {
		if res.State == build.Built || res.State == build.Failed {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", res.Step.ID, res.State, res.Duration.Round(10*time.Millisecond))
		}
	}
	w.Flush()
}

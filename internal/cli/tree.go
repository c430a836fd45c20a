package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/diag"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/etk-build/etk/project"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func newTreeCmd(io *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tree",
		Short: "List, graph and validate the package tree",
	}
	cmd.AddCommand(newTreeListCmd(io), newTreeGraphCmd(io), newTreeValidateCmd(io))
	return cmd
}

type treeListFlags struct {
	projectFlags
	output  string
	deps    bool
	revdeps bool
	match   string
}

func newTreeListCmd(io *streams) *cobra.Command {
	f := &treeListFlags{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the packages of the tree",
		Example: `  etk tree list
  etk tree list --match '^system/' --deps
  etk tree list -o json --flavor opensuse-amd64
  etk tree list --tree ../shared/corpus/elemental-v0.10.7/packages \
    --values ../shared/corpus/elemental-v0.10.7/values/green-x86_64.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.Validate(); err != nil {
				return err
			}
			s, _, diags, err := f.loadTree(cmd.Context(), io)
			if err != nil {
				return err
			}
			if err := f.run(io, s); err != nil {
				return err
			}
			// The healthy packages are listed; the broken ones are named
			// by their errors.
			errs := diags.Errors()
			if len(errs) == 0 {
				return nil
			}
			for _, d := range errs {
				fmt.Fprintln(io.errOut, d.Error())
			}
			return fmt.Errorf("%d error(s) in the tree: %d package(s) not listed, every other package is", len(errs), len(s.Tree.Broken()))
		},
	}
	f.projectFlags.AddFlags(cmd)
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text, json or yaml")
	cmd.Flags().BoolVar(&f.deps, "deps", false, "show each package's requirements (build and runtime)")
	cmd.Flags().BoolVar(&f.revdeps, "revdeps", false, "show the packages that require each package")
	cmd.Flags().StringVar(&f.match, "match", "", "only packages whose category/name@version matches `REGEX`")
	return cmd
}

func (f *treeListFlags) Validate() error {
	if err := f.projectFlags.Validate(); err != nil {
		return err
	}
	switch f.output {
	case "text", "json", "yaml":
	default:
		return usagef("--output must be text, json or yaml, not %q", f.output)
	}
	if _, err := regexp.Compile(f.match); err != nil {
		return usagef("--match: %v", err)
	}
	return nil
}

// listEntry is one package in `tree list` output.
type listEntry struct {
	ID          string   `json:"id" yaml:"id"`
	Category    string   `json:"category,omitempty" yaml:"category,omitempty"`
	Name        string   `json:"name" yaml:"name"`
	Version     string   `json:"version" yaml:"version"`
	Hidden      bool     `json:"hidden,omitempty" yaml:"hidden,omitempty"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Path        string   `json:"path" yaml:"path"`
	BuildDeps   []string `json:"build_requires,omitempty" yaml:"build_requires,omitempty"`
	Requires    []string `json:"requires,omitempty" yaml:"requires,omitempty"`
	RevDeps     []string `json:"required_by,omitempty" yaml:"required_by,omitempty"`
}

func (f *treeListFlags) run(io *streams, s *compiler.Session) error {
	re := regexp.MustCompile(f.match)
	rev := map[*graph.Node][]string{}
	if f.revdeps {
		for _, n := range s.Graph.Nodes {
			seen := map[*graph.Node]bool{}
			for _, e := range append(append([]graph.Edge{}, n.Build...), n.Requires...) {
				if !seen[e.To] {
					seen[e.To] = true
					rev[e.To] = append(rev[e.To], n.Pkg.ID())
				}
			}
		}
	}
	var entries []listEntry
	for _, n := range s.Graph.Nodes {
		p := n.Pkg
		if len(p.Broken) > 0 || !re.MatchString(p.ID()) {
			continue
		}
		e := listEntry{ID: p.ID(), Category: p.Category, Name: p.Name, Version: p.Version, Hidden: p.Hidden,
			Description: strings.TrimSpace(p.Description), Path: p.Pos.File}
		if f.deps {
			for _, d := range n.Build {
				if d.Kind != graph.Final {
					e.BuildDeps = append(e.BuildDeps, d.To.Pkg.ID())
				}
			}
			for _, d := range n.Requires {
				e.Requires = append(e.Requires, d.To.Pkg.ID())
			}
		}
		if f.revdeps {
			e.RevDeps = rev[n]
			sort.Strings(e.RevDeps)
		}
		entries = append(entries, e)
	}
	switch f.output {
	case "json":
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		if entries == nil {
			entries = []listEntry{}
		}
		return enc.Encode(entries)
	case "yaml":
		enc := yaml.NewEncoder(io.out)
		enc.SetIndent(2)
		return enc.Encode(entries)
	}
	for _, e := range entries {
		line := e.ID
		if e.Hidden {
			line += " (hidden)"
		}
		fmt.Fprintln(io.out, line)
		if len(e.BuildDeps) > 0 {
			fmt.Fprintf(io.out, "  build: %s\n", strings.Join(e.BuildDeps, " "))
		}
		if len(e.Requires) > 0 {
			fmt.Fprintf(io.out, "  runtime: %s\n", strings.Join(e.Requires, " "))
		}
		if len(e.RevDeps) > 0 {
			fmt.Fprintf(io.out, "  required by: %s\n", strings.Join(e.RevDeps, " "))
		}
	}
	return nil
}

type treeGraphFlags struct {
	projectFlags
	format  string
	runtime bool
}

func newTreeGraphCmd(io *streams) *cobra.Command {
	f := &treeGraphFlags{}
	cmd := &cobra.Command{
		Use:   "graph [PKG...]",
		Short: "Print the build (or runtime) dependency graph",
		Long: `Print the build dependency graph of the given packages (default: all), or
with --runtime the runtime graph, as Graphviz dot or indented text.`,
		Example: `  etk tree graph meta/foundation --format text
  etk tree graph --format dot | dot -Tsvg > graph.svg
  etk tree graph --runtime meta/foundation`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.Validate(); err != nil {
				return err
			}
			s, _, err := f.load(cmd.Context(), io)
			if err != nil {
				return err
			}
			targets, err := s.Targets(args)
			if err != nil {
				return err
			}
			return f.run(io, s, targets)
		},
	}
	f.projectFlags.AddFlags(cmd)
	cmd.Flags().StringVar(&f.format, "format", "dot", "output format: dot or text")
	cmd.Flags().BoolVar(&f.runtime, "runtime", false, "the runtime graph (requires) instead of the build graph")
	return cmd
}

func (f *treeGraphFlags) Validate() error {
	if err := f.projectFlags.Validate(); err != nil {
		return err
	}
	if f.format != "dot" && f.format != "text" {
		return usagef("--format must be dot or text, not %q", f.format)
	}
	return nil
}

func (f *treeGraphFlags) run(io *streams, s *compiler.Session, targets []*graph.Node) error {
	edges := func(n *graph.Node) []graph.Edge {
		if f.runtime {
			return n.Requires
		}
		return n.Build
	}
	var order []*graph.Node
	if f.runtime {
		var diags diag.List
		order, diags = s.Graph.RuntimeClosure(targets)
		if err := diags.Err(); err != nil {
			return err
		}
	} else {
		var diags diag.List
		order, diags = s.Graph.BuildClosure(targets)
		if err := diags.Err(); err != nil {
			return err
		}
	}
	if f.format == "text" {
		seen := map[*graph.Node]bool{}
		var walk func(n *graph.Node, depth int, kind string)
		walk = func(n *graph.Node, depth int, kind string) {
			label := n.Pkg.ID()
			if kind != "" && kind != "requires" && kind != "runtime" {
				label += " (" + kind + ")"
			}
			if seen[n] && len(edges(n)) > 0 {
				fmt.Fprintf(io.out, "%s%s …\n", strings.Repeat("  ", depth), label)
				return
			}
			seen[n] = true
			fmt.Fprintf(io.out, "%s%s\n", strings.Repeat("  ", depth), label)
			for _, e := range edges(n) {
				if e.Kind == graph.Final {
					continue
				}
				walk(e.To, depth+1, e.Kind.String())
			}
		}
		for _, t := range targets {
			walk(t, 0, "")
		}
		return nil
	}
	fmt.Fprintln(io.out, "digraph etk {")
	fmt.Fprintln(io.out, "  rankdir=LR;")
	for _, n := range order {
		fmt.Fprintf(io.out, "  %q;\n", n.Pkg.ID())
	}
	for _, n := range order {
		for _, e := range edges(n) {
			attr := ""
			switch e.Kind {
			case graph.Copy:
				attr = " [style=dashed,label=copy]"
			case graph.Final:
				attr = " [style=dotted]"
			}
			fmt.Fprintf(io.out, "  %q -> %q%s;\n", n.Pkg.ID(), e.To.Pkg.ID(), attr)
		}
	}
	fmt.Fprintln(io.out, "}")
	return nil
}

func newTreeValidateCmd(io *streams) *cobra.Command {
	f := &projectFlags{}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the tree under every flavor: specs, templates, references, cycles",
		Long: `Load the tree with every flavor of the manifest (or the given --flavor, or
with --tree the given --values) and report every problem: YAML and template
errors, unknown fields, missing, ambiguous and unsatisfiable requirements,
conflicts and cycles, each with its file, line and column. Exit code 1 when
there is an error.`,
		Example: `  etk tree validate
  etk tree validate --flavor debian-amd64 --strict
  etk tree validate --tree ../shared/corpus/elemental-v0.10.7/packages \
    --values ../shared/corpus/elemental-v0.10.7/values/green-x86_64.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.Validate(); err != nil {
				return err
			}
			return validate(cmd, io, f)
		},
	}
	f.AddFlags(cmd)
	return cmd
}

func validate(cmd *cobra.Command, io *streams, f *projectFlags) error {
	p, err := f.openProject(cmd.Context())
	if err != nil {
		return err
	}
	all, total, err := p.Validate(cmd.Context())
	if err != nil {
		if errors.Is(err, project.ErrUsage) {
			return &UsageError{err}
		}
		return err
	}
	var out diag.List
	for _, d := range all {
		if d.Severity == diag.Warning && f.noWarns {
			continue
		}
		out.Add(d)
		fmt.Fprintln(io.errOut, d.Error())
	}
	errs := len(out.Errors())
	name := "the tree"
	if p.Manifest != nil {
		name = p.Manifest.Name
	}
	if errs > 0 {
		return fmt.Errorf("%s: %d error(s), %d warning(s) across %d flavor(s)", name, errs, len(out)-errs, total)
	}
	fmt.Fprintf(io.out, "%s: ok, %d warning(s) across %d flavor(s)\n", name, len(out), total)
	return nil
}

package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
	"github.com/spf13/cobra"
)

type planFlags struct {
	projectFlags
	targetFlags
	output   string
	explain  string
	cacheDir string
	resolve  resolveFlags
}

func newPlanCmd(io *streams) *cobra.Command {
	f := &planFlags{}
	cmd := &cobra.Command{
		Use:   "plan [PKG...]",
		Short: "Compute the build plan and the content-addressed key of each package",
		Long: `Plan the given packages (default: the manifest's targets, else all),
what they need at runtime (unless --build-only) and everything those are built
from, in levels that can build in parallel, with
the key of each package: a sha256 over its rendered spec, its build context
files, the Dockerfile templates, its base image and the keys of its build
inputs. PKG is category/name, category/name@version, or a unique name.`,
		Example: `  etk plan
  etk plan system/grub --explain system/grub
  etk plan --build-only system/dracut
  etk plan -o json meta/foundation`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.Validate(); err != nil {
				return err
			}
			s, p, err := f.load(cmd.Context(), io)
			if err != nil {
				return err
			}
			args = p.Targets(args)
			if f.explain != "" {
				args = append(args, f.explain)
			}
			targets, err := f.targets(s, args)
			if err != nil {
				return err
			}
			// Keys name base images by digest, as etk compile does.
			f.resolve.apply(cmd.Context(), io, s)
			pl, diags := s.Plan(cmd.Context(), targets)
			if err := diags.Err(); err != nil {
				return err
			}
			if f.explain != "" {
				return explain(io, s, pl, f.explain)
			}
			if c, ok := openCacheIfExists(f.cacheDir); ok && f.output == "text" {
				return printPlanStatus(io, pl, c, p.Upstreams)
			}
			return f.print(io, pl)
		},
	}
	f.projectFlags.AddFlags(cmd)
	f.targetFlags.AddFlags(cmd)
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&f.explain, "explain", "", "print the inputs that make up the key of `PKG`")
	f.resolve.AddFlags(cmd)
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", cache.DefaultDir(), "the local build cache `DIR`, to show what is cached and why the rest rebuilds")
	return cmd
}

func (f *planFlags) Validate() error {
	if err := f.projectFlags.Validate(); err != nil {
		return err
	}
	if f.output != "text" && f.output != "json" {
		return usagef("--output must be text or json, not %q", f.output)
	}
	return nil
}

func (f *planFlags) print(io *streams, pl *plan.Plan) error {
	if f.output == "json" {
		type level struct {
			Level int          `json:"level"`
			Steps []*plan.Step `json:"steps"`
		}
		out := struct {
			Levels []level `json:"levels"`
		}{}
		for i, l := range pl.Levels {
			out.Levels = append(out.Levels, level{i, l})
		}
		enc := json.NewEncoder(io.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "LEVEL\tPACKAGE\tKEY\tBUILDS ON")
	for i, l := range pl.Levels {
		for _, s := range l {
			var deps []string
			for _, d := range s.Deps {
				deps = append(deps, d.ID)
			}
			key := s.Key[:16]
			if s.Virtual {
				key += " (virtual)"
			}
			on := strings.Join(deps, " ")
			if b := s.Pkg().Build; b != nil && b.Image != "" {
				on = "image " + b.Image
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", i, s.ID, key, on)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(io.errOut, "%d package(s) in %d level(s)\n", len(pl.Steps), len(pl.Levels))
	return nil
}

func explain(io *streams, s *compiler.Session, pl *plan.Plan, arg string) error {
	n, err := s.Graph.Find(arg)
	if err != nil {
		return err
	}
	st := pl.Step(n)
	fmt.Fprintf(io.out, "%s\nkey %s\n", st.ID, st.Key)
	w := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KIND\tNAME\tDIGEST")
	for _, in := range st.Inputs {
		d := in.Digest
		if d == "" {
			d = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", in.Kind, in.Name, d)
	}
	return w.Flush()
}

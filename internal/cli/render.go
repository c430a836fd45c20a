package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

type renderFlags struct {
	projectFlags
	targetFlags
	resolve resolveFlags
	out     string
}

func newRenderCmd(io *streams) *cobra.Command {
	f := &renderFlags{}
	cmd := &cobra.Command{
		Use:   "render [PKG...]",
		Short: "Write the Dockerfiles and build contexts lists the build will use",
		Long: `Write, for each package of the plan of PKG... (default: the manifest's
targets, else all; see etk plan --help), under DIR/<category>/<name>-<version>/: builder.Dockerfile
and package.Dockerfile (none for a virtual package), the rendered build.yaml,
the key, and context.txt listing the build context files. Same inputs, same
bytes.`,
		Example: `  etk render -o build/dockerfiles
  etk render system/grub -o /tmp/grub`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.Validate(); err != nil {
				return err
			}
			s, p, err := f.load(cmd.Context(), io)
			if err != nil {
				return err
			}
			targets, err := f.targets(s, p.Targets(args))
			if err != nil {
				return err
			}
			f.resolve.apply(cmd.Context(), io, s)
			pl, diags := s.Plan(cmd.Context(), targets)
			if err := diags.Err(); err != nil {
				return err
			}
			if err := s.WriteRender(pl, f.out); err != nil {
				return err
			}
			fmt.Fprintf(io.errOut, "rendered %d package(s) into %s\n", len(pl.Steps), f.out)
			return nil
		},
	}
	f.projectFlags.AddFlags(cmd)
	f.targetFlags.AddFlags(cmd)
	f.resolve.AddFlags(cmd)
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "output `DIR` (required)")
	return cmd
}

func (f *renderFlags) Validate() error {
	if err := f.projectFlags.Validate(); err != nil {
		return err
	}
	if f.out == "" {
		return usagef("render needs -o DIR")
	}
	return nil
}

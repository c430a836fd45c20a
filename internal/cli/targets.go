package cli

import (
	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/graph"
	"github.com/spf13/cobra"
)

// targetFlags choose what a plan covers besides the named packages.
type targetFlags struct {
	buildOnly bool
}

func (f *targetFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.buildOnly, "build-only", false, "plan the packages and what they are built from, not what they need at runtime")
}

// targets resolves the arguments and, unless --build-only, adds their
// runtime closure: what must be built for the targets to be installable.
func (f *targetFlags) targets(s *compiler.Session, args []string) ([]*graph.Node, error) {
	targets, err := s.Targets(args)
	if err != nil || f.buildOnly {
		return targets, err
	}
	all, diags := s.WithRuntime(targets)
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return all, nil
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/etk-build/etk/project"

	"github.com/spf13/cobra"
)

// UsageError marks errors in how etk was called (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode maps an error returned by the root command to an exit code:
// 0 success, 2 usage, 1 anything else.
func ExitCode(err error) int {
	var u *UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u), errors.Is(err, project.ErrUsage):
		return 2
	}
	return 1
}

// streams are where commands write: results to out, the rest to errOut.
type streams struct {
	out, errOut io.Writer
}

// New returns the root command, writing to the process's stdout and stderr.
func New() *cobra.Command {
	return newRoot(&streams{out: os.Stdout, errOut: os.Stderr})
}

func newRoot(io *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "etk",
		Short: "etk compiles package trees into an immutable, upgradable OS",
		Long: `etk is the Elemental toolkit: it loads a tree of package specs (luet's
format: definition.yaml, collection.yaml, build.yaml), renders them with the
values of a flavor, resolves their dependency graph, plans content-addressed
builds and renders the Dockerfiles they use.

The project is found from manifest.yaml, looked up from the working
directory like go.mod (or -C DIR); --tree DIR works on a bare tree instead.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{err} })
	net := &netFlags{}
	net.AddFlags(root)
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return net.Validate() }
	root.SetOut(io.out)
	root.SetErr(io.errOut)
	root.AddCommand(newTreeCmd(io), newPlanCmd(io), newRenderCmd(io), newCompileCmd(io), newPublishCmd(io), newRepoCmd(io), newInstallCmd(io), newUninstallCmd(io), newImageCmd(io), newLockCmd(io), newUpdateCmd(io), newChannelCmd(io), newCacheCmd(io))
	return root
}

// usageArgs wraps a cobra positional-args check so its failure exits 2.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{err}
		}
		return nil
	}
}

func usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

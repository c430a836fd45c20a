package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/etk-build/etk/project"
	"github.com/spf13/cobra"
)

func newLockCmd(out *streams) *cobra.Command {
	var h historyFlags
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Pin every upstream of the manifest's extends: to a verified revision (etk.lock)",
		Long: `Write etk.lock: for each upstream of the manifest's extends:, its URL, the
revision, the digest of its signed snapshot and the ids of the keys that
signed it. An upstream already pinned stays where it is (etk update moves it).
Compile, install and image refuse an upstream that does not match the lock.`,
		Example: "  etk lock",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return relock(cmd.Context(), out, nil, &h)
		},
	}
	h.AddFlags(cmd, "revision of an upstream")
	return cmd
}

func newUpdateCmd(out *streams) *cobra.Command {
	var h historyFlags
	cmd := &cobra.Command{
		Use:   "update [UPSTREAM...]",
		Short: "Move upstream pins to their latest revisions, and say what changed",
		Long: `Move the pins of UPSTREAM... (default: all) in etk.lock to the latest revision
of each, and print what changed. A pin moves only forward along the
upstream's history: a latest revision older than the pinned one (a mirror
rolled back) is refused unless --allow-rollback, and one of another
repository, or whose history does not hold the pinned revision (another
repository signed by the same key, or the upstream rebuilt), unless
--allow-repo-change.`,
		Example: "  etk update foundation",
		RunE: func(cmd *cobra.Command, args []string) error {
			all := map[string]bool{}
			for _, a := range args {
				all[a] = true
			}
			if len(args) == 0 {
				all = nil
			}
			return relock(cmd.Context(), out, func(name string) bool { return all == nil || all[name] }, &h)
		},
	}
	h.AddFlags(cmd, "revision of an upstream")
	return cmd
}

// relock pins upstreams (see project.Relock) and says what moved.
func relock(ctx context.Context, out *streams, move func(string) bool, h *historyFlags) error {
	m, err := currentManifest()
	if err != nil {
		return err
	}
	if m == nil {
		return usagef("no manifest.yaml here or above")
	}
	changes, err := project.Relock(ctx, m, move, h.allow(), openStore)
	if errors.Is(err, project.ErrUsage) {
		return &UsageError{err}
	}
	if err != nil {
		return h.hint(err)
	}
	for _, c := range changes {
		switch {
		case c.From == 0:
			fmt.Fprintf(out.errOut, "%s: pinned to revision %d\n", c.Upstream, c.To)
		case c.From != c.To:
			fmt.Fprintf(out.errOut, "%s: revision %d -> %d\n", c.Upstream, c.From, c.To)
			if ch := c.Changes; ch != nil {
				for _, p := range ch.Added {
					fmt.Fprintf(out.out, "+ %s\n", p.ID)
				}
				for _, p := range ch.Removed {
					fmt.Fprintf(out.out, "- %s\n", p.ID)
				}
				for _, x := range ch.Changed {
					fmt.Fprintf(out.out, "~ %s -> %s\n", x.Old.ID, x.New.ID)
				}
			}
		default:
			fmt.Fprintf(out.errOut, "%s: revision %d\n", c.Upstream, c.To)
		}
	}
	return nil
}

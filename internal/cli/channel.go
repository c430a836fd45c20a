package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/seen"
	"github.com/spf13/cobra"
)

func newChannelCmd(out *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "channel", Short: "Upgrade channels: the OS image versions installed systems upgrade to"}
	cmd.AddCommand(newChannelPublishCmd(out), newChannelListCmd(out))
	return cmd
}

func newChannelPublishCmd(out *streams) *cobra.Command {
	var to []string
	var signKey, channel, version, name string
	var revision int64
	cmd := &cobra.Command{
		Use:   "publish IMAGE@DIGEST",
		Short: "Add an OS image version to a repository's upgrade channel (signed)",
		Long: `Add IMAGE@DIGEST (what etk image build printed) as --version to the channel
of each repository of --to, signed; republishing a version makes it the
newest. Installed systems and derivatives read the channel to find the next
image, pinned by digest.`,
		Example: "  etk channel publish --to /tmp/etk-example-repo --sign-key /tmp/etk-example.key --version 0.1.0 etk.local/foundation:0.1.0@sha256:…",
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, digest, ok := strings.Cut(args[0], "@")
			if !ok || !strings.HasPrefix(digest, "sha256:") {
				return usagef("want IMAGE@sha256:DIGEST, got %q", args[0])
			}
			if version == "" {
				return usagef("channel publish needs --version")
			}
			key, err := signingKey(signKey)
			if err != nil {
				return err
			}
			if len(to) == 0 {
				return usagef("channel publish needs --to URL")
			}
			if name == "" {
				m, err := currentManifest()
				if err != nil {
					return err
				}
				if m != nil {
					name = m.Name
					if m.Publish != nil && m.Publish.Name != "" {
						name = m.Publish.Name
					}
				}
			}
			stores := make([]repository.Store, len(to))
			for i, url := range to {
				if stores[i], err = openWritableStore(url); err != nil {
					return err
				}
			}
			for i, url := range to {
				e := index.ChannelEntry{Version: version, Image: ref, Digest: digest, Revision: revision, Published: sourceDateEpochOrNow().Truncate(time.Second)}
				c, err := repository.PublishChannel(cmd.Context(), stores[i], key, name, channel, e)
				if err != nil {
					return fmt.Errorf("%s: %w", shown(url), err)
				}
				fmt.Fprintf(out.errOut, "%s: channel %s now has %d version(s), newest %s\n", shown(url), channel, len(c.Entries), version)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&to, "to", nil, "repository `URL` (repeatable)")
	cmd.Flags().StringVar(&signKey, "sign-key", "", "private key `FILE` (or ETK_SIGN_KEY)")
	cmd.Flags().StringVar(&channel, "channel", "stable", "channel `NAME`")
	cmd.Flags().StringVar(&version, "version", "", "the image's OS `VERSION`")
	cmd.Flags().StringVar(&name, "name", "", "the repository's name (default: the manifest's)")
	cmd.Flags().Int64Var(&revision, "revision", 0, "the repository revision the image was assembled from")
	return cmd
}

func newChannelListCmd(out *streams) *cobra.Command {
	f := &repoFlags{}
	var channel, state string
	var h historyFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a channel's image versions, oldest first (verified)",
		Long: `Read and verify the channel, and list its image versions, oldest first.
The newest publication of each channel read is remembered in --state
(default $XDG_CONFIG_HOME/etk/seen.json): an older one (a mirror rolled
back) is refused unless --allow-rollback, and the same publication number
with other content, or a channel of another repository where this one was,
unless --allow-repo-change.`,
		Example: "  etk channel list --repo /tmp/etk-example-repo --trust /tmp/etk-example.key.pub",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.url == "" {
				return usagef("--repo URL is required")
			}
			trust, err := f.trusted()
			if err != nil {
				return err
			}
			s, err := openStore(f.url)
			if err != nil {
				return err
			}
			c, err := repository.ReadChannel(cmd.Context(), s, trust, channel)
			if err != nil {
				return fmt.Errorf("%s: channel %s: %w", shown(f.url), channel, err)
			}
			if state == "" {
				if state, err = seen.DefaultFile(); err != nil {
					return fmt.Errorf("no place to remember channels (%w): pass --state FILE", err)
				}
			}
			loc, keys := location(f.url), trustedSigners(trust, nil)
			err = seen.UpdateFile(cmd.Context(), state, func(st *seen.State) error {
				if err := st.CheckChannel(loc, c, keys, h.allow()); err != nil {
					return h.hint(err)
				}
				return st.RememberChannel(loc, c, keys, h.allow())
			})
			if err != nil {
				return fmt.Errorf("%s: %w", f.url, err)
			}
			w := tabwriter.NewWriter(out.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tIMAGE\tREVISION\tPUBLISHED")
			for _, e := range c.Entries {
				fmt.Fprintf(w, "%s\t%s@%s\t%d\t%s\n", e.Version, e.Image, e.Digest, e.Revision, e.Published.Format(time.RFC3339))
			}
			return w.Flush()
		},
	}
	f.AddFlags(cmd)
	cmd.Flags().StringVar(&channel, "channel", "stable", "channel `NAME`")
	cmd.Flags().StringVar(&state, "state", "", "the `FILE` remembering the channels read (default $XDG_CONFIG_HOME/etk/seen.json)")
	h.AddFlags(cmd, "channel publication")
	return cmd
}

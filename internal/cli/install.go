package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/install"
	"github.com/etk-build/etk/repository/seen"
	"github.com/spf13/cobra"
)

type installFlags struct {
	repoFlags
	root         string
	allowReplace bool
	noFinalize   bool
	allowDevices []string
	history      historyFlags
}

// historyFlags accept, explicitly, a repository that does not continue
// what a client trusted before (see repository/seen).
type historyFlags struct {
	rollback, change bool
}

func (h *historyFlags) AddFlags(cmd *cobra.Command, what string) {
	cmd.Flags().BoolVar(&h.rollback, "allow-rollback", false, "accept an older "+what+" than the newest trusted before")
	cmd.Flags().BoolVar(&h.change, "allow-repo-change", false, "accept a repository whose history does not continue the one trusted before, or a URL now serving another repository")
}

func (h *historyFlags) allow() seen.Allow { return seen.Allow{Rollback: h.rollback, Change: h.change} }

// hint says which flag accepts what a history check refused.
func (h *historyFlags) hint(err error) error {
	switch {
	case errors.Is(err, index.ErrRollback):
		return fmt.Errorf("%w\n(if you mean to go back, pass --allow-rollback)", err)
	case errors.Is(err, index.ErrWrongRepository):
		return fmt.Errorf("%w\n(if you trust this repository in its place, pass --allow-repo-change)", err)
	}
	return err
}

// trustedSigners are the ids of the trusted keys among signers (all the
// trusted keys when signers is nil).
func trustedSigners(t index.Trust, signers []string) []string {
	var ids []string
	for _, k := range t.Keys {
		if id := index.KeyID(k); signers == nil || slices.Contains(signers, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// location is how a repository URL is remembered: folders absolute,
// URLs without credentials.
func location(url string) string {
	p, isFile := strings.CutPrefix(url, "file://")
	if isFile || !strings.Contains(url, "://") {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	return seen.Location(url)
}

func newInstallCmd(io *streams) *cobra.Command {
	f := &installFlags{}
	cmd := &cobra.Command{
		Use:   "install PKG...",
		Short: "Install packages and what they need from a repository into a root folder",
		Long: `Resolve PKG... and their runtime closure in the repository's latest verified
revision (one version per package, conflicts refused, an unsatisfiable request
explained), check every artefact's digest as it is read, unpack them into
--root without ever writing outside it, record what each package installed
(a second install is a no-op), then run the finalizers in dependency order,
chrooted into the root.`,
		Example: "  etk install --root /tmp/etk-example-root --repo /tmp/etk-example-repo --trust /tmp/etk-example.key.pub meta/foundation",
		Args:    usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.root == "" {
				return usagef("install needs --root DIR")
			}
			return f.run(cmd.Context(), io, args)
		},
	}
	f.repoFlags.AddFlags(cmd)
	cmd.Flags().StringVar(&f.root, "root", "", "the root folder to install into")
	cmd.Flags().BoolVar(&f.allowReplace, "allow-replace", false, "let a package take over files another installed package owns")
	cmd.Flags().BoolVar(&f.noFinalize, "no-finalize", false, "do not run finalizers")
	cmd.Flags().StringArrayVar(&f.allowDevices, "allow-devices", nil, "let package `PKG` (category/name, an id, or '*') install device nodes (repeatable)")
	f.history.AddFlags(cmd, "revision of the repository")
	return cmd
}

func (f *installFlags) run(ctx context.Context, out *streams, args []string) error {
	if f.url == "" {
		return usagef("--repo URL is required")
	}
	trust, err := f.trusted()
	if err != nil {
		return err
	}
	store, err := openStore(f.url)
	if err != nil {
		return err
	}
	repo, err := repository.Open(ctx, store, trust, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", f.url, err)
	}
	repo.OpenSource = openStore
	// Warnings (world-writable files, device nodes skipped) go to stderr.
	logger := slog.New(slog.NewTextHandler(out.errOut, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	opts := []install.Option{install.Output(out.errOut), install.Logger(logger)}
	if f.allowReplace {
		opts = append(opts, install.AllowReplace())
	}
	if len(f.allowDevices) > 0 {
		opts = append(opts, install.AllowDevices(f.allowDevices...))
	}
	if err := os.MkdirAll(f.root, 0o755); err != nil {
		return err
	}
	root, err := install.Open(f.root, opts...)
	if err != nil {
		return err
	}
	res, err := repository.Install(ctx, repo, root, args, repository.InstallOptions{
		Location: location(f.url), Signers: trustedSigners(trust, repo.Signers), Allow: f.history.allow(),
		NoFinalize: f.noFinalize, Progress: func(id string) { fmt.Fprintf(out.errOut, "installed %s\n", id) },
	})
	if err != nil {
		return fmt.Errorf("%s: %w", f.url, f.history.hint(err))
	}
	fmt.Fprintf(out.errOut, "%d package(s) installed, %d already there, in %s (revision %d of %s)\n", len(res.Installed), res.Already, f.root, repo.Snapshot.Revision, repo.Snapshot.Name)
	return nil
}

func newUninstallCmd(io *streams) *cobra.Command {
	var rootDir string
	cmd := &cobra.Command{
		Use:     "uninstall PKG...",
		Short:   "Remove exactly the files installed packages put in a root",
		Example: "  etk uninstall --root /tmp/etk-example-root system/grub@0.1.0",
		Args:    usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rootDir == "" {
				return usagef("uninstall needs --root DIR")
			}
			root, err := install.Open(rootDir)
			if err != nil {
				return err
			}
			installed, err := root.Installed()
			if err != nil {
				return err
			}
			for _, a := range args {
				id := ""
				want := spec.ParseID(a)
				for _, ip := range installed {
					if ip.ID == a || (want.Version == "" && spec.JoinName(ip.Category, ip.Name) == want.PackageName()) {
						id = ip.ID
					}
				}
				if id == "" {
					return fmt.Errorf("%s is not installed in %s", a, rootDir)
				}
				if err := root.Uninstall(cmd.Context(), id); err != nil {
					return err
				}
				fmt.Fprintf(io.errOut, "uninstalled %s\n", id)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rootDir, "root", "", "the root folder")
	return cmd
}

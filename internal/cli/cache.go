package cli

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/spf13/cobra"
)

func newCacheCmd(io *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "cache", Short: "The local build cache: what it holds, and what killed runs left in it"}
	cmd.AddCommand(newCacheStatusCmd(io), newCacheCleanCmd(io))
	return cmd
}

func newCacheStatusCmd(io *streams) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Count the cache's entries and list the scratch files runs left (live or dead)",
		Long: `List the entries of the local build cache and what runs left in its tmp/
folder: image saves and spools of a run (run-*), and entries being written.
A live run's are in use; a dead run's (killed, or out of power) are removed
by the next compile, or now by etk cache clean.`,
		Example: "  etk cache status",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			// Looking at a cache never makes one.
			c, ok := openCacheIfExists(dir)
			if !ok {
				return fmt.Errorf("no build cache at %s (etk compile makes one; --cache-dir names another)", dir)
			}
			n, size := entries(c.Dir())
			fmt.Fprintf(io.out, "%s: %d entries, %s\n", c.Dir(), n, mib(size))
			left, err := c.Leftovers(false)
			for _, l := range left {
				state := "dead (etk cache clean removes it)"
				if l.Live {
					state = "in use by a live run"
				}
				fmt.Fprintf(io.out, "%s %s %s: %s\n", l.Kind, l.Path, mib(l.Size), state)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "cache-dir", cache.DefaultDir(), "the local build cache `DIR`")
	return cmd
}

func newCacheCleanCmd(io *streams) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:     "clean",
		Short:   "Remove what dead runs left in the cache (never what a live run uses)",
		Example: "  etk cache clean",
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			c, ok := openCacheIfExists(dir)
			if !ok {
				return fmt.Errorf("no build cache at %s", dir)
			}
			left, err := c.Leftovers(true)
			var removed int64
			for _, l := range left {
				if l.Live {
					fmt.Fprintf(io.errOut, "kept %s: in use by a live run\n", l.Path)
					continue
				}
				removed += l.Size
				fmt.Fprintf(io.out, "removed %s (%s)\n", l.Path, mib(l.Size))
			}
			fmt.Fprintf(io.errOut, "%s freed\n", mib(removed))
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "cache-dir", cache.DefaultDir(), "the local build cache `DIR`")
	return cmd
}

// entries counts the committed entries of a cache folder and their size.
func entries(dir string) (n int, size int64) {
	filepath.WalkDir(filepath.Join(dir, "entries"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
			if d.Name() == "metadata.json" {
				n++
			}
		}
		return nil
	})
	return n, size
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/compiletree"
	"github.com/etk-build/etk/repository/index"
	"github.com/spf13/cobra"
)

type publishFlags struct {
	projectFlags
	targetFlags
	cacheDir string
	to       []string
	signKey  string
	name     string
	force    bool
	ttl      time.Duration
	copyUp   bool
}

func newPublishCmd(io *streams) *cobra.Command {
	f := &publishFlags{}
	cmd := &cobra.Command{
		Use:   "publish [PKG...]",
		Short: "Publish built packages as a new signed revision of a repository",
		Long: `Publish PKG... (default: the manifest's targets, else all), with what they
need at runtime, from the build cache (run etk compile first) to each
repository of --to (default: the manifest's publish.to): a folder (path or
file://) or an OCI repository (oci://host[:port]/repo). Blobs the repository
has are not uploaded again; the signed snapshot and the latest pointer are
written last, so an interrupted publish leaves the previous revision intact.
An unchanged index publishes nothing (unless --force, to push the expiry).

The signing key comes from --sign-key FILE, or the environment variable
ETK_SIGN_KEY holding the key file's content (for CI secrets).`,
		Example: `  etk publish --to /tmp/etk-example-repo --sign-key /tmp/etk-example.key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd.Context(), io, args)
		},
	}
	f.projectFlags.AddFlags(cmd)
	f.targetFlags.AddFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.cacheDir, "cache-dir", cache.DefaultDir(), "the local build cache `DIR`")
	fl.StringArrayVar(&f.to, "to", nil, "repository `URL` to publish to (repeatable)")
	fl.StringVar(&f.signKey, "sign-key", "", "private key `FILE` to sign with (or ETK_SIGN_KEY)")
	fl.StringVar(&f.name, "name", "", "repository name (default: the manifest's publish.name, else its name)")
	fl.BoolVar(&f.force, "force", false, "publish a new revision even when nothing changed")
	fl.DurationVar(&f.ttl, "ttl", 30*24*time.Hour, "how long the revision's signature is valid (more than 0)")
	fl.BoolVar(&f.copyUp, "copy-upstream", false, "copy the artefacts a derivative reuses from its upstreams, instead of referring to them there")
	return cmd
}

func (f *publishFlags) run(ctx context.Context, io *streams, args []string) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if f.ttl <= 0 {
		// A revision that expires when it is published (or before) is
		// refused by every reader: zero is a mistake, not "the default".
		return usagef("--ttl %s: a revision must stay valid for a while; give a positive duration (the default is 720h, 30 days)", f.ttl)
	}
	key, err := signingKey(f.signKey)
	if err != nil {
		return err
	}
	s, p, err := f.load(ctx, io)
	if err != nil {
		return err
	}
	args = p.Targets(args)
	to, name := f.to, f.name
	if len(to) == 0 {
		to = p.PublishTo()
	}
	if name == "" {
		name = p.Name()
	}
	if len(to) == 0 {
		return usagef("nowhere to publish: pass --to URL or set publish.to in the manifest")
	}
	if name == "" {
		return usagef("the repository needs a name: --name")
	}
	// Every destination is opened before any work, so that one that
	// cannot be written to is said at once.
	stores := make([]repository.Store, len(to))
	for i, url := range to {
		if stores[i], err = openWritableStore(url); err != nil {
			return err
		}
	}
	c, err := cache.Open(f.cacheDir)
	if err != nil {
		return err
	}
	// The keys of what was built name base images by digest: an engine
	// must say them, or nothing would match.
	e, err := dockerEngine(ctx)
	if err != nil {
		e = nil
	}
	s.SetImageDigest(resolver(ctx, e, false))
	targets, err := f.targets(s, args)
	if err != nil {
		return err
	}
	pl, diags := s.Plan(ctx, targets)
	if err := diags.Err(); err != nil {
		return err
	}
	entries, err := repository.CachedEntries(pl, c, p.Upstreams, f.copyUp)
	if err != nil {
		return err
	}
	tree, err := p.CompileTree(s.Tree.Sources)
	if err != nil {
		return err
	}
	for i, url := range to {
		res, err := repository.Publish(ctx, stores[i], entries, repository.PublishOptions{
			Name: name, Key: key, Time: sourceDateEpochOrNow(), TTL: f.ttl, Force: f.force,
			Tree: tree, TreeMediaType: compiletree.MediaType,
		})
		if err != nil {
			return fmt.Errorf("publish to %s: %w", shown(url), err)
		}
		if res.Unchanged {
			fmt.Fprintf(io.errOut, "%s: unchanged, still revision %d\n", shown(url), res.Snapshot.Revision)
		} else {
			fmt.Fprintf(io.errOut, "%s: revision %d, %d packages, %d blobs uploaded\n", shown(url), res.Snapshot.Revision, len(entries), res.Uploaded)
		}
		fmt.Fprintf(io.out, "%s %d %s\n", shown(url), res.Snapshot.Revision, res.Snapshot.Index.Digest)
	}
	return nil
}

// signingKey reads the key from a file, or from ETK_SIGN_KEY.
func signingKey(file string) (index.PrivateKey, error) {
	if file != "" {
		return index.ReadPrivateKeyFile(file)
	}
	if v := os.Getenv("ETK_SIGN_KEY"); v != "" {
		return index.ParsePrivateKey([]byte(v))
	}
	return nil, usagef("publishing signs: pass --sign-key FILE (make one with etk repo keygen) or set ETK_SIGN_KEY")
}

// sourceDateEpochOrNow is the publication time.
func sourceDateEpochOrNow() time.Time {
	if os.Getenv("SOURCE_DATE_EPOCH") != "" {
		return sourceDateEpoch()
	}
	return time.Now().UTC()
}

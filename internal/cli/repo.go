package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/index"
	"github.com/spf13/cobra"
)

// repoFlags select a repository to read and the keys to trust.
type repoFlags struct {
	url   string
	trust []string
	seen  int64
}

func (f *repoFlags) AddFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "repo", "", "the repository `URL`: a folder, http(s)://, or oci://host/repo")
	cmd.Flags().StringArrayVar(&f.trust, "trust", nil, "a trusted public key `FILE` (repeatable; default: the manifest's publish.trusted_keys)")
	cmd.Flags().Int64Var(&f.seen, "min-revision", 0, "refuse revisions older than `N` (the newest this client saw)")
}

// open verifies and reads revision rev (0: latest).
func (f *repoFlags) open(ctx context.Context, rev int64) (*repository.Repo, error) {
	if f.url == "" {
		return nil, usagef("--repo URL is required")
	}
	trust, err := f.trusted()
	if err != nil {
		return nil, err
	}
	s, err := openStore(f.url)
	if err != nil {
		return nil, err
	}
	r, err := repository.Open(ctx, s, trust, rev)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shown(f.url), err)
	}
	r.OpenSource = openStore
	return r, nil
}

func (f *repoFlags) trusted() (index.Trust, error) {
	files := f.trust
	if len(files) == 0 {
		m, err := currentManifest()
		if err != nil {
			return index.Trust{}, err
		}
		if m != nil && m.Publish != nil {
			for _, k := range m.Publish.TrustedKeys {
				files = append(files, m.Path(k))
			}
		}
	}
	if len(files) == 0 {
		return index.Trust{}, usagef("no trusted keys: pass --trust KEY.pub (etk trusts nothing unsigned)")
	}
	t := index.Trust{MinRevision: f.seen}
	for _, file := range files {
		k, err := index.ReadPublicKeyFile(file)
		if err != nil {
			return t, err
		}
		t.Keys = append(t.Keys, k)
	}
	return t, nil
}

func newRepoCmd(io *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "repo", Short: "Keys, and reading published repositories"}
	cmd.AddCommand(newKeygenCmd(io), newRepoListCmd(io), newRepoShowCmd(io), newRepoDiffCmd(io), newRepoVerifyCmd(io))
	return cmd
}

func newKeygenCmd(io *streams) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make an ed25519 signing key pair: FILE (private, 0600) and FILE.pub",
		Example: `  etk repo keygen -o /tmp/etk-example.key
  etk publish --sign-key /tmp/etk-example.key --to /tmp/etk-example-repo --force`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("keygen needs -o FILE")
			}
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("%s exists; etk does not overwrite keys", out)
			}
			k, err := index.GenerateKey()
			if err != nil {
				return err
			}
			if err := index.WritePrivateKeyFile(out, k); err != nil {
				return err
			}
			pub := k.Public().(index.PublicKey)
			if err := index.WritePublicKeyFile(out+".pub", pub); err != nil {
				return err
			}
			fmt.Fprintf(io.out, "%s\n", index.KeyID(pub))
			fmt.Fprintf(io.errOut, "private key %s, public key %s.pub\n", out, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "private key `FILE`; the public key goes to FILE.pub")
	return cmd
}

// revisionCmd is a read command on one verified revision of a
// repository: --repo, --trust, --min-revision and --revision, then run.
func revisionCmd(use, short, example string, run func(ctx context.Context, r *repository.Repo) error) *cobra.Command {
	f := &repoFlags{}
	var rev int64
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := f.open(cmd.Context(), rev)
			if err != nil {
				return err
			}
			return run(cmd.Context(), r)
		},
	}
	f.AddFlags(cmd)
	cmd.Flags().Int64Var(&rev, "revision", 0, "revision `N` (default: latest)")
	return cmd
}

func newRepoListCmd(io *streams) *cobra.Command {
	return revisionCmd("list", "List the packages of a repository revision (verified)",
		"  etk repo list --repo /tmp/etk-example-repo --trust /tmp/etk-example.key.pub",
		func(_ context.Context, r *repository.Repo) error {
			w := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PACKAGE\tKEY\tSIZE")
			for _, p := range r.Index.Packages {
				size := "-"
				if p.Artefact != nil {
					size = strconv.FormatInt(p.Artefact.Size, 10)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", p.ID, p.Key[:16], size)
			}
			return w.Flush()
		})
}

func newRepoShowCmd(io *streams) *cobra.Command {
	return revisionCmd("show", "Show a repository revision: name, revision, times, index digest, signer",
		"  etk repo show --repo /tmp/etk-example-repo --trust /tmp/etk-example.key.pub",
		func(_ context.Context, r *repository.Repo) error {
			s := r.Snapshot
			fmt.Fprintf(io.out, "name      %s\nrevision  %d\npublished %s\nexpires   %s\nindex     %s (%d bytes)\npackages  %d\nsigned by %s\n",
				s.Name, s.Revision, s.Timestamp.Format(time.RFC3339), s.Expires.Format(time.RFC3339), s.Index.Digest, s.Index.Size, len(r.Index.Packages), strings.Join(r.Signers, ", "))
			return nil
		})
}

func newRepoDiffCmd(io *streams) *cobra.Command {
	f := &repoFlags{}
	cmd := &cobra.Command{
		Use:     "diff REV_A REV_B",
		Short:   "Packages added, removed and changed between two revisions",
		Example: "  etk repo diff 1 2 --repo /tmp/etk-example-repo --trust /tmp/etk-example.key.pub",
		Args:    usageArgs(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var revs [2]int64
			for i, a := range args {
				n, err := strconv.ParseInt(a, 10, 64)
				if err != nil || n < 1 {
					return usagef("revision %q: want a number from 1", a)
				}
				revs[i] = n
			}
			a, err := f.open(cmd.Context(), revs[0])
			if err != nil {
				return err
			}
			b, err := f.open(cmd.Context(), revs[1])
			if err != nil {
				return err
			}
			ch := index.Diff(a.Index, b.Index)
			for _, p := range ch.Added {
				fmt.Fprintf(io.out, "+ %s\n", p.ID)
			}
			for _, p := range ch.Removed {
				fmt.Fprintf(io.out, "- %s\n", p.ID)
			}
			for _, c := range ch.Changed {
				fmt.Fprintf(io.out, "~ %s -> %s\n", c.Old.ID, c.New.ID)
			}
			return nil
		},
	}
	f.AddFlags(cmd)
	return cmd
}

func newRepoVerifyCmd(io *streams) *cobra.Command {
	return revisionCmd("verify", "Verify a revision: its signature, its index, and every blob's digest",
		"  etk repo verify --repo /tmp/etk-example-repo --trust /tmp/etk-example.key.pub",
		func(ctx context.Context, r *repository.Repo) error {
			var bad []string
			n := 0
			for _, p := range r.Index.Packages {
				n++
				if err := drainBlob(ctx, r, p.Metadata); err != nil {
					bad = append(bad, fmt.Sprintf("%s: %v", p.ID, err))
				}
				if p.Artefact != nil {
					n++
					if err := drainArtefact(ctx, r, p); err != nil {
						bad = append(bad, fmt.Sprintf("%s: %v", p.ID, err))
					}
				}
			}
			reportLeftovers(io, r)
			if len(bad) > 0 {
				return errors.New(strings.Join(bad, "\n"))
			}
			fmt.Fprintf(io.out, "%s revision %d: signature, index and %d blobs verified\n", r.Snapshot.Name, r.Snapshot.Revision, n)
			return nil
		})
}

func drainArtefact(ctx context.Context, r *repository.Repo, p index.Package) error {
	rc, err := r.FetchArtefact(ctx, p)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func drainBlob(ctx context.Context, r *repository.Repo, b index.Blob) error {
	rc, err := r.Fetch(ctx, b)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// reportLeftovers says what publishes that died left in a folder
// repository's .tmp (the next publish removes them).
func reportLeftovers(io *streams, r *repository.Repo) {
	s, ok := r.Store().(*dir.Store)
	if !ok {
		return
	}
	left, _ := s.Leftovers()
	var dead, live int
	var size int64
	for _, l := range left {
		if l.Live {
			live++
			continue
		}
		dead++
		size += l.Size
	}
	if dead > 0 {
		fmt.Fprintf(io.errOut, "note: .tmp holds %d file(s), %s, left by publishes that died; the next publish to it removes them\n", dead, mib(size))
	}
	if live > 0 {
		fmt.Fprintf(io.errOut, "note: a publish to this repository is running (%d file(s) being written)\n", live)
	}
}

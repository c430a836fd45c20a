package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/etk-build/etk/compiler/manifest"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/image"
	"github.com/etk-build/etk/repository/oci"
	"github.com/spf13/cobra"
)

type imageFlags struct {
	repoFlags
	tag       string
	layout    string
	name      string
	version   string
	maxLayers int
	profiles  []string
}

func newImageCmd(out *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "The single-image OS"}
	f := &imageFlags{}
	build := &cobra.Command{
		Use:   "build [PKG...]",
		Short: "Assemble the OS image from a repository's packages, without a daemon",
		Long: `Resolve PKG... (default: the manifest's image.packages) and what they need in
the repository's latest verified revision, and assemble one OS container image:
a layer per package in install order (or at most --max-layers), deterministic
digests, labels naming the OS, its version, the repository revision and every
package. -t pushes it to a registry; --layout writes an OCI image layout.`,
		Example: "  etk image build --repo /tmp/etk-example-repo --trust /tmp/etk-example.key.pub --layout /tmp/etk-example-image -t etk.local/foundation:0.1.0 meta/foundation",
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd.Context(), out, args)
		},
	}
	f.repoFlags.AddFlags(build)
	fl := build.Flags()
	fl.StringVarP(&f.tag, "tag", "t", "", "push the image as `REF` (host[:port]/repo:tag); with --layout, the name it is filed under")
	fl.StringVar(&f.layout, "layout", "", "write an OCI image layout to `DIR`")
	fl.StringVar(&f.name, "name", "", "OS name label (default: the manifest's image.name, else its name)")
	fl.StringVar(&f.version, "version", "", "OS version label (default: the manifest's)")
	fl.IntVar(&f.maxLayers, "max-layers", 0, "at most `N` layers (0: one per package)")
	fl.StringSliceVar(&f.profiles, "profile", nil, "profiles (`a,b`) whose image package set to use (the last naming one wins)")
	cmd.AddCommand(build)
	return cmd
}

func (f *imageFlags) run(ctx context.Context, out *streams, args []string) error {
	if f.tag == "" && f.layout == "" {
		return usagef("image build needs -t REF or --layout DIR")
	}
	name, version, maxLayers := f.name, f.version, f.maxLayers
	var cmdline []string
	m, err := currentManifest()
	if err != nil {
		return err
	}
	if m != nil {
		var profs []*manifest.Profile
		for _, pn := range f.profiles {
			prof, err := m.LoadProfile(pn)
			if err != nil {
				return &UsageError{err}
			}
			profs = append(profs, prof)
		}
		img := m.ImageFor(profs)
		if len(args) == 0 {
			args = img.Packages
		}
		name, version, maxLayers = cmp.Or(name, img.Name), cmp.Or(version, img.Version), cmp.Or(maxLayers, img.MaxLayers)
		cmdline = img.Cmd
	}
	if len(args) == 0 {
		return usagef("which packages? name them, or set image.packages in the manifest")
	}
	if name == "" {
		return usagef("the image needs a name: --name")
	}
	repo, err := f.open(ctx, 0)
	if err != nil {
		return err
	}
	set, err := repository.Resolve(repo.Index, args)
	if err != nil {
		return err
	}
	cfg := image.Config{Name: name, Version: version, Revision: strconv.FormatInt(repo.Snapshot.Revision, 10),
		Created: sourceDateEpoch(), MaxLayers: maxLayers, Cmd: cmdline}
	for _, p := range set {
		l := image.Layer{ID: p.ID, Key: p.Key}
		if p.Artefact != nil {
			pkg := p
			l.Artefact = func() (io.ReadCloser, error) { return repo.FetchArtefact(ctx, pkg) }
			ip, err := repo.InstallPackage(ctx, p)
			if err != nil {
				return err
			}
			l.Metadata = ip.Artefact
		}
		cfg.Packages = append(cfg.Packages, l)
	}
	img, err := image.Build(ctx, cfg)
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	if f.layout != "" {
		ref := f.tag
		if ref == "" {
			ref = name + ":" + version
		}
		if err := image.WriteLayout(ctx, img, f.layout, ref); err != nil {
			return err
		}
		fmt.Fprintf(out.errOut, "wrote %s to the OCI layout %s\n", ref, f.layout)
	}
	if f.tag != "" && f.layout == "" {
		if _, err := oci.PushImage(ctx, img, f.tag, oci.WithTransport(transport())); err != nil {
			return err
		}
		fmt.Fprintf(out.errOut, "pushed %s\n", shownRef(f.tag))
	}
	fmt.Fprintf(out.out, "%s\n", digest)
	return nil
}

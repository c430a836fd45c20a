package repository

import (
	"context"
	"fmt"
	"io"

	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/install"
	"github.com/etk-build/etk/repository/seen"
)

// InstallOptions tune Install.
type InstallOptions struct {
	// Location is where the repository was read from, as the root
	// remembers it (a folder made absolute, a URL without credentials).
	Location string
	// Signers are the ids of the trusted keys that signed the revision.
	Signers []string
	// Allow accepts, explicitly, a revision that does not continue what
	// the root trusted before (see repository/seen).
	Allow seen.Allow
	// NoFinalize skips the finalizers.
	NoFinalize bool
	// Progress, when set, is told of each package installed.
	Progress func(id string)
}

// InstallResult says what Install did.
type InstallResult struct {
	// Installed are the packages installed now; Already those whose
	// build was there.
	Installed []install.Package
	Already   int
}

// Install installs what names resolve to in r (with what they need at
// runtime) into root: first the root checks that r continues the history
// it trusted (refusing an older revision or another repository unless
// Allow says so) and remembers it; then each package whose build is not
// there already is installed, its artefact verified against the signed
// index and held to its signed metadata as it streams; then, unless told
// not to, the finalizers of what was installed run, in dependency order.
func Install(ctx context.Context, r *Repo, root *install.Root, names []string, o InstallOptions) (*InstallResult, error) {
	resolved, err := ResolveSet(r.Index, names)
	if err != nil {
		return nil, err
	}
	if err := root.Seen(ctx, func(st *seen.State) error {
		if err := st.CheckRepository(ctx, r.store, o.Location, r.Snapshot, o.Signers, o.Allow); err != nil {
			return err
		}
		return st.RememberRepository(o.Location, r.Snapshot, o.Signers, o.Allow)
	}); err != nil {
		return nil, err
	}
	have := map[string]string{}
	if installed, err := root.Installed(); err == nil {
		for _, ip := range installed {
			have[ip.ID] = ip.Key
		}
	}
	res := &InstallResult{}
	for _, p := range resolved.Packages {
		if have[p.ID] == p.Key {
			res.Already++
			continue // the same build is installed: nothing to do, nothing to finalize
		}
		ip, err := r.InstallPackage(ctx, p)
		if err != nil {
			return nil, err
		}
		// What the package needs, it was built on: its artefact may
		// change their files (a user in /etc/passwd, say).
		ip.Replaces = resolved.Needs[p.ID]
		var art io.ReadCloser
		if p.Artefact != nil {
			if art, err = r.FetchArtefact(ctx, p); err != nil {
				return nil, fmt.Errorf("%s: %w", p.ID, err)
			}
		}
		err = root.Install(ctx, ip, art)
		if art != nil {
			art.Close()
		}
		if err != nil {
			return nil, err
		}
		res.Installed = append(res.Installed, ip)
		if o.Progress != nil {
			o.Progress(p.ID)
		}
	}
	if !o.NoFinalize {
		if err := root.Finalize(ctx, res.Installed); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// InstallPackage is what the installer needs of an indexed package: its
// identity, its verified artefact metadata and its finalizer.
func (r *Repo) InstallPackage(ctx context.Context, p index.Package) (install.Package, error) {
	m, err := r.PackageMetadata(ctx, p)
	if err != nil {
		return install.Package{}, err
	}
	ip := install.Package{ID: p.ID, Category: p.Category, Name: p.Name, Version: p.Version, Key: p.Key, Artefact: m.Artefact}
	if m.Finalize != nil {
		ip.Finalize, ip.Shell = m.Finalize.Install, m.Finalize.Shell
	}
	return ip, nil
}

//go:build linux

package install

import (
	"fmt"

	"github.com/etk-build/etk/compiler/artifact"
	"golang.org/x/sys/unix"
)

// The install policy looks at what the package's signed metadata says its
// artefact holds, before a byte of the artefact is read; the artefact is
// then held to the metadata entry for entry (artifact.Expect), so what it
// installs is what was checked.

// checkDevices refuses device nodes unless the package is allowed them.
func checkDevices(p Package, o *options) error {
	var devices []string
	for _, f := range p.Artefact.Files {
		if f.Type == artifact.TypeChar || f.Type == artifact.TypeBlock {
			devices = append(devices, fmt.Sprintf("%s (%s %d,%d)", f.Path, f.Type, f.Devmajor, f.Devminor))
		}
	}
	if len(devices) == 0 || o.devices["*"] || o.devices[p.ID] || o.devices[joinName(p.Category, p.Name)] {
		return nil
	}
	more := ""
	if len(devices) > 3 {
		devices, more = devices[:3], fmt.Sprintf(" and %d more", len(devices)-3)
	}
	return fmt.Errorf("%w: the package holds device nodes: %s%s; allow them for this package explicitly if it must create them", ErrNotAllowed, joinComma(devices), more)
}

// warnModes warns about world-writable files, and world-writable
// directories without the sticky bit, and logs setuid and setgid files.
func (in *installer) warnModes(m *artifact.Metadata) {
	for _, f := range m.Files {
		if f.Type == artifact.TypeSymlink || f.Type == artifact.TypeHardlink {
			continue // a symlink's mode means nothing, a hardlink's is its target's
		}
		switch {
		case f.Type == artifact.TypeDir && f.Mode&0o002 != 0 && f.Mode&0o1000 == 0:
			in.warn("%s: world-writable directory without the sticky bit (mode %04o)", f.Path, f.Mode)
		case f.Type != artifact.TypeDir && f.Mode&0o002 != 0:
			in.warn("%s: world-writable %s (mode %04o)", f.Path, f.Type, f.Mode)
		}
		if f.Type == artifact.TypeFile && f.Mode&0o6000 != 0 {
			in.opts.log.Info("setuid or setgid file", "package", in.p.ID, "path", f.Path, "mode", fmt.Sprintf("%04o", f.Mode), "uid", f.UID, "gid", f.GID)
		}
	}
}

func joinName(category, name string) string {
	if category == "" {
		return name
	}
	return category + "/" + name
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// room refuses an artefact whose metadata says it needs more bytes or
// inodes than the root's filesystem has free: better now than once the
// disk is full. The artefact cannot write more than its metadata says.
func room(t *tree, dir string, m *artifact.Metadata) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(t.fd, &st); err != nil {
		return nil // a filesystem that cannot say: the bounds still hold
	}
	free := st.Bavail * uint64(st.Bsize)
	if m.InstalledSize > 0 && uint64(m.InstalledSize) > free {
		return fmt.Errorf("%w: the package installs %d bytes, the filesystem of %s has %d free", ErrNoSpace, m.InstalledSize, dir, free)
	}
	if st.Files > 0 && uint64(len(m.Files)) > st.Ffree {
		return fmt.Errorf("%w: the package installs %d entries, the filesystem of %s has %d free inodes", ErrNoSpace, len(m.Files), dir, st.Ffree)
	}
	return nil
}

// Package install owns installing packages into a root folder: unpacking
// their artefacts (see compiler/artifact) safely, recording what each
// package installed, uninstalling it, and running finalizers.
//
// # Database
//
// A root's install database is <root>/var/lib/etk/installed/: one JSON
// file per package, <category>_<name>.json (format etk-installed/v1),
// holding the Package and the Files it installed (path, type, mode, sha256
// of a regular file, link target) in path order, plus warnings. Records
// are written to a temporary file, synced and renamed; a lock file there
// serialises changes across processes. One version of a package is
// installed at a time: installing another replaces it. A record that
// cannot be read stops every change until it is fixed (ErrBadRecord).
//
// # Never outside the root
//
// Every path is resolved from a descriptor of the root, one element at a
// time with O_NOFOLLOW: a symlink already in the root or written by the
// artefact is never followed, so an artefact that plants "a -> /etc" (or
// "a -> ../../..") and then writes "a/passwd" fails (ErrUnsafePath), and
// so does one writing under a symlink the root had (a merged-/usr "lib"
// too: artefacts must use the real paths). Symlink targets are data,
// stored as they are. Names that are absolute or hold ".." fail in
// artifact.Walk. Files, symlinks and nodes are created under a random
// name with O_EXCL|O_NOFOLLOW semantics in the same directory, then
// renamed into place. A hardlink may only point to a file this install
// wrote, checked by inode. Paths at or under /var/lib/etk, and
// non-directories replacing its parents, are refused (ErrReserved).
//
// # What an artefact may install
//
// An artefact comes with its metadata (Package.Artefact, from the
// package's signed metadata.json), and Install holds it to it entry for
// entry as it streams (artifact.Expect): an entry the metadata does not
// list, or lists with another type, mode, owner, size, target or device
// numbers, content of another digest, more compressed bytes than the
// metadata's size or more tar bytes than its entries need, fail with
// artifact.ErrMismatch before the entry is written, and the install is
// rolled back. So at most InstalledSize bytes of content are written,
// and never a file the metadata does not list. Before a byte is read
// (and before the database is created), the metadata is checked against
// the policy: device nodes are refused (ErrNotAllowed) unless the package
// is allowed them (AllowDevices); the filesystem must have
// InstalledSize bytes and an inode per entry free (ErrNoSpace).
// World-writable files, and world-writable directories without the
// sticky bit, install with a warning in the record (and the Logger);
// setuid and setgid files install as listed, and are logged at Info.
//
// # Entries
//
// Modes are the archive's exactly (setuid, setgid and sticky included,
// no umask); running as root, owners are the archive's uid and gid,
// otherwise the current user's. mtimes come from the archive, directories
// last. Device nodes (when allowed) are created only as root; otherwise
// they are skipped with a warning in the record. Extended attributes are set where the
// filesystem and the user allow, else skipped with a warning. Missing
// parents are created 0755, owned by root, and listed as the package's.
// As the format says, a non-directory entry replaces whatever is at its
// path, a whole subtree included; a directory entry over a directory
// keeps its contents and updates its metadata.
//
// # Conflicts
//
// Writing a path that another installed package lists is an error
// naming both and the path (ErrConflict), unless it is a directory
// over a directory: directories are shared. So is replacing a directory
// under which another package lists paths. With AllowReplace, the new
// package takes the paths over and they leave the other's record.
// Package.Replaces does the same for the packages it names: those it
// needs, whose files its artefact changes by design (a user added to
// /etc/passwd), while unrelated packages still conflict. Files in the
// root that no package lists are replaced silently.
//
// # Deletions
//
// Whiteouts and opaque markers are applied after the artefact's entries
// are written, so they never touch them. They remove what the root had
// at those paths, except the database, paths another installed package
// lists (kept, with a warning) and directories holding any of those.
// An opaque marker for the root itself is refused.
//
// # Failures
//
// What Install replaces or deletes is first renamed aside in its
// directory; what it creates is journaled. On any failure before the
// record is written (a truncated stream, a conflict, an unsafe entry, a
// cancelled context), the journal is undone, last step first, and the
// database is unchanged. Removing what was set aside, and directory
// metadata, come after the record; errors there are reported but the
// package stays installed. A crash mid-install may leave files and
// ".etk-*" temporaries without a record.
//
// # Uninstall
//
// Uninstall removes the files a package lists, even if changed since,
// except those another package also lists; a directory goes only if it
// is empty, no other package lists it or anything under it, and it was
// not in the root before any package listed it ("foreign"). Files in the
// root that a package replaced are not restored.
//
// # Finalize
//
// Finalizers run with /bin/sh -c (or the package's Shell), chrooted into
// the root unless it is "/", in "/", with PATH and ETK_ROOT=/ only.
package install

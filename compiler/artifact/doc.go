// Package artifact owns the artefact: turning the layers of a package's
// image into one exact, byte-for-byte reproducible archive of what the
// package installs, and reading such an archive back.
//
// # What goes in
//
// Delta takes the layers the package's steps added on top of its builder
// image; Full takes all layers of an image (for unpack: true and
// package_dir). Layers are uncompressed OCI/Docker layer tars, merged
// lowest first: a later entry replaces an earlier one at the same path (a
// non-directory replaces a whole subtree, a directory over a directory
// keeps its contents), ".wh.<name>" removes <name> and its subtree from
// lower layers, and ".wh..wh..opq" in a directory removes what lower layers
// put in it; both apply to lower layers only, wherever the layer lists
// them. Other ".wh..wh." names are aufs bookkeeping and skipped. A layer
// entry whose name is absolute or holds a ".." element is refused with an
// error naming the layer and the entry (ErrUnsafePath), and so is a
// hardlink target of that kind; symlink targets are data and kept as they
// are. Sparse entries are refused (ErrBadLayer): Docker and BuildKit never
// write them, and a few bytes of one can claim terabytes of holes. Hardlink targets must be earlier entries of the merged layers;
// Delta cannot see the builder's layers, so a step's hardlink to a
// builder's file is an error (ErrBadLayer).
//
// Delta keeps the merged entries and records, as deletions, the paths the
// steps removed from below (whiteouts) and the directories they emptied
// (opaque markers); a deletion under a path that is itself deleted or
// opaque is implied and not repeated. Full applies whiteouts and records
// none, then keeps only the subtree at Spec.PackageDir, re-rooted at "/".
//
// Spec.Includes and Spec.Excludes are Go regexps matched against the
// absolute artefact path ("/usr/bin/foo", after re-rooting; a directory
// without a trailing slash). An entry, deletion or opaque marker is kept if
// no exclude matches it and Includes is empty or one matches it.
//
// Directories: an artefact holds only the directories the layers list
// (for Delta: that the steps touched), never synthesised ones. A listed
// directory that the filter does not keep still goes in as the parent of a
// kept entry, unless an exclude matches it. An installer creates missing
// parents itself (0755, root).
//
// Hardlinks: the entries that share an inode in the merged layers form a
// group. Within the kept members of a group the first in archive order
// carries the content and the others are hardlinks to it, so a link whose
// original target was filtered out, cut off by package_dir or replaced by
// a later layer becomes a regular file, and no hardlink points outside the
// artefact or forward in it.
//
// # The artefact format (etk-artefact/v1)
//
// An artefact is one zstd frame holding one tar archive:
//
//   - Entry names are relative, clean paths ("usr/bin/foo"); directories
//     end in "/". There is no entry for the root.
//   - Entries are sorted by path element by element, so each directory's
//     subtree follows it directly ("usr", "usr/bin", "usr/bin/foo",
//     "usr-x"). Within a directory, its opaque marker comes first, then
//     whiteouts sorted by name, then its entries sorted by name: a
//     streaming installer can remove before it writes.
//   - Types: regular file, directory, symlink, hardlink (Linkname is the
//     relative path of an earlier entry that is neither a directory nor a
//     hardlink), char and block devices, fifo. Mode holds the permission, setuid, setgid and sticky bits; Uid
//     and Gid are numeric and Uname/Gname empty. Extended attributes are
//     PAX "SCHILY.xattr.<name>" records.
//   - Deletions: an empty regular file ".wh.<name>" in a directory says
//     that <name> and its subtree, as installed before this artefact, are
//     removed; ".wh..wh..opq" says that all the directory held before this
//     artefact is removed. As in OCI layers they never touch the
//     artefact's own entries, whatever their order. Only Delta writes them.
//   - An installer gives a non-directory entry precedence over whatever
//     is at its path (a whole subtree included), and lets a directory entry
//     over an existing directory update its metadata and keep its
//     contents.
//
// Determinism: the same layers and Spec give the same bytes. Every mtime
// is Spec.Epoch in whole seconds; atime and ctime are not written; the tar
// format is USTAR when a header fits it and PAX otherwise (archive/tar
// decides from the header alone; PAX records in sorted order); zstd runs
// at SpeedDefault, window 8 MiB, frame checksum on, concurrency 1. The
// bytes depend on the versions of archive/tar and klauspost/compress; the
// digests are stable for one build of etk.
//
// The metadata (Metadata) lists every entry in archive order with its
// sha256, the deletions and opaque directories sorted, the total size of
// the regular files, and the digest and size of the compressed bytes. List
// and Walk compute the same Metadata from the bytes alone; Verify checks
// them against a digest.
//
// # Checking an artefact against its metadata
//
// A repository signs each package's metadata, which lists the artefact's
// entries; the artefact's bytes are signed by digest only, so a signer's
// mistake or malice can pair a small metadata with a huge artefact. Walk
// with Expect reads an artefact against its metadata as it streams and
// stops at the first entry the metadata does not list, or lists with
// another type, mode (setuid included), owner, size, target, device
// numbers or xattrs, at a file whose content has another digest, and at
// any tar byte past TarBound: every header one USTAR block when it fits
// one, else with a PAX header and its records, each file's content in
// whole blocks, the archive's end, rounded up to a 10 KiB record. The metadata
// is checked first: InstalledSize, the sum of its regular files' sizes
// (hardlinks, directories and symlinks count nothing), must be what its
// list adds up to. Decompress gives the same byte bounds to readers that
// take the tar apart themselves. Neither changes what is written: the
// bounds only refuse.
//
// # Resources
//
// Layers may be gigabytes, so no content is held in memory. Pass 1 reads
// the layers' headers and merges them into a tree of headers; pass 2
// reopens the layers that hold surviving regular files and copies their
// contents to a spool file in Spec.TempDir; pass 3 writes the tar in order
// from the spool. The spool is removed on every return. The context is
// checked between entries.
package artifact

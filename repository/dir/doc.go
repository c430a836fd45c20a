// Package dir owns the folder backend of etk repositories: blobs under
// blobs/sha256/, references as small files, everything written to a
// temporary name and renamed, and references compared-and-swapped under a
// file lock, so that an interrupted or concurrent publish never leaves a
// reader a half-written file or loses a revision; a publisher waiting for
// the lock stops when its context is done. The folder can be served as it
// is over HTTP (repository/httpstore).
//
// Reading a folder someone else wrote is safe: a reference or blob that is
// a symbolic link, a device or anything but a regular file inside the
// folder is refused (nothing is followed out of it: refs/latest ->
// /dev/zero or -> /etc/passwd is an error, not a read), a reference is
// read up to index.MaxRefSize, and reads stop when their context is done.
//
// A publish killed mid-write leaves its temporary files in .tmp/; each is
// locked (internal/leftover) while written, so the next write to the
// folder removes those of dead publishers and never a live one's, and
// Leftovers reports them.
package dir

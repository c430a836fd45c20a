// Package httpstore owns read-only access to a folder repository
// (repository/dir) served as it is by a web server: blobs under
// blobs/sha256/<hex>, references under refs/<name>.
//
// Nothing here is trusted: repository.Open verifies the signed snapshot
// and every blob it reads, so a plain static file server, a CDN or a
// mirror will do.
package httpstore

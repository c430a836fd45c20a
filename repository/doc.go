// Package repository owns etk repositories: where published packages live
// (a Store: a folder, a web server, an OCI registry), and publishing to and
// reading from them. Its sub-packages hold the index and its signatures
// (index), the backends (dir, oci), installing into a root (install) and
// assembling OS images (image).
package repository

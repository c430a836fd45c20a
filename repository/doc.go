// Package repository owns etk repositories: where published packages live
// (a ReadOnlyStore: a folder, a web server, an OCI registry; a Store when
// it can be written), and publishing to and reading from them. Its
// sub-packages hold the index and its signatures (index), the stores
// (dir, httpstore, oci, memstore) and the suite they all pass
// (storetest), installing into a root (install) and assembling OS images
// (image).
package repository

// Package image owns the single-image OS: it assembles the artefacts of an
// OS's packages, in install order, into one OCI image (a v1.Image) without
// a Docker daemon, and writes it as an OCI image layout. Pushing the image
// or writing it as a `docker load` tarball is the caller's business
// (repository/oci, ggcr's tarball package).
//
// # Layers
//
// Each package with an artefact becomes one layer, lowest first in the
// order Config.Packages lists them; a virtual package (no artefact) adds
// none and only shows in the etk.packages label. An artefact's tar is
// already a layer tar: relative names, and deletions as OCI whiteouts that
// apply to the packages below. It goes into the layer entry for entry,
// each header rebuilt from the fields the artefact writer sets, so an
// artefact without deletions gives its own tar, byte for byte. A whiteout
// moves from the head of its directory's listing to just before the first
// entry that sorts after it: still before anything at its path, which is
// what appliers that remove as they stream need.
//
// One deletion changes form. An artefact may both delete a path and create
// a directory there ("remove /opt/x, then make a new /opt/x"); Docker's
// overlay2 driver applies that as a new directory merged with the old one
// (the old files show through: the engine test checks it), so the layer
// says it the OCI way instead: the directory, then an opaque marker in it.
// A path deleted and then created under, without a directory entry of its
// own, gets a directory entry (0755, root, the artefact's mtime) the same
// way. The artefact must be sorted as the format says (compiler/artifact
// writes it so); Build does not check the order.
//
// # Grouping
//
// With Config.MaxLayers set and fewer layers allowed than packages with
// artefacts, consecutive packages are merged into one layer. Packages come
// in dependency order, so the last ones are the leaves, which change most
// often (their own changes and those of everything they depend on), and
// the first ones are the base, which changes least. The last
// MaxLayers/2 packages keep a layer each; the others are cut into the
// remaining MaxLayers-MaxLayers/2 runs of consecutive packages of equal
// count, the first runs one package longer when it does not divide. With
// MaxLayers 1 everything is one layer. A merged layer is what installing
// its packages in order gives, computed with compiler/artifact's Delta
// (whiteouts of a later package remove what an earlier one of the run
// installed and still apply to the layers below); every mtime in it is the
// latest of its packages' artefact epochs. So a layer depends on its own
// packages only, and an upgrade that changes some packages and keeps the
// package list changes exactly the layers holding them. Adding or removing
// a package moves the run boundaries.
//
// # Determinism
//
// The same Config gives the same image digest. Layers are gzip (Docker
// 20.10 cannot pull zstd layers) at level 6, without name or mtime in the
// gzip header; media types are OCI throughout. The bytes depend on the
// versions of compress/gzip and archive/tar, like the artefacts' own.
// The config holds Config.Created (Unix 0 when zero, UTC, whole seconds) as
// the image's and every history entry's time, no hostname, no container,
// no daemon version; history has one entry per layer whose comment is
// "etk: " and its package IDs. Labels (sorted by the JSON encoding):
//
//	org.opencontainers.image.title    Config.Name
//	org.opencontainers.image.version  Config.Version (when set)
//	etk.os.name                       Config.Name
//	etk.os.version                    Config.Version (when set)
//	etk.repository.revision           Config.Revision (when set)
//	etk.packages                      "id=key12,id=key12,...": every package,
//	                                  virtual ones too, sorted, key12 being
//	                                  the first 12 characters of the key
//
// plus Config.Labels, which may not set any of these.
//
// A layer's bytes are produced again each time it is read (Compressed,
// Uncompressed), from the artefacts, and checked against the digests Build
// computed: an artefact that changed since gives ErrArtefactChanged. A
// merged layer runs Delta again each time, with its spool in
// Config.TempDir.
package image

// Package oci owns everything etk keeps in OCI registries: the build cache
// shared through a registry (one artifact per build key, pushed from and
// fetched into the local cache, compiler/cache), the registry backend of
// repositories (Store: blobs, and references as tagged artifacts), and
// pushing OS images. It is the only package that talks to registries
// through go-containerregistry's remote package.
//
// # Artifact
//
// An entry of key K for package P is an OCI image manifest
// (application/vnd.oci.image.manifest.v1+json) tagged K in one repository:
//
//	config   application/vnd.etk.package.config.v1+json    {"key":K,"id":P}
//	layer 0  application/vnd.etk.artefact.v1.tar+zstd       artefact.tar.zst, byte for byte
//	layer 1  application/vnd.etk.package.metadata.v1+json  metadata.json, byte for byte
//	annotation org.opencontainers.image.title = P
//
// A package with nothing to build (virtual) has no artefact, so its only
// layer is the metadata. The artefact layer is the cached file itself, so
// its digest is the Digest of the artefact section of the metadata. Each
// layer carries an org.opencontainers.image.title annotation with its file
// name, so `oras pull` writes artefact.tar.zst and metadata.json. Nothing
// in the manifest depends on the time or the machine: the same entry
// gives the same manifest digest from any pusher.
//
// # Errors
//
// Errors name the operation, the repository and the key. The text of the
// underlying error is kept but stripped of URLs' user info and query
// strings, authorization headers and token values, and of response bodies,
// so that no credential reaches a log.
package oci

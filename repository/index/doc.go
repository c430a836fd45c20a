// Package index owns what describes a published etk repository: the index
// of its packages, the signed snapshots that name each revision of it, and
// the keys that sign them.
//
// A client fetches the small signed snapshot first and verifies it
// (Trust.Verify) before it reads any other byte: the snapshot names the
// index by digest, and the index names every artefact and metadata.json
// by digest, so VerifyBlob and CheckDigest extend the signature to all of
// them while they download.
//
// # Index (index.json, etk-index/v1)
//
// The packages a repository holds, sorted by id, each with its build key,
// what it requires, conflicts with and provides (spec.Ref, as in its
// metadata.json), its artefact (absent for a package with nothing to
// build) and its metadata.json. Tree, when present, is the compile tree
// (rendered specs and values), so that a derivative can rebuild on top.
// Encode writes canonical bytes, one package per line, so that the same
// index gives the same file and a diff of two files shows the packages
// that changed (Diff says the same in Go). DecodeIndex refuses unknown
// fields, another format, unsorted or duplicate ids and packages whose id
// is not category/name@version:
//
//	{
//	  "format": "etk-index/v1",
//	  "name": "etk-demo",
//	  "tree": {"digest":"sha256:dc9c…","size":4096,"media_type":"application/vnd.etk.tree.v1.tar+zstd"},
//	  "packages": [
//	    {"id":"dev/hello@1.0","category":"dev","name":"hello","version":"1.0","requires":[{"category":"base","name":"libc","version":">=2"}],"key":"9bf9…","artefact":{"digest":"sha256:0e7b…","size":4096,"media_type":"application/vnd.etk.artefact.v1.tar+zstd"},"metadata":{"digest":"sha256:5f0c…","size":912}}
//	  ]
//	}
//
// testdata/index.json is a complete example.
//
// # Snapshot (etk-snapshot/v1) and its signed envelope
//
// A snapshot names one revision of a repository: its name, its revision
// (1, 2, …, one more at each publication), the index blob, when it was
// published, when it expires, and the previous revision's signed envelope.
// Times are UTC, whole seconds. It travels inside a DSSE envelope
// (https://github.com/secure-systems-lab/dsse): the payload is the
// snapshot's canonical JSON in base64, the payload type is PayloadType,
// and each signature is ed25519 over DSSE's pre-authentication encoding
// of the two, with the signer's key id. The envelope's field names are
// DSSE's ("payloadType", "keyid") so that DSSE tools can read it:
//
//	{
//	  "payload": "ewogICJmb3JtYXQiOiAiZXRrLXNuYXBzaG90L3YxIiwK…",
//	  "payloadType": "application/vnd.etk.snapshot.v1+json",
//	  "signatures": [{"keyid": "4cff310dc7fa7df5", "sig": "…"}]
//	}
//
// testdata/snapshot.json is a complete example, signed with the key of
// testdata/etk.pub.
//
// Verify checks the signatures against the trusted keys and a threshold,
// then decodes the payload it checked (and only a canonical one), then
// checks the repository name, rollback against the newest revision the
// client saw, and expiry. Expiry is what stops a frozen mirror from
// serving an old revision forever, so a repository must be published (or
// only re-signed) before its snapshot expires.
//
// # Keys
//
// Keys are ed25519. A key id is the first 16 hex digits of the SHA-256 of
// the 32-byte public key. Key files are one line of text:
//
//	etk-ed25519-private <base64 of the 32-byte seed>
//	etk-ed25519-public <key id> <base64 of the 32-byte public key>
//
// A private key file is written with mode 0600 and never over an existing
// file. A public key file states its key id so that a reader can see which
// key it is; ParsePublicKey checks that the id matches the key.
package index

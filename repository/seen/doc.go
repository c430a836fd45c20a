// Package seen owns what a client remembers of the repositories and
// channels it trusted, and the check that what it reads later continues
// that history: not an older revision (a mirror rolled back), and not
// another repository signed by the same key.
//
// # What is remembered
//
// A State holds, per repository (the name its snapshots carry and sign,
// and the trusted keys that signed them: the same name signed by none of
// the same keys is another repository, such as a project's own test
// repository beside the vendor's), the newest revision trusted, the
// digest of that snapshot's signed payload (index.Snapshot.PayloadDigest:
// the same whichever keys signed it) and the locations (URLs without
// credentials, absolute folders) it was read from; per channel
// (repository name, channel name and keys), the newest sequence number
// and the digest of its payload. It is
// JSON (format etk-seen/v1). An install root keeps its own in
// /var/lib/etk/seen.json (see repository/install); etk channel list keeps
// the user's in $XDG_CONFIG_HOME/etk/seen.json (default ~/.config).
//
// # What continues a history
//
// A snapshot of a remembered repository continues it when it is the
// remembered revision with the same payload digest, or a later revision
// whose chain of Previous envelopes (each named by digest in the next, so
// trusted through the newest's signature) reaches the remembered revision
// with that digest. An older revision fails with index.ErrRollback. A
// revision whose chain does not reach the remembered one (it skips it,
// ends, or holds another digest there), and a location that served
// another repository name before, fail with index.ErrWrongRepository:
// another repository signed by the same key, or the same one rebuilt
// from scratch. Allow says which of the two the user accepts explicitly;
// what is then remembered is what was accepted. A repository first seen
// is trusted as it is (trust on first use); so is a channel of sequence 0
// (published before sequences).
package seen

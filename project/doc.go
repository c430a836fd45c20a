// Package project opens an etk project the one way every command, test
// and Go program shares: the manifest (found like go.mod), the flavor and
// its values files, profiles, the upstreams pinned in etk.lock (verified),
// and the order values are layered in. What it gives is a compiler.Config
// from which the same inputs always plan the same keys, whoever asks.
//
// Values, later wins: what the upstreams rendered their packages with,
// the flavor's values files, each profile's values files then values,
// --values files, --set. The clock templates read is SOURCE_DATE_EPOCH,
// else the manifest's epoch, else the Unix epoch.
//
// A project without a manifest is a list of trees (luet's --tree), with
// values files and --set only.
package project

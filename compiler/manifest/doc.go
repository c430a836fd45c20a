// Package manifest owns manifest.yaml, the root of an etk project: its
// name and version, its tree folders, Dockerfile templates, flavors (each a
// list of values files) and build targets. It is found like go.mod, by
// walking up from the working directory.
package manifest

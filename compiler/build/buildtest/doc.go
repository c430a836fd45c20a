// Package buildtest holds in-process stand-ins for what compiler/build
// builds with and shares through, for tests that need no engine or
// registry: a Backend whose artefact is a step's build context and the
// digests of its inputs, and a Remote that keeps entries in memory.
package buildtest

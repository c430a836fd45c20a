// Package graph owns dependency resolution: it resolves every requires,
// copy, conflicts and provides reference of a loaded tree into two graphs,
// the build graph (what a package is built from) and the runtime graph
// (what an installed package needs), and reports missing, ambiguous and
// unsatisfiable references and cycles with their positions.
package graph

// Package cli owns etk's command line: one file per command, each with a
// flags struct; only this package decides what a terminal shows.
package cli

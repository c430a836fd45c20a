// Package values owns template values: loading values files, merging layers
// (definition keys, flavor files, profiles, --set) and parsing --set.
package values

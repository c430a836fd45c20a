// Package tree owns loading package trees: finding package directories and
// shared templates in one or more file systems, rendering every build.yaml
// once with all values, and indexing the packages by name and version.
package tree

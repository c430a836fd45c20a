// Package dockerfile owns rendering a package's two Dockerfiles, the
// builder and the package image, from overridable templates.
package dockerfile

// Package docker owns building on a Docker engine: the build.Backend
// that makes a step's artefact there (its input images made ready, its
// builder and package images built with the classic builder through the
// API, the artefact cut out of the saved package image), and the Engine
// client it does that with. It is the only package that imports the
// Docker client.
package docker

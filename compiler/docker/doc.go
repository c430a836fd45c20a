// Package docker owns etk's use of a Docker engine: building images with
// the classic builder through the API, saving, importing, inspecting and
// removing them. It is the only package that imports the Docker client;
// everything else sees the narrow Engine it exposes.
package docker

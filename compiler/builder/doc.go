// Package builder owns building one package of a plan on a Docker engine:
// making sure its inputs exist as images, building its builder and package
// images from the rendered Dockerfiles, cutting the artefact out of the
// package image, and storing it with its metadata in the local cache. It
// implements build.Builder; the scheduler decides what runs when.
package builder

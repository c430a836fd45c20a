// Package plan owns build plans: which packages to build for a set of
// targets, in which levels, and the content-addressed key of each, with the
// inputs that make up that key.
package plan

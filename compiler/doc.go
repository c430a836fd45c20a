// Package compiler is etk's entry point for turning package trees into
// build plans: Load reads and renders the trees and resolves their graph,
// Session.Plan computes content-addressed keys for a set of targets, and
// Session.Render writes the Dockerfiles the build will use.
//
// The work is done by the sub-packages: spec (the format), values and tmpl
// (templating), tree (loading), version, graph (resolution), plan (keys)
// and dockerfile (rendering).
package compiler

// Package build owns running a plan: a scheduler that builds each step of
// a plan once, after its inputs, in parallel up to a limit, longest
// remaining path first, and reports what happens as events. What a build
// of one step is belongs to a Builder (a Docker backend, a cache in front
// of it, a fake in tests).
package build

// Package build owns building a plan: a scheduler that builds each step
// of a plan once, after its inputs, in parallel up to a limit, longest
// remaining path first, and reports what happens as events; the Backend
// interface, what an engine that makes one step's artefact is given and
// gives back; and the Builders that stand between the two: the local
// cache, the key lock, remote caches, the build history (see New).
//
// A Backend is not shaped by Docker: it gets the step, its build context
// and the artefacts of the steps it builds on, writes the artefact to the
// writer it is given and returns its metadata. It never touches the
// cache. compiler/build/docker is the Docker engine's; buildtest's needs
// no engine.
//
// The jobs limit is the scheduler's rather than a decorator's (as ko's
// Limiter is): the scheduler knows which ready step is on the longest
// path and starts that one, a step waiting for a slot is not reported as
// Started, and no goroutine waits per step.
package build

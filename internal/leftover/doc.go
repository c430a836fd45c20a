// Package leftover owns scratch files that die with the process that
// made them: each is held under an flock(2) lock for as long as it is in
// use, so that a later run can tell what a dead run left (nobody holds
// the lock) from what a live run is writing (its lock is held), and
// remove only the former. Age is never the test: a slow live run keeps
// its files, a run killed a second ago loses them at the next sweep.
//
// CreateTemp makes one locked file; MkdirTemp a locked folder for many
// (its lock is the file beside it, <name>.lock). Sweep removes the dead
// ones among the entries of a folder whose names match a pattern; Scan
// only reports them. The kernel drops a lock when its process dies,
// however it dies (kill -9 included), which is what makes this safe.
package leftover

// Package corpus locates the real package trees kept beside the repository
// (../shared/corpus) for tests, and skips a test clearly when they are not
// there, as in a user's clone.
package corpus

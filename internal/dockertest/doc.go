// Package dockertest gives tests a real Docker engine and the local test
// base image, or skips them clearly on a machine without one. In CI
// (CI=true) a missing engine fails the test instead: CI starts one
// (.ci/services), and a skipped engine test there would hide a regression.
package dockertest

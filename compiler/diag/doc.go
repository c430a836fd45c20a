// Package diag owns positioned diagnostics: the file:line:col errors and
// warnings that every etk loader collects, sorts and returns once.
package diag

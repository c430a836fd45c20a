// Package templates holds etk's default Dockerfile templates. A project
// overrides any of them with a file of the same name in its own templates
// folder (see manifest.yaml's `templates:`).
package templates

import "embed"

// FS holds the default templates.
//
//go:embed *.tmpl
var FS embed.FS

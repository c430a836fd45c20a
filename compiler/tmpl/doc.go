// Package tmpl owns spec templating: Go text/template with sprig's text
// functions (minus those whose output depends on the moment, randomness,
// the environment or the network), Helm-style include/toYaml/fromYaml/
// toJson/fromJson, shared {{define}} blocks from templates folders, and
// positioned errors that show the offending line with a caret.
package tmpl

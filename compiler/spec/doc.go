// Package spec owns the package spec format: the types of definition.yaml,
// collection.yaml, build.yaml and finalize.yaml, and their positioned
// decoding from YAML.
//
// The format is luet's. Decoding never panics: every problem becomes a
// diagnostic with the file, line and column it was found at.
package spec

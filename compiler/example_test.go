package compiler_test

import (
	"context"
	"fmt"
	"strings"
	"testing/fstest"

	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/compiler/tree"
	"github.com/etk-build/etk/compiler/values"
)

// Load a tree, plan one package and render its Dockerfiles.
func Example() {
	fsys := fstest.MapFS{
		"base/definition.yaml":  {Data: []byte("name: base\ncategory: distro\nversion: 1.0\n")},
		"base/build.yaml":       {Data: []byte("image: {{ .Values.image }}\nunpack: true\n")},
		"hello/definition.yaml": {Data: []byte("name: hello\ncategory: apps\nversion: 0.1\n")},
		"hello/build.yaml": {Data: []byte(`requires: [{name: base, category: distro, version: ">=1"}]
steps:
- install -m 0755 hello.sh /usr/bin/hello
`)},
		"hello/hello.sh": {Data: []byte("#!/bin/sh\necho hello\n"), Mode: 0o755},
	}
	ctx := context.Background()
	s, diags := compiler.Load(ctx, compiler.Config{
		Trees:  []tree.Source{{Name: "packages", FS: fsys}},
		Values: values.Values{"image": "debian:bookworm"},
	})
	if s == nil {
		fmt.Println(diags)
		return
	}
	targets, _ := s.Targets([]string{"apps/hello"})
	p, diags := s.Plan(ctx, targets)
	if p == nil {
		fmt.Println(diags)
		return
	}
	for i, level := range p.Levels {
		for _, st := range level {
			fmt.Printf("level %d: %s (%d context file)\n", i, st.ID, len(st.Context))
		}
	}
	_, pkg, _, _ := s.Render(p, p.Targets[0])
	// The first line names the builder image, whose tag is the key.
	_, rest, _ := strings.Cut(string(pkg), "\n")
	fmt.Print(rest)
	// Output:
	// level 0: distro/base@1.0 (0 context file)
	// level 1: apps/hello@0.1 (1 context file)
	// COPY . /luetbuild
	// WORKDIR /luetbuild
	// ENV PACKAGE_NAME=hello
	// ENV PACKAGE_VERSION=0.1
	// ENV PACKAGE_CATEGORY=apps
	// RUN install -m 0755 hello.sh /usr/bin/hello
}

package docker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/etk-build/etk/internal/dockertest"
)

func TestDockerBuildSaveImport(t *testing.T) {
	e := dockertest.Engine(t)
	ctx := context.Background()
	tag := "etk.local/test/docker-build:" + strings.ToLower(t.Name())
	t.Cleanup(func() { e.Remove(context.Background(), tag) })
	var lines []string
	ctxFS := fstest.MapFS{"hello.txt": {Data: []byte("hi\n"), Mode: 0o644}, "sub/run.sh": {Data: []byte("#!/bin/sh\necho ran\n"), Mode: 0o755}}
	id, err := e.Build(ctx, docker.BuildRequest{
		Dockerfile: []byte("FROM " + dockertest.BaseImage + "\nCOPY . /ctx\nRUN sh /ctx/sub/run.sh && cat /ctx/hello.txt > /out\n"),
		Context:    ctxFS, Files: []string{"hello.txt", "sub/run.sh"}, Tag: tag,
	}, func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatalf("build: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if !strings.HasPrefix(id, "sha256:") || !strings.Contains(strings.Join(lines, "\n"), "ran") {
		t.Errorf("id %q, output:\n%s", id, strings.Join(lines, "\n"))
	}
	info, err := e.Inspect(ctx, tag)
	if err != nil || info.ID != id || info.Layers < 2 {
		t.Errorf("inspect: %+v %v", info, err)
	}

	// A failing step: the error says what failed; the output came first.
	lines = nil
	_, err = e.Build(ctx, docker.BuildRequest{Dockerfile: []byte("FROM " + dockertest.BaseImage + "\nRUN echo about to fail && false\n"), Tag: tag + "-fail"}, func(l string) { lines = append(lines, l) })
	if err == nil || !strings.Contains(err.Error(), "returned a non-zero code") || !strings.Contains(strings.Join(lines, "\n"), "about to fail") {
		t.Errorf("failing build: %v\n%s", err, strings.Join(lines, "\n"))
	}

	// No network unless asked for: a build has only loopback.
	_, err = e.Build(ctx, docker.BuildRequest{Dockerfile: []byte("FROM " + dockertest.BaseImage + "\nRUN ! ip route 2>/dev/null | grep -q default\n"), Tag: tag + "-net"}, nil)
	if err != nil {
		t.Errorf("a build must have no network by default: %v", err)
	}
	t.Cleanup(func() { e.Remove(context.Background(), tag+"-net") })

	if _, err := e.Inspect(ctx, "etk.local/test/absent:nope"); !errors.Is(err, docker.ErrNotFound) {
		t.Errorf("inspect absent: %v", err)
	}
	path, err := e.Save(ctx, tag, t.TempDir())
	if err != nil || path == "" {
		t.Fatalf("save: %v", err)
	}
}

package compiletree

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrip(t *testing.T) {
	up := fstest.MapFS{"base/definition.yaml": {Data: []byte("name: base\n")}, "base/build.yaml": {Data: []byte("image: x\n")}}
	own := fstest.MapFS{"app/definition.yaml": {Data: []byte("name: app\n")}, "app/run.sh": {Data: []byte("#!/bin/sh\n"), Mode: 0o755}, ".git/x": {Data: []byte("no")}}
	trees := []Tree{{Origin: "foundation", Revision: 3, FS: up}, {Overlay: true, FS: own}}
	extends := map[string][]string{"": {"foundation"}}
	b, err := Write(trees, map[string]any{"arch": "amd64"}, extends)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Write(trees, map[string]any{"arch": "amd64"}, extends)
	if string(again) != string(b) {
		t.Error("the same trees gave other bytes")
	}
	ct, err := Read(context.Background(), "test", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct.Trees) != 2 || ct.Trees[0].Origin != "foundation" || ct.Trees[0].Revision != 3 || ct.Trees[0].Overlay || !ct.Trees[1].Overlay {
		t.Errorf("provenance: %+v", ct.Trees)
	}
	if diff := cmp.Diff(extends, ct.Extends); diff != "" {
		t.Errorf("extends (-want +got):\n%s", diff)
	}
	if ct.Values["arch"] != "amd64" {
		t.Errorf("values: %v", ct.Values)
	}
	if err := fstest.TestFS(ct.Trees[1].FS, "app/definition.yaml", "app/run.sh"); err != nil {
		t.Error(err)
	}
	if _, err := fs.Stat(ct.Trees[1].FS, ".git/x"); err == nil {
		t.Error("a dot folder was packed")
	}
	if fi, err := fs.Stat(ct.Trees[1].FS, "app/run.sh"); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("mode: %v %v", fi, err)
	}
}

func TestReadRefusesJunk(t *testing.T) {
	if _, err := Read(context.Background(), "junk", []byte("not zstd")); err == nil {
		t.Error("junk accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b, _ := Write([]Tree{{FS: fstest.MapFS{"a": {Data: []byte("x")}}}}, nil, nil)
	if _, err := Read(ctx, "x", b); err == nil {
		t.Error("read on a cancelled context")
	}
}

func TestCycle(t *testing.T) {
	g := map[string][]string{"acme": {"foundation", "extras"}, "extras": {"foundation"}, "foundation": {"acme"}}
	if diff := cmp.Diff([]string{"acme", "extras", "foundation", "acme"}, Cycle(g, "acme")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if c := Cycle(map[string][]string{"acme": {"foundation"}, "b": {"foundation"}}, "acme"); c != nil {
		t.Errorf("a diamond is no cycle: %v", c)
	}
}

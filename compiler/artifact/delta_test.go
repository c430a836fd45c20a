package artifact_test

import (
	"archive/tar"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/etk-build/etk/compiler/artifact"
)

type want struct {
	files     []artifact.File
	deletions []string
	opaque    []string
	names     []string // tar entry names in order, when checked
}

func check(t *testing.T, m *artifact.Metadata, b []byte, w want) {
	t.Helper()
	if w.files == nil {
		w.files = []artifact.File{}
	}
	if w.deletions == nil {
		w.deletions = []string{}
	}
	if diff := cmp.Diff(w.files, m.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(w.deletions, m.Deletions); diff != "" {
		t.Errorf("Deletions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(w.opaque, m.Opaque); diff != "" {
		t.Errorf("Opaque (-want +got):\n%s", diff)
	}
	if w.names != nil {
		if diff := cmp.Diff(w.names, names(rawHeaders(t, b))); diff != "" {
			t.Errorf("tar names (-want +got):\n%s", diff)
		}
	}
}

func TestDelta(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers [][]ent
		spec   artifact.Spec
		want   want
	}{{
		name: "added and modified files keep mode and owner",
		layers: [][]ent{{
			dir("."),
			dir("etc"),
			file("etc/conf", "new").with(mode(0o600)).with(owner(10, 20)),
			dir("usr"), dir("usr/bin"),
			file("usr/bin/tool", "#!").with(mode(0o4755)),
		}},
		want: want{
			files: []artifact.File{
				fDir("/etc"),
				{Path: "/etc/conf", Type: "file", Mode: 0o600, UID: 10, GID: 20, Size: 3, Digest: sum("new")},
				fDir("/usr"), fDir("/usr/bin"),
				fFile("/usr/bin/tool", "#!", 0o4755),
			},
			names: []string{"etc/", "etc/conf", "usr/", "usr/bin/", "usr/bin/tool"},
		},
	}, {
		name: "a later layer wins, content and mode",
		layers: [][]ent{
			{file("a", "one")},
			{file("a", "two").with(mode(0o700))},
		},
		want: want{files: []artifact.File{fFile("/a", "two", 0o700)}},
	}, {
		name:   "whiteout of a builder file",
		layers: [][]ent{{dir("etc"), whiteout("etc/old")}},
		want: want{
			files:     []artifact.File{fDir("/etc")},
			deletions: []string{"/etc/old"},
			names:     []string{"etc/", "etc/.wh.old"},
		},
	}, {
		name: "whiteout of what an earlier step added",
		layers: [][]ent{
			{dir("tmp"), file("tmp/x", "x"), file("tmp/keep", "k")},
			{dir("tmp"), whiteout("tmp/x")},
		},
		want: want{
			files:     []artifact.File{fDir("/tmp"), fFile("/tmp/keep", "k", 0o644)},
			deletions: []string{"/tmp/x"},
		},
	}, {
		name: "a whiteout of a parent implies its children's",
		layers: [][]ent{
			{whiteout("a/b"), whiteout("z/y")},
			{whiteout("a")},
		},
		want: want{deletions: []string{"/a", "/z/y"}, names: []string{".wh.a", "z/.wh.y"}},
	}, {
		name: "deleted then created again",
		layers: [][]ent{
			{whiteout("opt")},
			{dir("opt"), file("opt/f", "f")},
		},
		want: want{
			files:     []artifact.File{fDir("/opt"), fFile("/opt/f", "f", 0o644)},
			deletions: []string{"/opt"},
			names:     []string{".wh.opt", "opt/", "opt/f"},
		},
	}, {
		name: "whiteouts apply to lower layers only, wherever the layer puts them",
		layers: [][]ent{{
			dir("d"), file("d/x", "new"), whiteout("d/x"),
		}},
		want: want{
			files:     []artifact.File{fDir("/d"), fFile("/d/x", "new", 0o644)},
			deletions: []string{"/d/x"},
			names:     []string{"d/", "d/.wh.x", "d/x"},
		},
	}, {
		name: "opaque directory",
		layers: [][]ent{
			{dir("var"), dir("var/cache"), file("var/cache/old", "o"), whiteout("var/cache/gone")},
			{dir("var/cache"), opaque("var/cache"), file("var/cache/new", "n")},
		},
		want: want{
			files:  []artifact.File{fDir("/var"), fDir("/var/cache"), fFile("/var/cache/new", "n", 0o644)},
			opaque: []string{"/var/cache"},
			names:  []string{"var/", "var/cache/", "var/cache/.wh..wh..opq", "var/cache/new"},
		},
	}, {
		name: "a file replaces a directory and its subtree",
		layers: [][]ent{
			{dir("a"), file("a/b", "b"), dir("a/c"), opaque("a/c")},
			{file("a", "now a file")},
		},
		want: want{files: []artifact.File{fFile("/a", "now a file", 0o644)}},
	}, {
		name: "symlink, fifo, devices",
		layers: [][]ent{{
			dir("dev"),
			ent{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
			ent{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "dev/sda", Mode: 0o660, Gid: 6, Devmajor: 8}},
			ent{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "dev/fifo", Mode: 0o600}},
			symlink("lib", "usr/lib"),
		}},
		want: want{files: []artifact.File{
			fDir("/dev"),
			{Path: "/dev/fifo", Type: "fifo", Mode: 0o600},
			{Path: "/dev/null", Type: "char", Mode: 0o666, Devmajor: 1, Devminor: 3},
			{Path: "/dev/sda", Type: "block", Mode: 0o660, GID: 6, Devmajor: 8},
			{Path: "/lib", Type: "symlink", Mode: 0o777, Link: "usr/lib"},
		}},
	}, {
		name: "xattrs",
		layers: [][]ent{{
			file("ping", "p").with(func(h *tar.Header) {
				h.PAXRecords = map[string]string{
					"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00",
					"SCHILY.xattr.user.note":           "hello",
					"LIBARCHIVE.creationtime":          "1",
				}
			}),
		}},
		want: want{files: []artifact.File{{
			Path: "/ping", Type: "file", Mode: 0o644, Size: 1, Digest: sum("p"),
			Xattrs: map[string]string{
				"security.capability": b64("\x01\x00\x00\x02\x00\x20\x00\x00"),
				"user.note":           b64("hello"),
			},
		}}},
	}, {
		name:   "hardlinks with both ends kept",
		layers: [][]ent{{dir("bin"), file("bin/a", "body"), hardlink("bin/b", "bin/a")}},
		want: want{files: []artifact.File{
			fDir("/bin"), fFile("/bin/a", "body", 0o644),
			{Path: "/bin/b", Type: "hardlink", Mode: 0o644, Link: "/bin/a"},
		}},
	}, {
		name:   "the first path of a hardlink group carries the content",
		layers: [][]ent{{file("z", "body").with(mode(0o755)), hardlink("a", "z"), hardlink("m", "a")}},
		want: want{files: []artifact.File{
			fFile("/a", "body", 0o755),
			{Path: "/m", Type: "hardlink", Mode: 0o755, Link: "/a"},
			{Path: "/z", Type: "hardlink", Mode: 0o755, Link: "/a"},
		}},
	}, {
		name:   "hardlink whose target is excluded becomes a file",
		layers: [][]ent{{dir("bin"), file("bin/a", "body"), hardlink("bin/b", "bin/a")}},
		spec:   artifact.Spec{Excludes: []string{"^/bin/a$"}},
		want:   want{files: []artifact.File{fDir("/bin"), fFile("/bin/b", "body", 0o644)}},
	}, {
		name: "hardlink whose target a later step replaced keeps the old content",
		layers: [][]ent{
			{file("a", "old"), hardlink("b", "a")},
			{file("a", "new")},
		},
		want: want{files: []artifact.File{fFile("/a", "new", 0o644), fFile("/b", "old", 0o644)}},
	}, {
		name: "hardlink whose target a later step deleted",
		layers: [][]ent{
			{file("a", "old"), hardlink("b", "a")},
			{whiteout("a")},
		},
		want: want{files: []artifact.File{fFile("/b", "old", 0o644)}, deletions: []string{"/a"}},
	}, {
		name: "hardlink to a symlink",
		layers: [][]ent{
			{symlink("s", "target"), hardlink("t", "s")},
		},
		want: want{files: []artifact.File{
			{Path: "/s", Type: "symlink", Mode: 0o777, Link: "target"},
			{Path: "/t", Type: "hardlink", Mode: 0o777, Link: "/s"},
		}},
	}, {
		name:   "names are cleaned, the root and aufs bookkeeping skipped",
		layers: [][]ent{{dir("./"), dir("./usr"), file("./usr//bin", "x"), file(".wh..wh.plnk/1.2", ""), file("usr/./x", "y")}},
		want: want{files: []artifact.File{
			fDir("/usr"), fFile("/usr/bin", "x", 0o644), fFile("/usr/x", "y", 0o644),
		}},
	}, {
		name:   "paths sort by element",
		layers: [][]ent{{file("a-b", "1"), dir("a"), file("a/b", "2"), file("a.b", "3"), dir("a/b c"), whiteout("a/0")}},
		want: want{
			names: []string{"a/", "a/.wh.0", "a/b", "a/b c/", "a-b", "a.b"},
			files: []artifact.File{
				fDir("/a"), fFile("/a/b", "2", 0o644), fDir("/a/b c"), fFile("/a-b", "1", 0o644), fFile("/a.b", "3", 0o644),
			},
			deletions: []string{"/a/0"},
		},
	}, {
		name:   "no layers",
		layers: nil,
		want:   want{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var layers []artifact.Opener
			for _, l := range tc.layers {
				layers = append(layers, layer(t, l...))
			}
			m, b := mustBuild(t, artifact.Delta, tc.spec, layers...)
			check(t, m, b, tc.want)
		})
	}
}

func TestDeltaErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		layers  [][]ent
		spec    artifact.Spec
		wantErr error
		naming  string // the error must name this
	}{
		{"hardlink to a builder file", [][]ent{{hardlink("b", "usr/lib/a")}}, artifact.Spec{}, artifact.ErrBadLayer, `"b"`},
		{"hardlink to a directory", [][]ent{{dir("d"), hardlink("b", "d")}}, artifact.Spec{}, artifact.ErrBadLayer, `"b"`},
		{"entry under a file", [][]ent{{file("a", "f"), file("a/b", "g")}}, artifact.Spec{}, artifact.ErrBadLayer, `"a/b"`},
		{"root is a file", [][]ent{{file(".", "")}}, artifact.Spec{}, artifact.ErrBadLayer, `"."`},
		{"unsupported type", [][]ent{{{hdr: tar.Header{Typeflag: 'Z', Name: "x"}}}}, artifact.Spec{}, artifact.ErrBadLayer, `"x"`},
		{"negative owner", [][]ent{{file("x", "").with(owner(-1, 0))}}, artifact.Spec{}, artifact.ErrBadLayer, `"x"`},
		{"bad include", nil, artifact.Spec{Includes: []string{"("}}, nil, "includes[0]"},
		{"bad exclude", nil, artifact.Spec{Excludes: []string{"a", "[z-a]"}}, nil, "excludes[1]"},
		{"package_dir", nil, artifact.Spec{PackageDir: "/x"}, nil, "Full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var layers []artifact.Opener
			for _, l := range tc.layers {
				layers = append(layers, layer(t, l...))
			}
			_, _, err := build(t, artifact.Delta, tc.spec, layers...)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.naming) {
				t.Errorf("error %q does not name %s", err, tc.naming)
			}
		})
	}
}

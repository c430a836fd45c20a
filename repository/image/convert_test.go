package image

import (
	"bytes"
	"context"
	"errors"
	"github.com/etk-build/etk/compiler/artifact"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An artefact without deletions is already the layer, byte for byte.
func TestConvertKeepsArtefactBytes(t *testing.T) {
	art := full(t, []ent{
		dir("bin"),
		exe("bin/tool", "#!/bin/sh\n"),
		symlink("bin/t", "tool"),
		hardlink("bin/tool2", "bin/tool"),
		dir("etc"),
		xattr(file("etc/caps", "x"), "security.capability", "\x01\x02"),
		file("etc/empty", ""),
	})
	if got, want := convertBytes(t, art), untar(t, art); !bytes.Equal(got, want) {
		t.Errorf("layer tar differs from the artefact's tar:\n got %v\nwant %v",
			entries(t, bytes.NewReader(got)), entries(t, bytes.NewReader(want)))
	}
}

func TestConvert(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers [][]ent // build layers of a Delta artefact
		want   []string
	}{{
		name: "whiteouts and opaque markers stay before what they could touch",
		layers: [][]ent{{
			whiteout("a"), whiteout("c"), whiteout("e"),
			dir("b"), file("b/x", "1"), file("d", "2"),
			dir("o"), opaque("o"), file("o/new", "3"),
		}},
		want: []string{
			".wh.a 0 0",
			"b/ 5 755",
			"b/x 0 644 = 1",
			".wh.c 0 0",
			"d 0 644 = 2",
			".wh.e 0 0",
			"o/ 5 755",
			"o/.wh..wh..opq 0 0",
			"o/new 0 644 = 3",
		},
	}, {
		name: "a directory deleted and made again becomes opaque",
		layers: [][]ent{
			{dir("opt"), whiteout("opt/x"), whiteout("opt/y")},
			{dir("opt"), dir("opt/x"), file("opt/x/new", "n")},
		},
		want: []string{
			"opt/ 5 755",
			"opt/x/ 5 755",
			"opt/x/.wh..wh..opq 0 0",
			"opt/x/new 0 644 = n",
			"opt/.wh.y 0 0",
		},
	}, {
		name: "a path deleted and created under without an entry gets a directory",
		layers: [][]ent{
			{dir("opt"), whiteout("opt/x")},
			{file("opt/x/y/z", "z")},
		},
		want: []string{
			"opt/ 5 755",
			"opt/x/ 5 755",
			"opt/x/.wh..wh..opq 0 0",
			"opt/x/y/z 0 644 = z",
		},
	}, {
		name: "a non-directory over a deleted path keeps its whiteout before it",
		layers: [][]ent{
			{dir("opt"), whiteout("opt/x")},
			{dir("opt"), file("opt/x", "file now")},
		},
		want: []string{
			"opt/ 5 755",
			"opt/.wh.x 0 0",
			"opt/x 0 644 = file now",
		},
	}, {
		name: "at the root",
		layers: [][]ent{
			{whiteout("srv"), whiteout("tmp")},
			{dir("srv"), file("srv/a", "a")},
		},
		want: []string{
			"srv/ 5 755",
			"srv/.wh..wh..opq 0 0",
			"srv/a 0 644 = a",
			".wh.tmp 0 0",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			art := delta(t, tc.layers...)
			got := entries(t, bytes.NewReader(convertBytes(t, art)))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("layer entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConvertBadArtefact(t *testing.T) {
	for name, b := range map[string][]byte{
		"not zstd":       []byte("hello"),
		"zstd, not tar":  zstdBytes(t, bytes.Repeat([]byte("x"), 1024)),
		"truncated zstd": delta(t, []ent{file("a", "some content")})[:20],
	} {
		t.Run(name, func(t *testing.T) {
			m := &artifact.Metadata{Format: artifact.Format, Compression: artifact.Compression}
			err := convert(context.Background(), Layer{ID: "t", Artefact: openBytes(b), Metadata: m}, io.Discard)
			if !errors.Is(err, ErrBadArtefact) {
				t.Errorf("err = %v, want ErrBadArtefact", err)
			}
		})
	}
}

func TestRuns(t *testing.T) {
	for _, tc := range []struct {
		n, max int
		want   [][2]int
	}{
		{n: 0, max: 0, want: nil},
		{n: 3, max: 0, want: [][2]int{{0, 1}, {1, 2}, {2, 3}}},
		{n: 3, max: 3, want: [][2]int{{0, 1}, {1, 2}, {2, 3}}},
		{n: 3, max: 9, want: [][2]int{{0, 1}, {1, 2}, {2, 3}}},
		{n: 5, max: 1, want: [][2]int{{0, 5}}},
		{n: 5, max: 2, want: [][2]int{{0, 4}, {4, 5}}},
		{n: 5, max: 3, want: [][2]int{{0, 2}, {2, 4}, {4, 5}}},
		{n: 10, max: 4, want: [][2]int{{0, 4}, {4, 8}, {8, 9}, {9, 10}}},
		{n: 100, max: 10, want: [][2]int{{0, 19}, {19, 38}, {38, 57}, {57, 76}, {76, 95}, {95, 96}, {96, 97}, {97, 98}, {98, 99}, {99, 100}}},
		{n: 7, max: 5, want: [][2]int{{0, 2}, {2, 4}, {4, 5}, {5, 6}, {6, 7}}},
	} {
		got := runs(tc.n, tc.max)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("runs(%d, %d) (-want +got):\n%s", tc.n, tc.max, diff)
		}
		if len(got) > 0 && tc.max > 0 && len(got) > tc.max {
			t.Errorf("runs(%d, %d): %d runs", tc.n, tc.max, len(got))
		}
	}
}

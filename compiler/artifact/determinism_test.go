package artifact_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
)

// sample is a layer with a bit of everything; change alters one entry.
func sample(change func(i int, e *ent)) []ent {
	xattrs := map[string]string{}
	for i := range 20 {
		xattrs[fmt.Sprintf("SCHILY.xattr.user.k%02d", i)] = fmt.Sprint(i)
	}
	es := []ent{
		dir("etc"), file("etc/conf", "hello world"), whiteout("etc/old"),
		dir("usr"), dir("usr/bin"), file("usr/bin/tool", "#!/bin/sh").with(mode(0o755)).with(owner(0, 50)),
		file("usr/bin/caps", "c").with(func(h *tar.Header) { h.PAXRecords = xattrs }),
		symlink("usr/bin/sh", "busybox"),
		dir("var"), dir("var/cache"), opaque("var/cache"),
		hardlink("usr/bin/tool2", "usr/bin/tool"),
	}
	if change != nil {
		for i := range es {
			change(i, &es[i])
		}
	}
	return es
}

func TestDeterminism(t *testing.T) {
	spec := artifact.Spec{Epoch: time.Unix(1600000000, 999)}
	m0, b0 := mustBuild(t, artifact.Delta, spec, layer(t, sample(nil)...))

	t.Run("same layers, same bytes", func(t *testing.T) {
		for range 10 {
			m, b := mustBuild(t, artifact.Delta, spec, layer(t, sample(nil)...))
			if m.Digest != m0.Digest || !bytes.Equal(b, b0) {
				t.Fatalf("digest %s, then %s", m0.Digest, m.Digest)
			}
		}
	})

	t.Run("layer order and metadata noise do not leak", func(t *testing.T) {
		es := sample(nil)
		last := es[len(es)-1] // the hardlink follows its target
		rest := es[:len(es)-1]
		r := rand.New(rand.NewPCG(1, 2))
		for range 5 {
			r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
			shuffled := append(append([]ent{}, rest...), last)
			m, _ := mustBuild(t, artifact.Delta, spec, layer(t, shuffled...))
			if m.Digest != m0.Digest {
				t.Fatalf("shuffled layer gives %s, want %s", m.Digest, m0.Digest)
			}
		}
	})

	t.Run("headers", func(t *testing.T) {
		for _, h := range rawHeaders(t, b0) {
			if !h.ModTime.Equal(time.Unix(1600000000, 0)) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
				t.Errorf("%s: times %v %v %v", h.Name, h.ModTime, h.AccessTime, h.ChangeTime)
			}
			if h.Uname != "" || h.Gname != "" {
				t.Errorf("%s: owner names %q %q", h.Name, h.Uname, h.Gname)
			}
			if h.Format&tar.FormatGNU != 0 {
				t.Errorf("%s: GNU format", h.Name)
			}
			if h.Name == "usr/bin/caps" && h.Format != tar.FormatPAX {
				t.Errorf("%s: format %v, want PAX", h.Name, h.Format)
			}
		}
	})

	at := func(name string, fn func(*ent)) func(int, *ent) {
		return func(_ int, e *ent) {
			if e.hdr.Name == name {
				fn(e)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		change func(int, *ent)
		spec   artifact.Spec
	}{
		{"one byte of content", at("etc/conf", func(e *ent) { e.body = "hello worle" }), spec},
		{"a mode", at("usr/bin/tool", func(e *ent) { e.hdr.Mode = 0o750 }), spec},
		{"an owner", at("usr/bin/tool", func(e *ent) { e.hdr.Gid = 51 }), spec},
		{"an xattr", at("usr/bin/caps", func(e *ent) {
			e.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.k00": "x"}
		}), spec},
		{"a symlink target", at("usr/bin/sh", func(e *ent) { e.hdr.Linkname = "bash" }), spec},
		{"a deletion", at("etc/.wh.old", func(e *ent) { e.hdr.Name = "etc/.wh.olf" }), spec},
		{"the epoch", nil, artifact.Spec{Epoch: time.Unix(1600000001, 0)}},
	} {
		t.Run("changing "+tc.name+" changes the digest", func(t *testing.T) {
			m, _ := mustBuild(t, artifact.Delta, tc.spec, layer(t, sample(tc.change)...))
			if m.Digest == m0.Digest {
				t.Errorf("digest unchanged: %s", m.Digest)
			}
		})
	}
}

package artifact_test

import (
	"errors"
	"testing"

	"github.com/etk-build/etk/compiler/artifact"
)

// image is a base layer and one that changes it.
func image(t *testing.T) []artifact.Opener {
	return []artifact.Opener{
		layer(t,
			dir("."), dir("etc"), file("etc/a", "a"), file("etc/b", "b"),
			dir("opt"), dir("opt/pkg"), dir("opt/pkg/bin"), file("opt/pkg/bin/tool", "v1"),
			file("opt/pkg/README", "r"), file("opt/other", "o"),
			dir("var"), dir("var/cache"), file("var/cache/old", "old"),
		),
		layer(t,
			dir("etc"), whiteout("etc/a"),
			dir("var/cache"), opaque("var/cache"), file("var/cache/new", "new"),
			file("opt/pkg/bin/tool", "v2").with(mode(0o755)), hardlink("opt/pkg/bin/tool2", "opt/pkg/bin/tool"),
			hardlink("opt/pkg/lib", "opt/other"),
		),
	}
}

func TestFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec artifact.Spec
		want want
	}{{
		name: "whiteouts applied, not recorded",
		want: want{
			files: []artifact.File{
				fDir("/etc"), fFile("/etc/b", "b", 0o644),
				fDir("/opt"), fFile("/opt/other", "o", 0o644),
				fDir("/opt/pkg"), fFile("/opt/pkg/README", "r", 0o644), fDir("/opt/pkg/bin"),
				fFile("/opt/pkg/bin/tool", "v2", 0o755),
				{Path: "/opt/pkg/bin/tool2", Type: "hardlink", Mode: 0o755, Link: "/opt/pkg/bin/tool"},
				{Path: "/opt/pkg/lib", Type: "hardlink", Mode: 0o644, Link: "/opt/other"},
				fDir("/var"), fDir("/var/cache"), fFile("/var/cache/new", "new", 0o644),
			},
		},
	}, {
		name: "package_dir re-roots; a hardlink to outside becomes a file",
		spec: artifact.Spec{PackageDir: "/opt/pkg"},
		want: want{
			files: []artifact.File{
				fFile("/README", "r", 0o644), fDir("/bin"),
				fFile("/bin/tool", "v2", 0o755),
				{Path: "/bin/tool2", Type: "hardlink", Mode: 0o755, Link: "/bin/tool"},
				fFile("/lib", "o", 0o644),
			},
			names: []string{"README", "bin/", "bin/tool", "bin/tool2", "lib"},
		},
	}, {
		name: "package_dir with filters on re-rooted paths",
		spec: artifact.Spec{PackageDir: "opt/pkg/", Includes: []string{"^/bin/"}, Excludes: []string{"2$"}},
		want: want{files: []artifact.File{fDir("/bin"), fFile("/bin/tool", "v2", 0o755)}},
	}, {
		name: "package_dir /",
		spec: artifact.Spec{PackageDir: "/", Includes: []string{"^/etc/"}},
		want: want{files: []artifact.File{fDir("/etc"), fFile("/etc/b", "b", 0o644)}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m, b := mustBuild(t, artifact.Full, tc.spec, image(t)...)
			check(t, m, b, tc.want)
		})
	}
}

func TestFullPackageDirMissing(t *testing.T) {
	for _, dir := range []string{"/nope", "/etc/b", "/etc/a"} {
		_, _, err := build(t, artifact.Full, artifact.Spec{PackageDir: dir}, image(t)...)
		if !errors.Is(err, artifact.ErrNoPackageDir) {
			t.Errorf("package_dir %s: error %v, want ErrNoPackageDir", dir, err)
		}
	}
}

func TestFilter(t *testing.T) {
	l := []ent{
		dir("etc"), file("etc/conf", "c"), whiteout("etc/old"),
		dir("usr"), dir("usr/bin"), file("usr/bin/foo", "f"),
		dir("usr/lib"), file("usr/lib/x.a", "a"), file("usr/lib/x.so", "s"),
		dir("var"), dir("var/tmp"), opaque("var/tmp"),
	}
	for _, tc := range []struct {
		name string
		spec artifact.Spec
		want want
	}{{
		name: "includes keep listed parents",
		spec: artifact.Spec{Includes: []string{"^/usr/bin/"}},
		want: want{files: []artifact.File{fDir("/usr"), fDir("/usr/bin"), fFile("/usr/bin/foo", "f", 0o644)}},
	}, {
		name: "regexps see absolute paths",
		spec: artifact.Spec{Includes: []string{"^/etc/conf$", "^etc/old$"}},
		want: want{files: []artifact.File{fDir("/etc"), fFile("/etc/conf", "c", 0o644)}},
	}, {
		name: "excludes win",
		spec: artifact.Spec{Includes: []string{"^/usr/"}, Excludes: []string{`\.a$`}},
		want: want{files: []artifact.File{
			fDir("/usr"), fDir("/usr/bin"), fFile("/usr/bin/foo", "f", 0o644),
			fDir("/usr/lib"), fFile("/usr/lib/x.so", "s", 0o644),
		}},
	}, {
		name: "an excluded parent is not kept for its children",
		spec: artifact.Spec{Includes: []string{"^/usr/bin/foo$"}, Excludes: []string{"^/usr$"}},
		want: want{files: []artifact.File{fDir("/usr/bin"), fFile("/usr/bin/foo", "f", 0o644)}},
	}, {
		name: "deletions are filtered",
		spec: artifact.Spec{Excludes: []string{"^/etc/old$", "^/var/tmp$"}},
		want: want{files: []artifact.File{
			fDir("/etc"), fFile("/etc/conf", "c", 0o644),
			fDir("/usr"), fDir("/usr/bin"), fFile("/usr/bin/foo", "f", 0o644),
			fDir("/usr/lib"), fFile("/usr/lib/x.a", "a", 0o644), fFile("/usr/lib/x.so", "s", 0o644),
			fDir("/var"),
		}},
	}, {
		name: "included deletions keep their parents",
		spec: artifact.Spec{Includes: []string{"^/etc/old$", "^/var/tmp$"}},
		want: want{
			files:     []artifact.File{fDir("/etc"), fDir("/var"), fDir("/var/tmp")},
			deletions: []string{"/etc/old"},
			opaque:    []string{"/var/tmp"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m, b := mustBuild(t, artifact.Delta, tc.spec, layer(t, l...))
			check(t, m, b, tc.want)
		})
	}
}

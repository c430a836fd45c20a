package synth

import (
	"fmt"
	"strings"
	"testing/fstest"
)

// The templates folder, pasted by luet in front of every build.yaml. Every
// define guards the values it reads, as elemental's do, so that rendering
// without a values file still yields YAML.
const distroTemplates = `{{ define "distro_install" }}
{{- if .Values.distribution }}
{{- if eq .Values.distribution "opensuse" }}
- zypper in -y --no-recommends {{ .Packages }}
- zypper cc
{{- else if eq .Values.distribution "fedora" }}
- echo "install_weak_deps=False" >> /etc/dnf/dnf.conf
- dnf install -y {{ .Packages }}
- dnf clean all
{{- else if or (eq .Values.distribution "debian") (eq .Values.distribution "ubuntu") }}
- apt-get update && apt-get install -y {{ .Packages }}
- apt-get clean
{{- end }}
{{- end }}
{{ end }}

{{ define "common_env" }}
- PACKAGE_ARCH={{ .Values.arch | default "x86_64" }}
- MAKEFLAGS=-j{{ .Values.jobs | default 2 }}
{{- end }}
`

const sourceTemplates = `{{ define "fetch_source" }}
{{- $host := get . "host" | default "downloads.example.org" }}
- |
  curl -sSfL "https://{{ $host }}/{{ .name }}/{{ .name }}-{{ .version }}.tar.gz" -o /luetbuild/src.tar.gz && \
  mkdir -p /luetbuild/src && \
  tar xzf /luetbuild/src.tar.gz -C /luetbuild/src
{{ end }}
`

const defaultValues = `# Values every build.yaml of the synthetic tree may read. A --values file
# given to the compiler is merged on top.
image: "registry.opensuse.org/opensuse/leap:15.5"
tool_image: "registry.opensuse.org/opensuse/tumbleweed:latest"
distribution: "opensuse"
tool_image_distribution: "opensuse"
codename: "green"
arch: "x86_64"
jobs: 4
packages: >-
    coreutils
    curl
    gawk
    gzip
    tar
    xz
    which
`

// distroBranch is a step list that differs per distribution, written the way
// elemental's build.yaml files do it.
const distroBranch = `{{ if eq (default "" .Values.distribution) "debian" }}
- apt-get update && apt-get install -y build-essential
{{ else if eq (default "" .Values.distribution) "fedora" }}
- dnf install -y gcc make
{{ else }}
- zypper in -y gcc make
{{ end }}
`

const (
	stepMkdir   = "- mkdir -p /usr/share/{{ .Values.name }}\n"
	stepVersion = "- echo \"{{ .Values.name }} {{ .Values.version }}\" > /usr/share/{{ .Values.name }}/VERSION\n"
	stepScripts = "- for s in scripts/*.sh; do sh \"$s\"; done\n"
	stepFeature = "{{ range .Values.features }}\n- touch /usr/share/{{ $.Values.name }}/feature-{{ . }}\n{{ end }}\n"
	includeRe   = "- '^/usr/share/{{ .Values.name }}(/.*)?$'\n"
)

func (t *tree) render() fstest.MapFS {
	fsys := fstest.MapFS{
		"packages/templates/distro.yaml": file(distroTemplates),
		"packages/templates/source.yaml": file(sourceTemplates),
		"values/default.yaml":            file(defaultValues),
	}
	var b strings.Builder
	for ui := range t.units {
		u := &t.units[ui]
		switch u.kind {
		case single:
			t.renderStandalone(fsys, &b, u.dir, u.first)
		case pair:
			for i := range u.n {
				p := &t.pkgs[u.first+i]
				t.renderStandalone(fsys, &b, u.dir+"/"+p.version, u.first+i)
			}
		case collection:
			b.Reset()
			t.writeCollection(&b, u)
			fsys[u.dir+"/collection.yaml"] = file(b.String())
			b.Reset()
			t.writeCollectionBuild(&b, u)
			fsys[u.dir+"/build.yaml"] = file(b.String())
			t.context(fsys, u.dir, u.dir)
		}
	}
	return fsys
}

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s), Mode: 0o644} }

func (t *tree) renderStandalone(fsys fstest.MapFS, b *strings.Builder, dir string, i int) {
	p := &t.pkgs[i]
	b.Reset()
	t.writeDefinition(b, p)
	fsys[dir+"/definition.yaml"] = file(b.String())
	b.Reset()
	t.writeBuild(b, p)
	fsys[dir+"/build.yaml"] = file(b.String())
	if p.finalize {
		fsys[dir+"/finalize.yaml"] = file(fmt.Sprintf(
			"install:\n- mkdir -p /etc/%[1]s\n- echo \"%[1]s %[2]s\" > /etc/%[1]s/installed\n", p.name, p.version))
	}
	t.context(fsys, dir, p.name)
}

// context adds the build context: shell scripts the steps run and plain
// data files, each different so that directory hashes differ.
func (t *tree) context(fsys fstest.MapFS, dir, owner string) {
	for i := range t.cfg.ContextFiles {
		if i%2 == 0 {
			fsys[fmt.Sprintf("%s/scripts/step-%d.sh", dir, i)] = &fstest.MapFile{
				Data: fmt.Appendf(nil, "#!/bin/sh\nset -e\n# %s, step %d\nmkdir -p /usr/share/%s\necho %d > /usr/share/%s/step-%d\n",
					owner, i, owner, i, owner, i),
				Mode: 0o755,
			}
		} else {
			fsys[fmt.Sprintf("%s/files/data-%d.conf", dir, i)] = file(
				fmt.Sprintf("# %s\nowner = %q\nindex = %d\nsalt = %08x\n", owner, owner, i, t.rng.Uint32()))
		}
	}
}

func (t *tree) ver(p *pkg) string {
	if p.quote {
		return `"` + p.version + `"`
	}
	return p.version
}

func (t *tree) writeDefinition(b *strings.Builder, p *pkg) {
	fmt.Fprintf(b, "name: %q\ncategory: %q\nversion: %s\n", p.name, p.cat, t.ver(p))
	fmt.Fprintf(b, "description: \"Synthetic package %s/%s\"\n", p.cat, p.name)
	fmt.Fprintf(b, "license: %q\n", licenses[len(p.name)%len(licenses)])
	if p.hidden {
		b.WriteString("hidden: true # only ever a build dependency\n")
	}
	fmt.Fprintf(b, "labels:\n  autobump.strategy: %q\n  github.owner: \"synth\"\n  github.repo: %q\n",
		autobump[len(p.version)%len(autobump)], p.name)
	t.writeValues(b, "", p)
	t.writeRefs(b, "requires", "", p.runtime, "")
	if len(p.conflicts) > 0 {
		b.WriteString("conflicts:\n")
		for _, c := range p.conflicts {
			writeRef(b, "", ref{to: c, sel: ">=0"}, t.pkgs[c].cat, t.pkgs[c].name)
		}
	}
	if p.provides {
		fmt.Fprintf(b, "provides:\n- name: \"%s-legacy\"\n  category: %q\n  version: \">0.0.1\"\n", p.name, p.cat)
	}
}

// writeValues writes the definition keys that are template values.
func (t *tree) writeValues(b *strings.Builder, ind string, p *pkg) {
	fmt.Fprintf(b, "%supstream_version: %q\n", ind, p.upstream)
	if p.flavor != "" {
		fmt.Fprintf(b, "%sbuild_flavor: %s\n", ind, p.flavor)
	}
	if len(p.features) > 0 {
		fmt.Fprintf(b, "%sfeatures:\n", ind)
		for _, f := range p.features {
			fmt.Fprintf(b, "%s- %s\n", ind, f)
		}
	}
}

func writeRef(b *strings.Builder, ind string, r ref, cat, name string) {
	fmt.Fprintf(b, "%s- name: %q\n%s  category: %q\n%s  version: %q\n", ind, name, ind, cat, ind, r.sel)
}

// writeRefs writes a requires-like list under key. With a non-empty anchor
// prefix, a ref in the same category as an earlier one merges that one's
// mapping instead of repeating the category, as elemental's meta collection
// does.
func (t *tree) writeRefs(b *strings.Builder, key, ind string, refs []ref, anchor string) {
	if len(refs) == 0 {
		return
	}
	fmt.Fprintf(b, "%s%s:\n", ind, key)
	type seen struct{ cat, anchor string }
	var anchors []seen
	for i, r := range refs {
		q := &t.pkgs[r.to]
		if anchor == "" {
			writeRef(b, ind, r, q.cat, q.name)
			continue
		}
		var a string
		for _, s := range anchors {
			if s.cat == q.cat {
				a = s.anchor
			}
		}
		if a != "" {
			fmt.Fprintf(b, "%s  - <<: *%s\n%s    name: %q\n%s    version: %q\n", ind, a, ind, q.name, ind, r.sel)
			continue
		}
		a = fmt.Sprintf("%s%d", anchor, i)
		anchors = append(anchors, seen{q.cat, a})
		fmt.Fprintf(b, "%s  - &%s\n%s    name: %q\n%s    category: %q\n%s    version: %q\n",
			ind, a, ind, q.name, ind, q.cat, ind, r.sel)
	}
}

func (t *tree) writeBuild(b *strings.Builder, p *pkg) {
	if p.image != "" {
		fmt.Fprintf(b, "image: \"{{ .Values.%s }}\"\n\n", p.image)
		b.WriteString("env:\n- LANG=C.UTF-8\n{{ if .Values.distribution }}\n{{ if eq .Values.distribution \"debian\" }}\n- DEBIAN_FRONTEND=noninteractive\n{{ end }}\n{{ end }}\n")
		b.WriteString("steps:\n{{ if .Values.codename }}\n{{ if ne .Values.codename \"teal\" }}\n")
		b.WriteString("{{ template \"distro_install\" (dict \"Values\" .Values \"Packages\" .Values.packages) }}\n{{ end }}\n{{ end }}\n")
		b.WriteString(stepMkdir + stepVersion)
		if t.cfg.ContextFiles > 0 {
			b.WriteString(stepScripts)
		}
		b.WriteString("\n# The whole image is the artefact.\nunpack: true\n")
		return
	}
	t.writeRefs(b, "requires", "", p.build, "")
	if p.copy != nil {
		q := &t.pkgs[p.copy.to]
		b.WriteString("\ncopy:\n- package:\n")
		fmt.Fprintf(b, "    category: %q\n    name: %q\n    version: %q\n", q.cat, q.name, p.copy.sel)
		fmt.Fprintf(b, "  source: \"/usr/share/%s/VERSION\"\n  destination: \"/usr/share/%s/from-%s\"\n", q.name, p.name, q.name)
	}
	b.WriteString("\nenv:\n- PACKAGE_FLAVOR={{ .Values.build_flavor | default \"default\" }}\n")
	if p.commonEnv {
		b.WriteString("{{ include \"common_env\" . }}\n")
	}
	b.WriteString("{{ if eq (default \"\" .Values.distribution) \"debian\" }}\n- DEBIAN_FRONTEND=noninteractive\n{{ end }}\n")
	if p.prelude || p.fetch {
		b.WriteString("\nprelude:\n")
		if p.prelude {
			b.WriteString("{{ template \"distro_install\" (dict \"Values\" .Values \"Packages\" \"curl tar gzip\") }}\n")
		}
		if p.fetch {
			b.WriteString("{{ template \"fetch_source\" (dict \"name\" .Values.name \"version\" .Values.upstream_version) }}\n")
		}
	}
	b.WriteString("\nsteps:\n" + distroBranch + stepMkdir)
	if t.cfg.ContextFiles > 0 {
		b.WriteString(stepScripts)
	}
	b.WriteString(stepVersion + stepFeature)
	if p.includes {
		b.WriteString("\nincludes:\n" + includeRe + "- '^/etc/{{ .Values.name }}(/.*)?$'\n")
		t.writeFileIncludes(b, p.name)
	}
	if p.excludes {
		b.WriteString("\nexcludes:\n- '\\.la$'\n- '^/usr/share/doc'\n")
	}
	if p.pkgDir {
		b.WriteString("\npackage_dir: \"/usr/share/{{ .Values.name }}\"\n")
	}
	if p.unpack {
		b.WriteString("\nunpack: true\n")
	}
}

// writeCollection writes the entries as elemental does: the first one
// anchored, the others merging it and overriding what differs.
func (t *tree) writeCollection(b *strings.Builder, u *unit) {
	merge := "<<:"
	if u.bang {
		merge = "!!merge <<:"
	}
	base := &t.pkgs[u.first]
	anchor := fmt.Sprintf("e%d", u.first)
	b.WriteString("packages:\n")
	for i := range u.n {
		idx := u.first + i
		p := &t.pkgs[idx]
		if i == 0 {
			fmt.Fprintf(b, "  - &%s\n", anchor)
			fmt.Fprintf(b, "    category: %q\n    name: %q\n    version: %s\n", p.cat, p.name, t.ver(p))
			fmt.Fprintf(b, "    description: \"Synthetic collection entry of %s\"\n", u.dir)
			fmt.Fprintf(b, "    license: %q\n", licenses[idx%len(licenses)])
			fmt.Fprintf(b, "    labels:\n      autobump.strategy: %q\n      github.owner: \"synth\"\n", autobump[idx%len(autobump)])
			t.writeValues(b, "    ", p)
		} else {
			fmt.Fprintf(b, "  - %s *%s\n", merge, anchor)
			fmt.Fprintf(b, "    name: %q\n    version: %s\n", p.name, t.ver(p))
			fmt.Fprintf(b, "    upstream_version: %q\n", p.upstream)
			if p.flavor != base.flavor {
				fmt.Fprintf(b, "    build_flavor: %q\n", p.flavor)
			}
			if len(p.features) > 0 {
				fmt.Fprintf(b, "    features: [%s]\n", strings.Join(p.features, ", "))
			}
			if p.hidden {
				b.WriteString("    hidden: true\n")
			}
		}
		if i == 0 || !sameRefs(p.runtime, base.runtime) {
			t.writeRefs(b, "requires", "    ", p.runtime, fmt.Sprintf("r%d_", idx))
		}
	}
}

func sameRefs(a, b []ref) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// writeCollectionBuild writes the build.yaml the entries share: common
// requires and steps, with per-entry branches on .Values.name.
func (t *tree) writeCollectionBuild(b *strings.Builder, u *unit) {
	if u.root {
		b.WriteString("image: \"{{ .Values.image }}\"\n")
	} else {
		t.writeRefs(b, "requires", "", u.build, "")
		for i := range u.n {
			p := &t.pkgs[u.first+i]
			if len(p.build) > 0 {
				fmt.Fprintf(b, "{{ if eq .Values.name %q }}\n", p.name)
				for _, r := range p.build {
					writeRef(b, "", r, t.pkgs[r.to].cat, t.pkgs[r.to].name)
				}
				b.WriteString("{{ end }}\n")
			}
		}
	}
	fmt.Fprintf(b, "\nenv:\n- COLLECTION=%s\n{{ include \"common_env\" . }}\n", u.dir[strings.LastIndexByte(u.dir, '/')+1:])
	b.WriteString("\nsteps:\n" + stepMkdir)
	if t.cfg.ContextFiles > 0 {
		b.WriteString(stepScripts)
	}
	b.WriteString(stepVersion)
	for i := range u.n {
		if i%3 == 1 {
			p := &t.pkgs[u.first+i]
			fmt.Fprintf(b, "{{ if eq .Values.name %q }}\n- touch /usr/share/{{ .Values.name }}/special\n{{ end }}\n", p.name)
		}
	}
	b.WriteString(stepFeature)
	b.WriteString("\nincludes:\n" + includeRe)
	t.writeFileIncludes(b, t.pkgs[u.first].name)
}

// sharedIncludePool is how many distinct shared patterns Config.Includes
// draws from.
const sharedIncludePool = 4096

// writeFileIncludes writes Config.Includes generated patterns, literal
// lines as a generator would write them.
func (t *tree) writeFileIncludes(b *strings.Builder, name string) {
	for j := range t.cfg.Includes {
		if j%2 == 0 {
			k := (j/2 + len(name)*31) % sharedIncludePool
			fmt.Fprintf(b, "- '^/usr/lib/python3/dist-packages/mod%04d/__init__\\.py$'\n", k)
		} else {
			fmt.Fprintf(b, "- '^/usr/share/%s/data/file%05d\\.dat$'\n", name, j)
		}
	}
}

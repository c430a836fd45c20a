package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/etk-build/etk/compiler/diag"
	"go.yaml.in/yaml/v3"
)

// DecodeDefinition decodes a definition.yaml into one package.
func DecodeDefinition(file string, src []byte) (*Package, diag.List) {
	var diags diag.List
	root := parseYAML(file, src, &diags)
	if root == nil {
		return nil, diags
	}
	d := &doc{file: file, src: src, diags: &diags}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "a definition must be a mapping, got %s", kind(root))
		return nil, diags
	}
	p := d.pkg(root, "")
	if p != nil && diags.HasErrors() {
		// Errors of the file as a whole (a second document) are the
		// package's too.
		p.Broken = diags.Errors()
	}
	return p, diags
}

// DecodeCollection decodes a collection.yaml into its packages.
func DecodeCollection(file string, src []byte) ([]*Package, diag.List) {
	var diags diag.List
	root := parseYAML(file, src, &diags)
	if root == nil {
		return nil, diags
	}
	d := &doc{file: file, src: src, diags: &diags}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "a collection must be a mapping with a packages list, got %s", kind(root))
		return nil, diags
	}
	var list *yaml.Node
	for _, p := range d.pairs(root) {
		if p.key.Value == "packages" {
			list = resolve(p.value)
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode {
		d.errorf(root, "a collection needs a packages list")
		return nil, diags
	}
	// Errors of the file as a whole (a second document) are every entry's.
	fileErrs := diags.Errors()
	var out []*Package
	var nodes []*yaml.Node
	seen := map[string]int{} // identity -> index in out
	for i, item := range list.Content {
		if !d.budget(item) {
			break
		}
		if resolve(item) == nil || resolve(item).Kind != yaml.MappingNode {
			d.errorf(item, "packages[%d]: want a mapping, got %s", i, kind(item))
			continue
		}
		p := d.pkg(item, "packages entry: ")
		if p == nil {
			continue
		}
		// An entry written twice the same way loses nothing: keep one.
		// Written twice differently, both stay, and the tree reports the
		// identity as defined twice.
		if j, ok := seen[p.ID()]; ok && d.equal(item, nodes[j]) {
			d.diags.Warnf(p.Pos, "packages entry %s repeats the entry at line %d; the repetition is ignored", p.ID(), out[j].Pos.Line)
			continue
		} else if !ok {
			seen[p.ID()] = len(out)
		}
		p.Collection = true
		out = append(out, p)
		nodes = append(nodes, item)
	}
	if fileErrs != nil {
		for _, p := range out {
			p.Broken = append(fileErrs[:len(fileErrs):len(fileErrs)], p.Broken...)
		}
	}
	return out, diags
}

// pkg decodes a package mapping. Every key is also a template value. A
// package whose identity (name, category, version) decodes but whose other
// fields do not comes back with its errors in Broken: the tree keeps it, so
// that what needs it fails with its errors and nothing else does. A package
// without an identity is nil.
func (d *doc) pkg(n *yaml.Node, where string) *Package {
	before := len(*d.diags)
	p := &Package{Pos: d.pos(n)}
	for _, kv := range d.pairs(n) {
		field := where + kv.key.Value
		switch kv.key.Value {
		case "name":
			p.Name, _ = d.str(kv.value, field)
		case "category":
			p.Category, _ = d.str(kv.value, field)
		case "version":
			p.Version, _ = d.str(kv.value, field)
		case "hidden":
			p.Hidden, _ = d.boolean(kv.value, field)
		case "description":
			p.Description, _ = d.str(kv.value, field)
		case "license":
			p.License, _ = d.str(kv.value, field)
		case "uri":
			p.URI = d.strList(kv.value, field)
		case "labels":
			p.Labels = d.strMap(kv.value, field)
		case "annotations":
			p.Annotations = d.strMap(kv.value, field)
		case "requires":
			p.Requires = d.refList(kv.value, field)
		case "conflicts":
			p.Conflicts = d.refList(kv.value, field)
		case "provides":
			p.Provides = d.refList(kv.value, field)
		}
	}
	fieldErrs := len(*d.diags)
	checkName(d, n, where+"name", p.Name, true)
	checkName(d, n, where+"category", p.Category, false)
	if p.Version == "" {
		d.errorf(n, "%spackage %q has no version", where, p.PackageName())
	} else if strings.ContainsAny(p.Version, " \t\n@/") {
		d.errorf(n, "%sversion %q: must not contain spaces, '@' or '/'", where, p.Version)
	}
	if (*d.diags)[fieldErrs:].HasErrors() {
		return nil
	}
	if errs := (*d.diags)[before:].Errors(); len(errs) > 0 {
		p.Broken = errs
		return p
	}
	v, err := d.value(n)
	if err != nil {
		d.errorf(n, "%svalues: %s", where, trimYAMLPrefix(err.Error()))
	}
	if errs := (*d.diags)[before:].Errors(); len(errs) > 0 {
		p.Broken = errs
		return p
	}
	values, ok := v.(map[string]any)
	if !ok {
		values = map[string]any{}
		if m, isMap := v.(map[any]any); isMap {
			for k, e := range m {
				values[fmt.Sprint(k)] = e
			}
		}
	}
	// The literal text wins over YAML's typing: version 1.10 is "1.10".
	values["name"] = p.Name
	values["version"] = p.Version
	if p.Category != "" {
		values["category"] = p.Category
	}
	p.Values = values
	return p
}

func checkName(d *doc, n *yaml.Node, field, v string, required bool) {
	switch {
	case v == "" && required:
		d.errorf(n, "%s: missing", field)
	case strings.ContainsAny(v, " \t\n@/"):
		d.errorf(n, "%s %q: must not contain spaces, '@' or '/'", field, v)
	}
}

// buildFields are the build.yaml keys luet knows, plus etk's `network`.
var buildFields = map[string]bool{
	"image": true, "requires": true, "conflicts": true, "provides": true,
	"prelude": true, "steps": true, "env": true, "retrieve": true,
	"package_dir": true, "unpack": true, "includes": true, "excludes": true,
	"copy": true, "requires_final_images": true, "seed": true,
	"subpackages": true, "network": true, "join": true,
	// Accepted by luet's decoder and without effect on a build.
	"build_options": true,
}

// DecodeBuild decodes a rendered build.yaml. Unknown keys are warnings, or
// errors when strict is set.
func DecodeBuild(file string, src []byte, strict bool) (*Build, diag.List) {
	return DecodePackageBuild(file, src, strict, nil)
}

// DecodePackageBuild decodes the rendered build.yaml of p as luet reads it:
// a build spec with steps but neither image nor requires builds on p's
// definition requires (luet replaces those by the build spec's only when it
// has some).
func DecodePackageBuild(file string, src []byte, strict bool, p *Package) (*Build, diag.List) {
	var diags diag.List
	root := parseYAML(file, src, &diags)
	if root == nil {
		return nil, diags
	}
	d := &doc{file: file, src: src, diags: &diags}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "a build spec must be a mapping, got %s", kind(root))
		return nil, diags
	}
	b := &Build{Pos: diag.Pos{File: file}, Source: src}
	var join []Ref
	var joinKey *yaml.Node
	for _, kv := range d.pairs(root) {
		k, v := kv.key.Value, kv.value
		switch k {
		case "image":
			b.Image, _ = d.str(v, k)
		case "requires":
			b.Requires = d.refList(v, k)
		case "conflicts":
			b.Conflicts = d.refList(v, k)
		case "provides":
			b.Provides = d.refList(v, k)
		case "prelude":
			b.Prelude = d.strList(v, k)
		case "steps":
			b.Steps = d.strList(v, k)
		case "env":
			b.Env = d.strList(v, k)
		case "retrieve":
			b.Retrieve = d.strList(v, k)
		case "package_dir":
			b.PackageDir, _ = d.str(v, k)
		case "unpack":
			b.Unpack, _ = d.boolean(v, k)
		case "includes":
			b.Includes = d.patterns(v, k)
		case "excludes":
			b.Excludes = d.patterns(v, k)
		case "join":
			join, joinKey = d.refList(v, k), kv.key
		case "copy":
			b.Copy = d.copies(v)
		case "requires_final_images":
			b.RequiresFinalImages, _ = d.boolean(v, k)
		case "seed":
			b.Seed, _ = d.str(v, k)
		case "network":
			b.Network, _ = d.str(v, k)
			if b.Network != "" && b.Network != "none" && b.Network != "host" {
				d.errorf(v, "network: want none or host, got %q", b.Network)
			}
		case "subpackages":
			b.Subpackages = d.subpackages(v)
		case "build_options":
		default:
			msg := "unknown field %q in build spec" + suggest(k)
			if strict {
				diags.Errorf(d.pos(kv.key), msg, k)
			} else {
				diags.Warnf(d.pos(kv.key), msg, k)
			}
		}
	}
	if b.Network == "none" {
		b.Network = ""
	}
	if joinKey != nil {
		// luet 0.18 replaced join by requires plus requires_final_images,
		// and later versions ignore it: read it the way 0.18 did.
		diags.Warnf(d.pos(joinKey), "join is deprecated since luet 0.18; read as requires with requires_final_images: true (write that instead)")
		b.Requires = append(b.Requires, join...)
		if len(join) > 0 {
			b.RequiresFinalImages = true
		}
	}
	if p != nil && len(b.Steps)+len(b.Prelude) > 0 && b.Image == "" && len(b.Requires) == 0 && len(p.Requires) > 0 {
		b.Requires = append([]Ref(nil), p.Requires...)
	}
	d.checkBuild(root, b)
	if diags.HasErrors() {
		return nil, diags
	}
	return b, diags
}

func (d *doc) checkBuild(root *yaml.Node, b *Build) {
	if len(b.Steps)+len(b.Prelude) > 0 && b.Image == "" && len(b.Requires) == 0 {
		d.errorf(root, "build spec has steps but neither image nor requires to build them on")
	}
	if b.Image != "" && len(b.Requires) > 0 {
		// luet builds from the image and does not build on the requires.
		d.diags.Warnf(d.pos(root), "build spec has both image and requires; as in luet, the build starts from the image and the requires are not built on (remove one)")
		b.Requires = nil
	}
}

// patterns decodes an includes or excludes list, checking each pattern at
// its own position.
func (d *doc) patterns(n *yaml.Node, field string) []string {
	list := d.strList(n, field)
	if len(list) == 0 {
		return list
	}
	items := []*yaml.Node{resolve(n)}
	if items[0].Kind == yaml.SequenceNode {
		items = items[0].Content
	}
	for i, re := range list {
		p := lookupPattern(re)
		if p.err != nil {
			at := n
			if len(items) == len(list) {
				at = items[i]
			}
			d.errorf(at, "%s: %q: %v", field, re, p.err)
		}
		list[i] = p.text
	}
	return list
}

func (d *doc) copies(n *yaml.Node) []Copy {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "copy: want a list, got %s", kind(n))
		return nil
	}
	var out []Copy
	for _, item := range n.Content {
		c := Copy{Pos: d.pos(item)}
		if resolve(item) == nil || resolve(item).Kind != yaml.MappingNode {
			d.errorf(item, "copy entry: want a mapping, got %s", kind(item))
			continue
		}
		for _, kv := range d.pairs(item) {
			switch kv.key.Value {
			case "package":
				if r, ok := d.ref(kv.value, "copy.package"); ok {
					c.Package = &r
				}
			case "image":
				c.Image, _ = d.str(kv.value, "copy.image")
			case "source":
				c.Source, _ = d.str(kv.value, "copy.source")
			case "destination":
				c.Destination, _ = d.str(kv.value, "copy.destination")
			default:
				// luet ignores fields it does not know.
				d.diags.Warnf(d.pos(kv.key), "copy: unknown field %q", kv.key.Value)
			}
		}
		switch {
		case c.Package == nil && c.Image == "":
			d.errorf(item, "copy entry needs a package or an image")
		case c.Package != nil && c.Image != "":
			d.errorf(item, "copy entry has both a package and an image; use one")
		case c.Source == "" || c.Destination == "":
			d.errorf(item, "copy entry needs source and destination")
		}
		out = append(out, c)
	}
	return out
}

func (d *doc) subpackages(n *yaml.Node) []Subpackage {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "subpackages: want a list, got %s", kind(n))
		return nil
	}
	var out []Subpackage
	for _, item := range n.Content {
		var s Subpackage
		for _, kv := range d.pairs(item) {
			switch kv.key.Value {
			case "includes":
				s.Includes = d.patterns(kv.value, "subpackages.includes")
			case "excludes":
				s.Excludes = d.patterns(kv.value, "subpackages.excludes")
			case "package":
				s.Ref, _ = d.ref(kv.value, "subpackages.package")
			case "name":
				s.Ref.Name, _ = d.str(kv.value, "subpackages.name")
			case "category":
				s.Ref.Category, _ = d.str(kv.value, "subpackages.category")
			case "version":
				s.Ref.Version, _ = d.str(kv.value, "subpackages.version")
			}
		}
		s.Ref.Pos = d.pos(item)
		out = append(out, s)
	}
	return out
}

// DecodeFinalize decodes a finalize.yaml.
func DecodeFinalize(file string, src []byte) (*Finalize, diag.List) {
	var diags diag.List
	root := parseYAML(file, src, &diags)
	if root == nil {
		return nil, diags
	}
	d := &doc{file: file, src: src, diags: &diags}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "a finalizer must be a mapping, got %s", kind(root))
		return nil, diags
	}
	f := &Finalize{}
	for _, kv := range d.pairs(root) {
		switch kv.key.Value {
		case "install":
			f.Install = d.strList(kv.value, "install")
		case "shell":
			f.Shell = d.strList(kv.value, "shell")
		default:
			diags.Warnf(d.pos(kv.key), "unknown field %q in finalize spec", kv.key.Value)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return f, diags
}

// suggest names the known field closest to an unknown one, for typos such
// as "requries".
func suggest(k string) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(buildFields))
	for f := range buildFields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if dist := diag.EditDistance(k, f, bestDist); dist < bestDist {
			best, bestDist = f, dist
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + strings.ReplaceAll(best, "%", "%%") + "?)"
}

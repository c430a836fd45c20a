package tree

import (
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/etk-build/etk/compiler/spec"
)

// layout is what a walk of one tree finds.
type layout struct {
	pkgDirs   []string            // sorted
	templates []string            // shared template files, sorted
	context   map[string][]string // package dir -> context files (relative, sorted)
}

// scan walks fsys once. A directory holding definition.yaml or
// collection.yaml is a package directory; its other files, minus those of
// nested package directories, are its build context. Files of folders named
// "templates" (that are not package directories) are shared templates.
func scan(fsys fs.FS) (*layout, error) {
	type entry struct{ dir, name string }
	var files []entry
	pkg := map[string]bool{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir // .git and friends
			}
			return nil
		}
		dir, name := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		if name == spec.DefinitionFile || name == spec.CollectionFile {
			pkg[dir] = true
		}
		files = append(files, entry{dir, name})
		return nil
	})
	if err != nil {
		return nil, err
	}
	l := &layout{context: map[string][]string{}}
	for d := range pkg {
		l.pkgDirs = append(l.pkgDirs, d)
	}
	sort.Strings(l.pkgDirs)
	for _, f := range files {
		if path.Base(f.dir) == spec.TemplatesDir && strings.HasSuffix(f.name, ".yaml") && !pkg[f.dir] {
			l.templates = append(l.templates, path.Join(f.dir, f.name))
		}
		owner := ownerDir(f.dir, pkg)
		if owner == "" {
			continue
		}
		if owner == f.dir && spec.IsSpecFile(f.name) {
			continue
		}
		rel := f.name
		if f.dir != owner {
			rel = path.Join(strings.TrimPrefix(f.dir, owner+"/"), f.name)
			if owner == "." {
				rel = path.Join(f.dir, f.name)
			}
		}
		l.context[owner] = append(l.context[owner], rel)
	}
	sort.Strings(l.templates)
	for _, c := range l.context {
		sort.Strings(c)
	}
	return l, nil
}

// ownerDir is the nearest package directory at or above dir.
func ownerDir(dir string, pkg map[string]bool) string {
	for {
		if pkg[dir] {
			return dir
		}
		if dir == "." || dir == "" {
			return ""
		}
		dir = path.Dir(dir)
	}
}

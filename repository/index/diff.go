package index

import (
	"slices"
	"strings"

	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/compiler/version"
)

// Changes is what Diff finds between two indexes, each list sorted by ID
// (Changed by the new ID).
type Changes struct {
	Added   []Package `json:"added,omitempty"`
	Removed []Package `json:"removed,omitempty"`
	Changed []Change  `json:"changed,omitempty"`
}

// Change is a package of the old index and what replaced it in the new.
type Change struct {
	Old Package `json:"old"`
	New Package `json:"new"`
}

// Empty reports whether the two indexes list the same packages.
func (c Changes) Empty() bool {
	return len(c.Added) == 0 && len(c.Removed) == 0 && len(c.Changed) == 0
}

// Diff compares index a with the newer b, package by package. A package
// whose ID is in both is changed when anything the index says of it
// differs: its key, artefact or metadata blob, its refs. The packages of one
// category/name whose IDs are only in a or only in b are version changes:
// the old and the new versions are paired in version order, oldest first,
// and the versions left over are removed or added. A nil index is empty.
func Diff(a, b *Index) Changes {
	old, cur := byName(a), byName(b)
	var c Changes
	for name, olds := range old {
		news := cur[name]
		var goneOld, newOnly []Package
		for _, p := range olds {
			i := slices.IndexFunc(news, func(q Package) bool { return q.ID == p.ID })
			if i < 0 {
				goneOld = append(goneOld, p)
			} else if !equalPackage(p, news[i]) {
				c.Changed = append(c.Changed, Change{Old: p, New: news[i]})
			}
		}
		for _, q := range news {
			if !slices.ContainsFunc(olds, func(p Package) bool { return p.ID == q.ID }) {
				newOnly = append(newOnly, q)
			}
		}
		byVersion := func(p, q Package) int { return version.CompareStrings(p.Version, q.Version) }
		slices.SortFunc(goneOld, byVersion)
		slices.SortFunc(newOnly, byVersion)
		n := min(len(goneOld), len(newOnly))
		for i := range n {
			c.Changed = append(c.Changed, Change{Old: goneOld[i], New: newOnly[i]})
		}
		c.Removed = append(c.Removed, goneOld[n:]...)
		c.Added = append(c.Added, newOnly[n:]...)
	}
	for name, news := range cur {
		if _, ok := old[name]; !ok {
			c.Added = append(c.Added, news...)
		}
	}
	byID := func(p, q Package) int { return strings.Compare(p.ID, q.ID) }
	slices.SortFunc(c.Added, byID)
	slices.SortFunc(c.Removed, byID)
	slices.SortFunc(c.Changed, func(p, q Change) int { return byID(p.New, q.New) })
	return c
}

// byName groups the packages of x by category/name.
func byName(x *Index) map[string][]Package {
	m := make(map[string][]Package)
	if x == nil {
		return m
	}
	for _, p := range x.Packages {
		m[p.PackageName()] = append(m[p.PackageName()], p)
	}
	return m
}

// equalPackage compares what an index says of two packages; the positions
// of refs, which no index holds, do not count.
func equalPackage(p, q Package) bool {
	return p.ID == q.ID && p.Category == q.Category && p.Name == q.Name && p.Version == q.Version &&
		p.Hidden == q.Hidden && p.Description == q.Description && p.Key == q.Key &&
		equalRefs(p.Requires, q.Requires) && equalRefs(p.Conflicts, q.Conflicts) && equalRefs(p.Provides, q.Provides) &&
		equalBlob(p.Artefact, q.Artefact) && p.Metadata == q.Metadata
}

func equalRefs(a, b []spec.Ref) bool {
	return slices.EqualFunc(a, b, func(r, s spec.Ref) bool {
		return r.Category == s.Category && r.Name == s.Name && r.Version == s.Version
	})
}

func equalBlob(a, b *Blob) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

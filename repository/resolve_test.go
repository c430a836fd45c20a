package repository_test

import (
	"strings"
	"testing"

	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

func pkg(id string, requires ...spec.Ref) index.Package {
	r := spec.ParseID(id)
	return index.Package{ID: id, Category: r.Category, Name: r.Name, Version: r.Version, Requires: requires, Key: strings.Repeat("0", 64)}
}

func TestResolve(t *testing.T) {
	idx := &index.Index{Name: "test", Packages: []index.Package{
		pkg("distro/base@1.0"),
		pkg("distro/base@2.0"),
		pkg("system/kernel@0.1", spec.Ref{Category: "distro", Name: "base", Version: "<2"}),
		pkg("meta/os@1", spec.Ref{Category: "system", Name: "kernel"}, spec.Ref{Category: "distro", Name: "base"}),
		pkg("apps/bad@1", spec.Ref{Category: "distro", Name: "base", Version: ">=3"}),
	}}
	got, err := repository.Resolve(idx, []string{"meta/os"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	// One version of base: the newest that both requirements accept.
	if strings.Join(ids, " ") != "distro/base@1.0 system/kernel@0.1 meta/os@1" {
		t.Errorf("order: %v", ids)
	}
	set, err := repository.ResolveSet(idx, []string{"meta/os"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set.Needs["meta/os@1"], " "); got != "distro/base@1.0 system/kernel@0.1" {
		t.Errorf("meta/os needs %q", got)
	}
	if got := set.Needs["distro/base@1.0"]; len(got) != 0 {
		t.Errorf("base needs %v", got)
	}
	_, err = repository.Resolve(idx, []string{"apps/bad"})
	if err == nil || !strings.Contains(err.Error(), "apps/bad@1 requires distro/base >=3: no version satisfies it: constraint >=3 excludes 2.0, 1.0") {
		t.Errorf("unsatisfiable: %v", err)
	}
	idx.Packages = append(idx.Packages, pkg("apps/new@1", spec.Ref{Category: "distro", Name: "base", Version: ">=2"}))
	_, err = repository.Resolve(idx, []string{"apps/new", "system/kernel"})
	if err == nil || !strings.Contains(err.Error(), "no version of distro/base satisfies all of: apps/new@1 requires distro/base >=2; system/kernel@0.1 requires distro/base <2") {
		t.Errorf("incompatible requirements: %v", err)
	}
	if _, err := repository.Resolve(idx, []string{"apps/nope"}); err == nil {
		t.Error("unknown package resolved")
	}
}

package repository

import (
	"slices"
	"strings"

	"github.com/etk-build/etk/repository/index"
)

func sortPackages(ps []index.Package) {
	slices.SortFunc(ps, func(a, b index.Package) int { return strings.Compare(a.ID, b.ID) })
}

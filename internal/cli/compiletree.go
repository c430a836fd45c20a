package cli

import (
	"github.com/etk-build/etk/compiler"
	"github.com/etk-build/etk/repository/compiletree"
)

// compileTree packs the session's trees, with where each came from, the
// values its packages were rendered with and the extends graph behind
// them (see repository/compiletree).
func compileTree(s *compiler.Session, p *project) ([]byte, error) {
	var trees []compiletree.Tree
	for _, src := range s.Tree.Sources {
		trees = append(trees, compiletree.Tree{Origin: src.Origin, Revision: src.Revision, Overlay: src.Overlay, FS: src.FS})
	}
	return compiletree.Write(trees, p.cfg.Values, p.extends)
}

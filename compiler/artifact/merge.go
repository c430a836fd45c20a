package artifact

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
)

// Whiteout names, as in the OCI image layer specification.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	paxXattr       = "SCHILY.xattr."
	paxSparse      = "GNU.sparse."
)

// errSparse refuses sparse entries: Docker and BuildKit never write them
// (archive/tar cannot), and a few bytes of one can claim terabytes of
// holes that the spool would have to fill.
var errSparse = fmt.Errorf("%w: sparse file", ErrBadLayer)

// srcRef names one header of one layer: the n-th header tar.Reader.Next
// returns for layers[layer].
type srcRef struct{ layer, index int }

// entry is what a layer header says about one inode, without its content.
// It is immutable once merged, except for shared and the spool fields.
type entry struct {
	typ                byte // tar.TypeReg, TypeDir, TypeSymlink, TypeChar, TypeBlock or TypeFifo
	mode               int64
	uid, gid           int
	size               int64
	link               string // symlink target
	devmajor, devminor int64
	xattrs             map[string]string // attribute name → raw value
	src                srcRef

	shared bool   // a hardlink points at it
	off    int64  // content offset in the spool
	digest string // "sha256:<hex>" of the content
}

// node is one path of the merged tree. ent is nil for a path the layers
// only imply (a parent they never list, a deleted path).
type node struct {
	children map[string]*node
	ent      *entry // shared with other nodes when hardlinked
	deleted  bool   // Delta: a step removed this path from below
	opaque   bool   // Delta: a step removed this directory's contents from below
}

// tree merges layers. With record set (Delta) whiteouts and opaque markers
// are kept as deletions; without (Full) they only remove.
type tree struct {
	root   node
	record bool
}

func split(p string) []string {
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// find returns the node at p, creating missing nodes when create is set
// (nil when not). covered reports that a strict ancestor is deleted or
// opaque, so nothing below it survives from under the steps. blocked names
// a strict ancestor that is not a directory, under which p cannot exist.
func (t *tree) find(p string, create bool) (n *node, covered bool, blocked string) {
	n = &t.root
	end := 0 // p[:end] is n's path
	for _, name := range split(p) {
		if n.ent != nil && n.ent.typ != tar.TypeDir {
			return nil, covered, p[:end]
		}
		covered = covered || n.deleted || n.opaque
		c := n.children[name]
		if c == nil {
			if !create {
				return nil, covered, ""
			}
			if n.children == nil {
				n.children = map[string]*node{}
			}
			c = &node{}
			n.children[name] = c
		}
		end += 1 + len(name)
		n = c
	}
	return n, covered, ""
}

// whiteout removes p and its subtree.
func (t *tree) whiteout(p string) {
	if !t.record {
		if parent, _, _ := t.find(path.Dir(p), false); parent != nil {
			delete(parent.children, path.Base(p))
		}
		return
	}
	n, covered, blocked := t.find(p, true)
	if blocked != "" {
		return // nothing can exist under a non-directory
	}
	*n = node{deleted: !covered}
}

// opaque removes what directory d held below the current layer.
func (t *tree) opaque(d string) {
	n, covered, blocked := t.find(d, t.record)
	if n == nil || blocked != "" {
		return
	}
	n.children = nil
	if t.record && !covered && !n.deleted {
		n.opaque = true
	}
}

// set puts e at p. A non-directory replaces whatever was there, subtree
// included; a directory over a directory keeps its contents.
func (t *tree) set(p string, e *entry) error {
	n, _, blocked := t.find(p, true)
	if blocked != "" {
		return fmt.Errorf("%w: parent %s is not a directory", ErrBadLayer, blocked)
	}
	if e.typ != tar.TypeDir {
		n.children = nil
		n.opaque = false
	}
	n.ent = e
	return nil
}

// op is one header of a layer, decided.
type op struct {
	kind opKind
	path string // cleaned absolute path
	name string // the name as the layer spells it, for errors
	link string // hardlink target, cleaned absolute path
	ent  *entry
}

type opKind uint8

const (
	opEntry opKind = iota
	opHardlink
	opWhiteout
	opOpaque
)

// merge reads the headers of every layer and applies them to a new tree.
func merge(ctx context.Context, layers []Opener, record bool) (*tree, error) {
	t := &tree{record: record}
	for i, open := range layers {
		ops, err := scan(ctx, i, open)
		if err != nil {
			return nil, err
		}
		// Whiteouts apply to lower layers only, wherever the layer has them.
		for _, o := range ops {
			switch o.kind {
			case opWhiteout:
				t.whiteout(o.path)
			case opOpaque:
				t.opaque(o.path)
			}
		}
		for _, o := range ops {
			var err error
			switch o.kind {
			case opEntry:
				err = t.set(o.path, o.ent)
			case opHardlink:
				n, _, _ := t.find(o.link, false)
				if n == nil || n.ent == nil || n.ent.typ == tar.TypeDir {
					err = fmt.Errorf("%w: hardlink target %s is not a non-directory of the layers", ErrBadLayer, o.link)
					break
				}
				n.ent.shared = true
				err = t.set(o.path, n.ent)
			}
			if err != nil {
				return nil, fmt.Errorf("layer %d: %q: %w", i, o.name, err)
			}
		}
	}
	return t, nil
}

// scan reads one layer's headers.
func scan(ctx context.Context, i int, open Opener) (ops []op, err error) {
	rc, err := open()
	if err != nil {
		return nil, fmt.Errorf("layer %d: %w", i, err)
	}
	defer func() {
		if cerr := rc.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("layer %d: %w", i, cerr)
		}
	}()
	tr := tar.NewReader(rc)
	for idx := 0; ; idx++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return ops, nil
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		o, err := decide(hdr, srcRef{i, idx})
		if err != nil {
			return nil, fmt.Errorf("layer %d: %q: %w", i, hdr.Name, err)
		}
		if o != nil {
			ops = append(ops, *o)
		}
	}
}

// decide turns a layer header into an op, or nil for one to skip.
func decide(hdr *tar.Header, src srcRef) (*op, error) {
	p, err := cleanName(hdr.Name)
	if err != nil {
		return nil, err
	}
	dir, base := path.Split(p)
	first, _, _ := strings.Cut(p[1:], "/")
	switch {
	case base == whiteoutOpaque:
		return &op{kind: opOpaque, path: path.Clean(dir), name: hdr.Name}, nil
	case strings.HasPrefix(base, whiteoutMeta), strings.HasPrefix(first, whiteoutMeta):
		return nil, nil // aufs bookkeeping (.wh..wh.plnk and the like), not content
	case strings.HasPrefix(base, whiteoutPrefix):
		target := base[len(whiteoutPrefix):]
		if target == "" || target == "." || target == ".." {
			return nil, fmt.Errorf("%w: empty whiteout", ErrUnsafePath)
		}
		return &op{kind: opWhiteout, path: path.Join(dir, target), name: hdr.Name}, nil
	}
	if p == "/" {
		if hdr.Typeflag != tar.TypeDir {
			return nil, fmt.Errorf("%w: root is not a directory", ErrBadLayer)
		}
		return nil, nil
	}
	e := &entry{
		typ:  hdr.Typeflag,
		mode: hdr.Mode & 0o7777,
		uid:  hdr.Uid,
		gid:  hdr.Gid,
		src:  src,
	}
	if hdr.Uid < 0 || hdr.Gid < 0 {
		return nil, fmt.Errorf("%w: negative owner", ErrBadLayer)
	}
	for k, v := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxSparse) {
			return nil, errSparse
		}
		if name, ok := strings.CutPrefix(k, paxXattr); ok {
			if e.xattrs == nil {
				e.xattrs = map[string]string{}
			}
			e.xattrs[name] = v
		}
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		e.size = hdr.Size
	case tar.TypeGNUSparse:
		return nil, errSparse
	case tar.TypeDir, tar.TypeFifo:
	case tar.TypeSymlink:
		e.link = hdr.Linkname
	case tar.TypeChar, tar.TypeBlock:
		e.devmajor, e.devminor = hdr.Devmajor, hdr.Devminor
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return nil, fmt.Errorf("hardlink target: %w", err)
		}
		return &op{kind: opHardlink, path: p, name: hdr.Name, link: target}, nil
	default:
		return nil, fmt.Errorf("%w: unsupported entry type %q", ErrBadLayer, hdr.Typeflag)
	}
	return &op{kind: opEntry, path: p, name: hdr.Name, ent: e}, nil
}

// cleanName turns a relative tar name into a clean absolute path. It
// refuses absolute names and any ".." element, so that nothing a layer
// says can name a path outside the root.
func cleanName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty name", ErrUnsafePath)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute name", ErrUnsafePath)
	}
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: NUL in name", ErrUnsafePath)
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem == ".." {
			return "", fmt.Errorf("%w: %q element", ErrUnsafePath, "..")
		}
	}
	return path.Clean("/" + name), nil
}

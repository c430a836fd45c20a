package artifact

import (
	"archive/tar"
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"
)

// encoderOptions are fixed: the same tar gives the same bytes. Concurrency
// 1 keeps block boundaries independent of the machine.
func encoderOptions() []zstd.EOption {
	return []zstd.EOption{
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(8 << 20),
		zstd.WithEncoderCRC(true),
	}
}

// emptyDigest is the digest of no bytes.
var emptyDigest = digestOf(sha256.New())

func digestOf(h interface{ Sum([]byte) []byte }) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

type itemKind uint8

const (
	itemDropped itemKind = iota // a directory nothing kept
	itemEntry
	itemWhiteout
	itemOpaque
)

// item is one entry of the artefact to write, in archive order.
type item struct {
	kind   itemKind
	path   string // artefact path; for itemOpaque the directory
	ent    *entry
	linkTo string // the artefact path that carries ent, for a hardlink
}

// write is Delta and Full: merge (pass 1), spool the surviving contents
// (pass 2), write the tar in order from the spool (pass 3).
func write(ctx context.Context, layers []Opener, spec Spec, w io.Writer, record bool) (*Metadata, error) {
	f, err := newFilter(spec)
	if err != nil {
		return nil, err
	}
	epoch := time.Unix(0, 0)
	if !spec.Epoch.IsZero() {
		epoch = time.Unix(spec.Epoch.Unix(), 0)
	}
	t, err := merge(ctx, layers, record)
	if err != nil {
		return nil, err
	}
	root := &t.root
	if pd := path.Clean("/" + spec.PackageDir); pd != "/" {
		n, _, _ := t.find(pd, false)
		if n == nil || (n.ent == nil && len(n.children) == 0) || (n.ent != nil && n.ent.typ != tar.TypeDir) {
			return nil, fmt.Errorf("%w: %s", ErrNoPackageDir, pd)
		}
		root = n
	}
	items := plan(root, f)

	sp, err := os.CreateTemp(spec.TempDir, "etk-artefact-*.spool")
	if err != nil {
		return nil, err
	}
	defer func() {
		sp.Close()
		os.Remove(sp.Name())
	}()
	buf := make([]byte, 64<<10)
	if err := spool(ctx, layers, items, sp, buf); err != nil {
		return nil, err
	}
	return emit(ctx, items, sp, epoch, w, buf)
}

// plan lists what the artefact holds, in archive order, and picks for
// each group of hardlinked entries the first one as the carrier of the
// content.
func plan(root *node, f *filter) []item {
	var items []item
	var walk func(n *node, p string, isRoot bool)
	walk = func(n *node, p string, isRoot bool) {
		self := -1
		if !isRoot && n.ent != nil {
			self = len(items)
			items = append(items, item{kind: itemEntry, path: p, ent: n.ent})
		}
		start := len(items)
		if n.opaque && f.keep(p) {
			items = append(items, item{kind: itemOpaque, path: p})
		}
		names := slices.Sorted(maps.Keys(n.children))
		for _, name := range names {
			if cp := join(p, name); n.children[name].deleted && f.keep(cp) {
				items = append(items, item{kind: itemWhiteout, path: cp})
			}
		}
		for _, name := range names {
			walk(n.children[name], join(p, name), false)
		}
		if self < 0 || f.keep(p) {
			return
		}
		// A directory the layers list stays as the parent of what is kept.
		if n.ent.typ != tar.TypeDir || f.excluded(p) || !hasKept(items[start:]) {
			items[self].kind = itemDropped
		}
	}
	walk(root, "/", true)
	items = slices.DeleteFunc(items, func(it item) bool { return it.kind == itemDropped })

	carriers := map[*entry]string{}
	for i := range items {
		it := &items[i]
		if it.kind != itemEntry || !it.ent.shared {
			continue
		}
		if c, ok := carriers[it.ent]; ok {
			it.linkTo = c
		} else {
			carriers[it.ent] = it.path
		}
	}
	return items
}

func hasKept(items []item) bool {
	return slices.ContainsFunc(items, func(it item) bool { return it.kind != itemDropped })
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// spool copies the content of every carried regular file from the layers
// into sp, layer by layer, recording offsets and digests in the entries.
func spool(ctx context.Context, layers []Opener, items []item, sp *os.File, buf []byte) error {
	need := make([][]*entry, len(layers))
	for _, it := range items {
		if it.kind == itemEntry && it.linkTo == "" && it.ent.typ == tar.TypeReg {
			if it.ent.size == 0 {
				it.ent.digest = emptyDigest
				continue
			}
			need[it.ent.src.layer] = append(need[it.ent.src.layer], it.ent)
		}
	}
	bw := bufio.NewWriterSize(sp, len(buf))
	var off int64
	for i, es := range need {
		if len(es) == 0 {
			continue
		}
		slices.SortFunc(es, func(a, b *entry) int { return cmp.Compare(a.src.index, b.src.index) })
		if err := spoolLayer(ctx, i, layers[i], es, bw, buf, &off); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	return bw.Flush()
}

func spoolLayer(ctx context.Context, i int, open Opener, es []*entry, sp io.Writer, buf []byte, off *int64) (err error) {
	rc, err := open()
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
	}()
	tr := tar.NewReader(rc)
	for idx := 0; len(es) > 0; idx++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("%w: changed between reads: fewer entries", ErrBadLayer)
		}
		if err != nil {
			return err
		}
		e := es[0]
		if idx != e.src.index {
			continue
		}
		es = es[1:]
		if hdr.Typeflag != tar.TypeReg || hdr.Size != e.size {
			return fmt.Errorf("%q: %w: changed between reads", hdr.Name, ErrBadLayer)
		}
		h := sha256.New()
		n, err := io.CopyBuffer(io.MultiWriter(sp, h), tr, buf)
		if err != nil {
			return fmt.Errorf("%q: %w", hdr.Name, err)
		}
		if n != e.size {
			return fmt.Errorf("%q: %w: %d bytes of %d", hdr.Name, ErrBadLayer, n, e.size)
		}
		e.off, e.digest = *off, digestOf(h)
		*off += n
	}
	return nil
}

// counter counts bytes written.
type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}

// emit writes the artefact and returns its metadata.
func emit(ctx context.Context, items []item, sp *os.File, epoch time.Time, w io.Writer, buf []byte) (*Metadata, error) {
	h := sha256.New()
	var n counter
	zw, err := zstd.NewWriter(io.MultiWriter(w, h, &n), encoderOptions()...)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	m := &Metadata{Format: Format, Compression: Compression, Files: []File{}, Deletions: []string{}}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, file := header(it, epoch)
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("write %s: %w", it.path, err)
		}
		switch it.kind {
		case itemWhiteout:
			m.Deletions = append(m.Deletions, it.path)
			continue
		case itemOpaque:
			m.Opaque = append(m.Opaque, it.path)
			continue
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.CopyBuffer(tw, io.NewSectionReader(sp, it.ent.off, it.ent.size), buf); err != nil {
				return nil, fmt.Errorf("write %s: %w", it.path, err)
			}
			m.InstalledSize += it.ent.size
		}
		m.Files = append(m.Files, file)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	slices.SortFunc(m.Deletions, comparePath)
	slices.SortFunc(m.Opaque, comparePath)
	m.Digest, m.Size = digestOf(h), int64(n)
	return m, nil
}

// header is the tar header and the File of one item. Only the mtime is
// set, to epoch; names are relative, owner names empty.
func header(it item, epoch time.Time) (*tar.Header, File) {
	switch it.kind {
	case itemWhiteout:
		dir, base := path.Split(it.path)
		return &tar.Header{Typeflag: tar.TypeReg, Name: dir[1:] + whiteoutPrefix + base, ModTime: epoch}, File{}
	case itemOpaque:
		return &tar.Header{Typeflag: tar.TypeReg, Name: join(it.path, whiteoutOpaque)[1:], ModTime: epoch}, File{}
	}
	e := it.ent
	hdr := &tar.Header{
		Name:    it.path[1:],
		Mode:    e.mode,
		Uid:     e.uid,
		Gid:     e.gid,
		ModTime: epoch,
	}
	file := File{Path: it.path, Mode: uint32(e.mode), UID: e.uid, GID: e.gid}
	if it.linkTo != "" {
		hdr.Typeflag, hdr.Linkname = tar.TypeLink, it.linkTo[1:]
		file.Type, file.Link = TypeHardlink, it.linkTo
		return hdr, file
	}
	hdr.Typeflag = e.typ
	switch e.typ {
	case tar.TypeReg:
		hdr.Size = e.size
		file.Type, file.Size, file.Digest = TypeFile, e.size, e.digest
	case tar.TypeDir:
		hdr.Name += "/"
		file.Type = TypeDir
	case tar.TypeSymlink:
		hdr.Linkname = e.link
		file.Type, file.Link = TypeSymlink, e.link
	case tar.TypeChar, tar.TypeBlock:
		hdr.Devmajor, hdr.Devminor = e.devmajor, e.devminor
		file.Type, file.Devmajor, file.Devminor = TypeBlock, e.devmajor, e.devminor
		if e.typ == tar.TypeChar {
			file.Type = TypeChar
		}
	case tar.TypeFifo:
		file.Type = TypeFifo
	}
	if len(e.xattrs) > 0 {
		hdr.PAXRecords = map[string]string{}
		file.Xattrs = map[string]string{}
		for k, v := range e.xattrs {
			hdr.PAXRecords[paxXattr+k] = v
			file.Xattrs[k] = base64.StdEncoding.EncodeToString([]byte(v))
		}
	}
	return hdr, file
}

// comparePath orders paths component by component: "/" sorts before any
// other byte, so a directory's subtree follows it directly.
func comparePath(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := a[i], b[i]
		switch {
		case ca == cb:
			continue
		case ca == '/':
			return -1
		case cb == '/':
			return 1
		}
		return cmp.Compare(ca, cb)
	}
	return cmp.Compare(len(a), len(b))
}

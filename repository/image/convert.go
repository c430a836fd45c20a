package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	paxXattr       = "SCHILY.xattr."
)

// toLayer copies the artefact tar read from r to w as a layer tar (see
// the package doc): entries unchanged, except that a whiteout of a path
// the artefact then creates under becomes an opaque directory.
//
// The artefact lists, within a directory, its whiteouts before its
// entries, both sorted by name, and each entry's subtree right after it.
// So a whiteout is held until the directory's listing reaches its name:
// an entry of that name (or below it) means "replaced", anything past it
// means a plain whiteout, written then.
func toLayer(ctx context.Context, r io.Reader, w io.Writer) error {
	tr := tar.NewReader(r)
	c := &converter{tw: tar.NewWriter(w)}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadArtefact, err)
		}
		if err := c.entry(h, tr); err != nil {
			return err
		}
	}
	for _, d := range c.held {
		if err := c.flush(d, ""); err != nil {
			return err
		}
	}
	return c.tw.Close()
}

type converter struct {
	tw *tar.Writer
	// held: directories with whiteouts not written yet, outermost first;
	// each is an ancestor of the previous entry or the directory of the
	// previous marker.
	held []*heldDir
	// opaqued is the last directory the converter made opaque itself, so
	// that a marker of the artefact's own is not written twice.
	opaqued string
}

type heldDir struct {
	dir  string        // "" for the root, else "a/b"
	outs []*tar.Header // whiteout headers in name order
}

func (c *converter) entry(h *tar.Header, body io.Reader) error {
	name := strings.TrimSuffix(h.Name, "/")
	dir, base := "", name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		dir, base = name[:i], name[i+1:]
	}
	if name == "" || base == "." || base == ".." {
		return fmt.Errorf("%w: entry %q", ErrBadArtefact, h.Name)
	}
	switch {
	case base == whiteoutOpaque:
		if _, err := c.reach(dir, nil); err != nil {
			return err
		}
		if dir == c.opaqued {
			return nil
		}
		return c.write(h, nil)
	case strings.HasPrefix(base, whiteoutPrefix):
		if _, err := c.reach(dir, nil); err != nil {
			return err
		}
		if n := len(c.held); n == 0 || c.held[n-1].dir != dir {
			c.held = append(c.held, &heldDir{dir: dir})
		}
		d := c.held[len(c.held)-1]
		d.outs = append(d.outs, layerHeader(h))
		return nil
	}
	replaced, err := c.reach(name, h)
	if err != nil {
		return err
	}
	if replaced == nil {
		return c.write(h, body)
	}
	if h.Typeflag != tar.TypeDir {
		// A non-directory replaces whatever is below anyway; the whiteout
		// says it again, right before it.
		if err := c.write(replaced, nil); err != nil {
			return err
		}
		return c.write(h, body)
	}
	if err := c.write(h, nil); err != nil {
		return err
	}
	return c.opaque(name, replaced)
}

// reach moves the converter to path p: it writes the held whiteouts that
// sort before p, drops the directories p is not in, and turns the whiteout
// of an ancestor of p into an opaque directory. When the whiteout is of p
// itself and h is p's entry, it returns the whiteout for the caller to
// place around the entry.
func (c *converter) reach(p string, h *tar.Header) (replaced *tar.Header, err error) {
	keep := 0
	for _, d := range c.held {
		if d.dir != p && !within(p, d.dir) {
			if err := c.flush(d, ""); err != nil {
				return nil, err
			}
			continue
		}
		c.held[keep] = d
		keep++
	}
	clear(c.held[keep:])
	c.held = c.held[:keep]
	for _, d := range c.held {
		if d.dir == p {
			continue
		}
		rest := p
		if d.dir != "" {
			rest = p[len(d.dir)+1:]
		}
		child, _, _ := strings.Cut(rest, "/")
		if err := c.flush(d, child); err != nil {
			return nil, err
		}
		if len(d.outs) == 0 || whiteoutTarget(d.outs[0]) != child {
			continue
		}
		out := d.outs[0]
		d.outs = d.outs[1:]
		cp := join(d.dir, child)
		if cp == p && h != nil {
			return out, nil
		}
		// Deleted and created under, with no entry of its own: the
		// directory an installer would make, emptied of what was below.
		dh := &tar.Header{Typeflag: tar.TypeDir, Name: cp + "/", Mode: 0o755, ModTime: out.ModTime}
		if err := c.write(dh, nil); err != nil {
			return nil, err
		}
		if err := c.opaque(cp, out); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// flush writes d's held whiteouts whose names sort before upTo, or all
// of them when upTo is "".
func (c *converter) flush(d *heldDir, upTo string) error {
	n := 0
	for n < len(d.outs) && (upTo == "" || whiteoutTarget(d.outs[n]) < upTo) {
		if err := c.write(d.outs[n], nil); err != nil {
			return err
		}
		n++
	}
	d.outs = d.outs[n:]
	return nil
}

// opaque writes the opaque marker of directory p, shaped like the
// whiteout it replaces.
func (c *converter) opaque(p string, out *tar.Header) error {
	oh := *out
	oh.Name = p + "/" + whiteoutOpaque
	c.opaqued = p
	return c.write(&oh, nil)
}

func (c *converter) write(h *tar.Header, body io.Reader) error {
	lh := layerHeader(h)
	if err := c.tw.WriteHeader(lh); err != nil {
		return fmt.Errorf("%w: write %s: %v", ErrBadArtefact, h.Name, err)
	}
	if body != nil && lh.Typeflag == tar.TypeReg && lh.Size > 0 {
		if _, err := io.Copy(c.tw, body); err != nil {
			if errors.Is(err, tar.ErrWriteTooLong) {
				return fmt.Errorf("%w: %s: %v", ErrBadArtefact, h.Name, err)
			}
			return err
		}
	}
	return nil
}

// layerHeader is h with only the fields the artefact writer sets, so that
// archive/tar encodes it as the artefact did: the same bytes for the same
// entry.
func layerHeader(h *tar.Header) *tar.Header {
	lh := &tar.Header{
		Typeflag: h.Typeflag,
		Name:     h.Name,
		Linkname: h.Linkname,
		Size:     h.Size,
		Mode:     h.Mode,
		Uid:      h.Uid,
		Gid:      h.Gid,
		ModTime:  h.ModTime,
		Devmajor: h.Devmajor,
		Devminor: h.Devminor,
	}
	for k, v := range h.PAXRecords {
		if strings.HasPrefix(k, paxXattr) {
			if lh.PAXRecords == nil {
				lh.PAXRecords = map[string]string{}
			}
			lh.PAXRecords[k] = v
		}
	}
	return lh
}

func whiteoutTarget(h *tar.Header) string {
	name := h.Name
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimPrefix(name, whiteoutPrefix)
}

// within reports whether p is strictly below directory d ("" the root).
func within(p, d string) bool {
	return d == "" || strings.HasPrefix(p, d+"/")
}

func join(d, name string) string {
	if d == "" {
		return name
	}
	return d + "/" + name
}

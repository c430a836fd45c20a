package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Walk reads an artefact from r, checks that it follows the format, and
// calls fn, unless nil, for each entry in archive order. content reads a
// regular file's bytes (nothing for other types); fn need not read it
// all. Whiteouts and opaque markers come as Files of TypeWhiteout and
// TypeOpaque holding only Path. The File handed to fn has no Digest yet:
// the Metadata returned, equal to what Delta or Full returned for the same
// bytes, has them all. With Expect, the artefact is checked against the
// metadata that describes it as it streams.
func Walk(ctx context.Context, r io.Reader, fn func(f File, content io.Reader) error, opts ...WalkOption) (*Metadata, error) {
	var o walkOptions
	for _, opt := range opts {
		opt(&o)
	}
	var want *expectation
	if o.want != nil {
		if _, err := TarBound(o.want); err != nil {
			return nil, err
		}
		want = newExpectation(o.want)
	}
	h := sha256.New()
	var n counter
	src := io.TeeReader(r, io.MultiWriter(h, &n))
	var tarStream io.Reader
	if want != nil {
		rc, err := Decompress(src, want.m)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		tarStream = rc
	} else {
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		tarStream = zr
	}

	m := &Metadata{Format: Format, Compression: Compression, Files: []File{}, Deletions: []string{}}
	tr := tar.NewReader(tarStream)
	var prev []string
	carriers := map[string]bool{} // hardlink targets allowed so far
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, ErrMismatch) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadArtefact, err)
		}
		f, key, err := readHeader(hdr)
		if err == nil && prev != nil && slices.Compare(prev, key) >= 0 {
			err = errors.New("out of order")
		}
		if err == nil && f.Type == TypeHardlink && !carriers[f.Link] {
			err = fmt.Errorf("hardlink to %s, not an earlier file", f.Link)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadArtefact, hdr.Name, err)
		}
		prev = key
		var listed File
		if want != nil {
			if listed, err = want.entry(f); err != nil {
				return nil, err
			}
		}
		switch f.Type {
		case TypeWhiteout:
			m.Deletions = append(m.Deletions, f.Path)
		case TypeOpaque:
			m.Opaque = append(m.Opaque, f.Path)
		case TypeDir, TypeHardlink:
		default:
			carriers[f.Path] = true
		}
		var content io.Reader = bytes.NewReader(nil)
		var hr *hashReader
		if f.Type == TypeFile {
			hr = &hashReader{r: tr, h: sha256.New(), want: listed.Digest, path: f.Path}
			content = hr
		}
		if fn != nil {
			if err := fn(f, content); err != nil {
				return nil, err
			}
		}
		if hr != nil {
			if _, err := io.Copy(io.Discard, hr); errors.Is(err, ErrMismatch) {
				return nil, err
			} else if err != nil {
				return nil, fmt.Errorf("%w: %q: %w", ErrBadArtefact, hdr.Name, err)
			}
			f.Digest = digestOf(hr.h)
			m.InstalledSize += f.Size
		}
		if f.Type != TypeWhiteout && f.Type != TypeOpaque {
			m.Files = append(m.Files, f)
		}
	}
	if want != nil {
		if err := want.end(); err != nil {
			return nil, err
		}
	}
	if err := zeroTail(tarStream); err != nil {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, src); err != nil {
		return nil, err
	}
	slices.SortFunc(m.Deletions, comparePath)
	slices.SortFunc(m.Opaque, comparePath)
	m.Digest, m.Size = digestOf(h), int64(n)
	if want != nil && ((want.m.Digest != "" && want.m.Digest != m.Digest) || (want.m.Size != 0 && want.m.Size != m.Size)) {
		return nil, fmt.Errorf("%w: the artefact is %d bytes with digest %s; its metadata says %d bytes with digest %s", ErrMismatch, m.Size, m.Digest, want.m.Size, want.m.Digest)
	}
	return m, nil
}

// List reads an artefact and returns its metadata.
func List(r io.Reader) (*Metadata, error) {
	return Walk(context.Background(), r, nil)
}

// Verify reads an artefact and checks that its bytes have the digest
// ("sha256:<hex>") and that it follows the format.
func Verify(r io.Reader, digest string) error {
	want, ok := strings.CutPrefix(digest, "sha256:")
	if _, err := hex.DecodeString(want); !ok || err != nil || len(want) != 2*sha256.Size {
		return fmt.Errorf("verify: malformed digest %q", digest)
	}
	h := sha256.New()
	tee := io.TeeReader(r, h)
	_, werr := List(tee)
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}
	if got := digestOf(h); got != digest {
		return fmt.Errorf("%w: got %s, want %s", ErrDigestMismatch, got, digest)
	}
	return werr
}

// hashReader hashes a file's content and, when want is set, fails at
// its end unless the digest is want.
type hashReader struct {
	r          io.Reader
	h          hash.Hash
	want, path string
}

func (r *hashReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF && r.want != "" {
		if got := digestOf(r.h); got != r.want {
			return n, fmt.Errorf("%w: %s: content %s, metadata %s", ErrMismatch, r.path, got, r.want)
		}
	}
	return n, err
}

// zeroTail reads what follows the tar's end and refuses anything but
// zero padding.
func zeroTail(r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if slices.ContainsFunc(buf[:n], func(b byte) bool { return b != 0 }) {
			return fmt.Errorf("%w: data after the end of the archive", ErrBadArtefact)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadArtefact, err)
		}
	}
}

// readHeader checks one artefact header and returns its File and its
// order key: path elements tagged so that in each directory the opaque
// marker (0) comes first, then whiteouts (1), then entries (2).
func readHeader(hdr *tar.Header) (File, []string, error) {
	name := hdr.Name
	if hdr.Typeflag == tar.TypeDir {
		var ok bool
		if name, ok = strings.CutSuffix(name, "/"); !ok {
			return File{}, nil, errors.New("directory name without trailing slash")
		}
	}
	p, err := canonical(name)
	if err != nil {
		return File{}, nil, err
	}
	dir, base := path.Split(p)
	key := func(last string) []string {
		var k []string
		for _, e := range split(path.Clean(dir)) {
			k = append(k, "\x02"+e)
		}
		return append(k, last)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		if hdr.Typeflag != tar.TypeReg || hdr.Size != 0 {
			return File{}, nil, errors.New("whiteout is not an empty file")
		}
		if base == whiteoutOpaque {
			d := path.Clean(dir)
			return File{Path: d, Type: TypeOpaque}, key("\x00"), nil
		}
		target := base[len(whiteoutPrefix):]
		if strings.HasPrefix(base, whiteoutMeta) || target == "" || target == "." || target == ".." {
			return File{}, nil, errors.New("bad whiteout")
		}
		return File{Path: dir + target, Type: TypeWhiteout}, key("\x01" + target), nil
	}
	if hdr.Mode&^0o7777 != 0 || hdr.Uid < 0 || hdr.Gid < 0 {
		return File{}, nil, errors.New("bad mode or owner")
	}
	f := File{Path: p, Mode: uint32(hdr.Mode), UID: hdr.Uid, GID: hdr.Gid}
	switch hdr.Typeflag {
	case tar.TypeReg:
		f.Type, f.Size = TypeFile, hdr.Size
	case tar.TypeDir:
		f.Type = TypeDir
	case tar.TypeSymlink:
		f.Type, f.Link = TypeSymlink, hdr.Linkname
		if f.Link == "" {
			return File{}, nil, errors.New("empty symlink target")
		}
	case tar.TypeLink:
		target, err := canonical(hdr.Linkname)
		if err != nil {
			return File{}, nil, fmt.Errorf("hardlink target: %w", err)
		}
		f.Type, f.Link = TypeHardlink, target
	case tar.TypeChar, tar.TypeBlock:
		f.Type, f.Devmajor, f.Devminor = TypeChar, hdr.Devmajor, hdr.Devminor
		if hdr.Typeflag == tar.TypeBlock {
			f.Type = TypeBlock
		}
	case tar.TypeFifo:
		f.Type = TypeFifo
	default:
		return File{}, nil, fmt.Errorf("unsupported entry type %q", hdr.Typeflag)
	}
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, paxXattr); ok {
			if f.Xattrs == nil {
				f.Xattrs = map[string]string{}
			}
			f.Xattrs[name] = base64.StdEncoding.EncodeToString([]byte(v))
		}
	}
	return f, key("\x02" + base), nil
}

// canonical turns an artefact name into its absolute path, refusing any
// name that is not already clean and relative.
func canonical(name string) (string, error) {
	p, err := cleanName(name)
	if err != nil {
		return "", err
	}
	if p == "/" || p[1:] != name {
		return "", fmt.Errorf("%w: name is not clean", ErrUnsafePath)
	}
	return p, nil
}

package artifact

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// ErrMismatch: an artefact is not what the metadata describing it says:
// an entry the metadata does not list, or lists otherwise (type, mode,
// owner, size, target, device numbers, xattrs, digest), an entry it lists
// that is missing, more compressed bytes than its Size, or more tar bytes
// than its entries account for (TarBound). Also metadata that contradicts
// itself (an InstalledSize other than the sum of its files' sizes).
var ErrMismatch = errors.New("artefact does not match its metadata")

// Tar block and record sizes.
const (
	blockSize  = 512
	recordSize = 20 * blockSize
)

// headerAllowance is what a header may need besides its name, link and
// xattrs: the PAX records of the numeric fields (size, uid, gid, mtime,
// device numbers) when they do not fit USTAR, with their keys and lengths.
const headerAllowance = 512

// WalkOption configures Walk.
type WalkOption func(*walkOptions)

type walkOptions struct {
	want *Metadata
}

// Expect makes Walk check the artefact against m, the metadata that
// describes it (signed, in a repository), as it streams, and fail with
// ErrMismatch at the first difference, before fn sees the entry that
// differs: an entry m does not list, or lists with another type, mode,
// owner, size, target, device numbers or xattrs; a regular file whose
// content has another digest (content's Read fails at its end); an entry
// m lists that is missing; more compressed bytes than m.Size; more tar
// bytes than TarBound(m). m is checked first: it must be of this format,
// its InstalledSize the sum of its files' sizes. So an artefact can never
// make Walk read, or fn write, more than m promises.
func Expect(m *Metadata) WalkOption { return func(o *walkOptions) { o.want = m } }

// TarBound checks that m is consistent and returns the most bytes the tar
// of an artefact m describes can hold: for each entry, deletion and
// opaque marker one USTAR block when its header fits one (as archive/tar
// then writes it), else that block, a PAX header block and its records
// (the name, the link, the xattrs, and room for the numeric fields); a
// regular file's content rounded up to whole blocks; the two zero blocks
// that end the archive; all rounded up to a tar record (10 KiB), which
// some writers pad to. On the foundation's artefacts it is at most 9 KiB
// over the actual tar.
func TarBound(m *Metadata) (int64, error) {
	if m == nil {
		return 0, fmt.Errorf("%w: no metadata", ErrMismatch)
	}
	if m.Format != Format || m.Compression != Compression {
		return 0, fmt.Errorf("%w: metadata of format %q, compression %q; want %q, %q", ErrMismatch, m.Format, m.Compression, Format, Compression)
	}
	var total, content int64
	add := func(n int64) bool {
		if n < 0 || total > math.MaxInt64-n {
			return false
		}
		total += n
		return true
	}
	for _, f := range m.Files {
		if f.Size < 0 || (f.Size > 0 && f.Type != TypeFile) {
			return 0, fmt.Errorf("%w: metadata lists %s with size %d", ErrMismatch, f.Path, f.Size)
		}
		name := strings.TrimPrefix(f.Path, "/")
		if f.Type == TypeDir {
			name += "/"
		}
		x := int64(0)
		for k, v := range f.Xattrs {
			x += int64(len(paxXattr)+len(k)+base64.StdEncoding.DecodedLen(len(v))) + 24
		}
		hdr := headerBound(name, f.Link, x)
		if x == 0 && fitsUSTAR(name, f) {
			hdr = blockSize
		}
		if !add(hdr) || !add(roundUp(f.Size)) {
			return 0, fmt.Errorf("%w: metadata sizes overflow", ErrMismatch)
		}
		if f.Type == TypeFile {
			content += f.Size
		}
	}
	if content != m.InstalledSize {
		return 0, fmt.Errorf("%w: metadata says installed_size %d, but its files hold %d bytes", ErrMismatch, m.InstalledSize, content)
	}
	for _, d := range m.Deletions {
		dir, base := path.Split(d)
		total += markerBound(dir + whiteoutPrefix + base)
	}
	for _, d := range m.Opaque {
		total += markerBound(path.Join(d, whiteoutOpaque))
	}
	if !add(2 * blockSize) {
		return 0, fmt.Errorf("%w: metadata sizes overflow", ErrMismatch)
	}
	return (total + recordSize - 1) / recordSize * recordSize, nil
}

// markerBound is the header of a whiteout or opaque marker at p.
func markerBound(p string) int64 {
	name := strings.TrimPrefix(p, "/")
	if fitsUSTAR(name, File{}) {
		return blockSize
	}
	return headerBound(name, "", 0)
}

// fitsUSTAR reports whether archive/tar writes the header of f, named
// name, as one USTAR block: ASCII name (at most 100 bytes, or split at a
// slash into 155 and 100) and link (100), numbers in their octal fields.
// mtimes are whole seconds before the year 2242.
func fitsUSTAR(name string, f File) bool {
	ascii := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 || s[i] == 0 {
				return false
			}
		}
		return true
	}
	const id, size = 1<<21 - 1, 1<<33 - 1 // 7 and 11 octal digits
	if !ascii(name) || !ascii(f.Link) || len(f.Link) > 100 || f.UID > id || f.GID > id || f.Size > size || f.Devmajor > id || f.Devminor > id {
		return false
	}
	if len(name) <= 100 {
		return true
	}
	// USTAR's prefix field: split at a slash, the rest at most 100.
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '/' && i <= 155 && len(name)-i-1 <= 100 && len(name)-i-1 > 0 {
			return true
		}
	}
	return false
}

// headerBound is the most a header for name, link and xattr records of x
// bytes takes: a USTAR block, a PAX header block and its records.
func headerBound(name, link string, x int64) int64 {
	// Each record is "<len> <key>=<value>\n": 24 bytes cover the length,
	// the key of a path or linkpath, and the punctuation.
	recs := int64(len(name)+len(link)) + 2*24 + x + headerAllowance
	return 2*blockSize + roundUp(recs)
}

func roundUp(n int64) int64 {
	if n > math.MaxInt64-blockSize {
		return -1
	}
	return (n + blockSize - 1) / blockSize * blockSize
}

// Decompress returns the tar of the artefact r holds, for readers that
// take the archive apart themselves (an image layer), bounded by what m
// describes: reading fails with ErrMismatch past m.Size compressed bytes
// (when m.Size is set) or past TarBound(m) tar bytes. It checks no entry:
// Walk with Expect does.
func Decompress(r io.Reader, m *Metadata) (io.ReadCloser, error) {
	bound, err := TarBound(m)
	if err != nil {
		return nil, err
	}
	if m.Size > 0 {
		r = &limited{r: r, left: m.Size, what: fmt.Sprintf("more than the %d compressed bytes its metadata says", m.Size)}
	}
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(64<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadArtefact, err)
	}
	return decompressed{Reader: &limited{r: zr, left: bound, what: fmt.Sprintf("it expands past the %d tar bytes its metadata accounts for", bound)}, zr: zr}, nil
}

type decompressed struct {
	io.Reader
	zr *zstd.Decoder
}

func (d decompressed) Close() error {
	d.zr.Close()
	return nil
}

// limited fails, rather than ending, once r yields more than left bytes.
type limited struct {
	r    io.Reader
	left int64
	what string
}

func (l *limited) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		l.left = -1
		return 0, fmt.Errorf("%w: %s", ErrMismatch, l.what)
	}
	l.left -= int64(n)
	return n, err
}

// expectation follows Walk through the metadata it checks against.
type expectation struct {
	m         *Metadata
	next      int // index in m.Files of the next entry
	deletions map[string]bool
	opaque    map[string]bool
}

func newExpectation(m *Metadata) *expectation {
	e := &expectation{m: m, deletions: map[string]bool{}, opaque: map[string]bool{}}
	for _, d := range m.Deletions {
		e.deletions[d] = true
	}
	for _, d := range m.Opaque {
		e.opaque[d] = true
	}
	return e
}

// entry checks the next entry of the archive and returns the File the
// metadata lists for it.
func (e *expectation) entry(f File) (File, error) {
	switch f.Type {
	case TypeWhiteout:
		if !e.deletions[f.Path] {
			return File{}, fmt.Errorf("%w: deletion of %s, which the metadata does not list", ErrMismatch, f.Path)
		}
		delete(e.deletions, f.Path)
		return f, nil
	case TypeOpaque:
		if !e.opaque[f.Path] {
			return File{}, fmt.Errorf("%w: opaque directory %s, which the metadata does not list", ErrMismatch, f.Path)
		}
		delete(e.opaque, f.Path)
		return f, nil
	}
	if e.next >= len(e.m.Files) {
		return File{}, fmt.Errorf("%w: %s is not in the metadata (it lists %d entries)", ErrMismatch, f.Path, len(e.m.Files))
	}
	w := e.m.Files[e.next]
	if w.Path != f.Path {
		return File{}, fmt.Errorf("%w: %s is not in the metadata (it lists %s there)", ErrMismatch, f.Path, w.Path)
	}
	var diffs []string
	diff := func(field string, got, want any) {
		diffs = append(diffs, fmt.Sprintf("%s %v, metadata %v", field, got, want))
	}
	if f.Type != w.Type {
		diff("type", f.Type, w.Type)
	}
	if f.Mode != w.Mode {
		diff("mode", fmt.Sprintf("%04o", f.Mode), fmt.Sprintf("%04o", w.Mode))
	}
	if f.UID != w.UID || f.GID != w.GID {
		diff("owner", fmt.Sprintf("%d:%d", f.UID, f.GID), fmt.Sprintf("%d:%d", w.UID, w.GID))
	}
	if f.Size != w.Size {
		diff("size", f.Size, w.Size)
	}
	if f.Link != w.Link {
		diff("link", fmt.Sprintf("%q", f.Link), fmt.Sprintf("%q", w.Link))
	}
	if f.Devmajor != w.Devmajor || f.Devminor != w.Devminor {
		diff("device", fmt.Sprintf("%d,%d", f.Devmajor, f.Devminor), fmt.Sprintf("%d,%d", w.Devmajor, w.Devminor))
	}
	if !maps.Equal(f.Xattrs, w.Xattrs) {
		diff("xattrs", len(f.Xattrs), len(w.Xattrs))
	}
	if len(diffs) > 0 {
		return File{}, fmt.Errorf("%w: %s: %s", ErrMismatch, f.Path, strings.Join(diffs, "; "))
	}
	e.next++
	return w, nil
}

// end checks that the archive held everything the metadata lists.
func (e *expectation) end() error {
	var missing []string
	for _, f := range e.m.Files[e.next:] {
		missing = append(missing, f.Path)
	}
	for _, d := range slices.Sorted(maps.Keys(e.deletions)) {
		missing = append(missing, "deletion of "+d)
	}
	for _, d := range slices.Sorted(maps.Keys(e.opaque)) {
		missing = append(missing, "opaque "+d)
	}
	if len(missing) == 0 {
		return nil
	}
	if len(missing) > 5 {
		missing = append(missing[:5], fmt.Sprintf("and %d more", len(missing)-5))
	}
	return fmt.Errorf("%w: the artefact lacks what the metadata lists: %s", ErrMismatch, strings.Join(missing, ", "))
}

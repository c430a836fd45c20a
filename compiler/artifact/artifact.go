package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"
)

// Format and Compression are the values of the same Metadata fields.
const (
	Format      = "etk-artefact/v1"
	Compression = "zstd"
)

// Entry types, the values of File.Type.
const (
	TypeFile     = "file"
	TypeDir      = "dir"
	TypeSymlink  = "symlink"
	TypeHardlink = "hardlink"
	TypeChar     = "char"
	TypeBlock    = "block"
	TypeFifo     = "fifo"

	// TypeWhiteout and TypeOpaque are only handed to a Walk callback: a
	// whiteout removes File.Path, an opaque marker removes what File.Path
	// (a directory) held before the artefact. Metadata lists them in
	// Deletions and Opaque, never in Files.
	TypeWhiteout = "whiteout"
	TypeOpaque   = "opaque"
)

// Errors, checked with errors.Is.
var (
	// ErrUnsafePath: a name in a layer or an artefact is absolute or
	// climbs out of the root with "..".
	ErrUnsafePath = errors.New("unsafe path")
	// ErrBadLayer: a layer holds something that cannot be merged (an
	// unknown entry type, a hardlink to nothing, an entry under a file),
	// or changed between the two reads.
	ErrBadLayer = errors.New("bad layer")
	// ErrBadArtefact: an artefact does not follow the format.
	ErrBadArtefact = errors.New("bad artefact")
	// ErrDigestMismatch: Verify read other bytes than the digest names.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrNoPackageDir: Spec.PackageDir is not a directory of the image.
	ErrNoPackageDir = errors.New("package_dir not found")
)

// Opener opens one uncompressed layer tar. It is called more than once
// and must return the same bytes each time.
type Opener func() (io.ReadCloser, error)

// Spec says what part of the merged layers becomes the artefact.
type Spec struct {
	// Includes and Excludes are Go regexps matched against absolute
	// artefact paths ("/usr/bin/foo"). An entry is kept if Includes is
	// empty or one matches, and no exclude matches.
	Includes, Excludes []string
	// PackageDir, for Full only, cuts the filesystem to this directory,
	// re-rooted at "/". Empty or "/" keeps everything.
	PackageDir string
	// Epoch is the mtime of every entry, in whole seconds (callers pass
	// SOURCE_DATE_EPOCH); the zero Time means the Unix epoch.
	Epoch time.Time
	// TempDir holds the spool file; empty means os.TempDir().
	TempDir string
}

// Metadata describes one artefact. Write and List produce the same value
// for the same bytes.
type Metadata struct {
	Format      string `json:"format"`
	Compression string `json:"compression"`
	Digest      string `json:"digest"` // "sha256:<hex>" of the compressed bytes
	Size        int64  `json:"size"`   // compressed size
	// Files holds every entry in archive order, which is sorted by path
	// component by component ("/a", "/a/b", "/a-b").
	Files []File `json:"files"`
	// Deletions are the paths the artefact removes, whole subtrees, sorted.
	Deletions []string `json:"deletions,omitempty"`
	// Opaque are the directories whose previous contents the artefact
	// removes; the directory itself and the artefact's entries under it
	// stay. Sorted.
	Opaque []string `json:"opaque,omitempty"`
	// InstalledSize is the sum of the sizes of the regular files.
	InstalledSize int64 `json:"installed_size"`
}

// File is one entry of an artefact.
type File struct {
	Path string `json:"path"` // absolute and clean: "/usr/bin/foo"
	Type string `json:"type"` // one of the Type constants
	Mode uint32 `json:"mode"` // permission, setuid, setgid and sticky bits
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	Size int64  `json:"size,omitempty"`
	// Digest is "sha256:<hex>" of a regular file's content.
	Digest string `json:"digest,omitempty"`
	// Link is a symlink's target as stored, or the absolute path of the
	// entry a hardlink shares its inode with.
	Link string `json:"link,omitempty"`
	// Devmajor and Devminor number a char or block device.
	Devmajor int64 `json:"devmajor,omitempty"`
	Devminor int64 `json:"devminor,omitempty"`
	// Xattrs holds extended attributes, values in standard base64.
	Xattrs map[string]string `json:"xattrs,omitempty"`
}

// Delta merges the layers a package's steps added to its builder image,
// lowest first, and writes what they changed to w as an artefact: the
// entries added or modified, and what they removed from lower layers
// (whiteouts become Deletions, opaque directories become Opaque).
// Spec.PackageDir must be empty.
func Delta(ctx context.Context, layers []Opener, spec Spec, w io.Writer) (*Metadata, error) {
	if spec.PackageDir != "" {
		return nil, errors.New("delta: package_dir needs the whole filesystem: use Full")
	}
	return write(ctx, layers, spec, w, true)
}

// Full merges all layers of an image, lowest first, into its filesystem
// (whiteouts applied, not recorded), cuts it to Spec.PackageDir, and
// writes it to w as an artefact.
func Full(ctx context.Context, layers []Opener, spec Spec, w io.Writer) (*Metadata, error) {
	return write(ctx, layers, spec, w, false)
}

// filter holds compiled includes and excludes.
type filter struct {
	includes, excludes []*regexp.Regexp
}

func newFilter(spec Spec) (*filter, error) {
	f := &filter{}
	for i, s := range spec.Includes {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("includes[%d]: %w", i, err)
		}
		f.includes = append(f.includes, re)
	}
	for i, s := range spec.Excludes {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("excludes[%d]: %w", i, err)
		}
		f.excludes = append(f.excludes, re)
	}
	return f, nil
}

func (f *filter) excluded(p string) bool {
	for _, re := range f.excludes {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}

func (f *filter) keep(p string) bool {
	if f.excluded(p) {
		return false
	}
	if len(f.includes) == 0 {
		return true
	}
	for _, re := range f.includes {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}

package forge

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/etk-build/etk/compiler/artifact"
	"github.com/etk-build/etk/compiler/build"
	"github.com/etk-build/etk/compiler/spec"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/index"
)

// Epoch is every forged entry's mtime.
var Epoch = time.Unix(1700000000, 0)

// Entry is one tar entry, written as it is.
type Entry struct {
	Header tar.Header
	Body   string
}

// File, Dir, Symlink, Hardlink and Node make entries.
func File(name string, mode int64, body string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: Epoch}, Body: body}
}

func Dir(name string, mode int64) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimSuffix(name, "/") + "/", Mode: mode, ModTime: Epoch}}
}

func Symlink(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: Epoch}}
}

func Hardlink(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644, ModTime: Epoch}}
}

func Node(name string, typ byte, mode, major, minor int64) Entry {
	return Entry{Header: tar.Header{Typeflag: typ, Name: name, Mode: mode, Devmajor: major, Devminor: minor, ModTime: Epoch}}
}

// Artefact is a zstd tar of the entries as given.
func Artefact(entries ...Entry) []byte {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := e.Header
		if err := tw.WriteHeader(&h); err != nil {
			panic(fmt.Sprintf("forge: %s: %v", h.Name, err))
		}
		io.WriteString(tw, e.Body)
	}
	tw.Close()
	var out bytes.Buffer
	zw, _ := zstd.NewWriter(&out)
	zw.Write(tb.Bytes())
	zw.Close()
	return out.Bytes()
}

// Bomb is an artefact holding the entries, then a regular file name of
// size zero bytes, then, after the archive's end, tail more zero bytes.
// The zeros are RLE blocks: a 20 GiB file is a 655 KB artefact.
func Bomb(entries []Entry, name string, size, tail int64) []byte {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, e := range entries {
		h := e.Header
		tw.WriteHeader(&h)
		io.WriteString(tw, e.Body)
	}
	tw.Flush()
	var z rle
	z.raw(tb.Bytes())
	if size >= 0 {
		// The header only: the content is written as zeros below.
		var hb bytes.Buffer
		htw := tar.NewWriter(&hb)
		htw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: Epoch})
		z.raw(hb.Bytes())
		z.zeros(size + (512-size%512)%512)
	}
	z.zeros(1024 + tail)
	return z.close()
}

// rle writes one zstd frame of raw and RLE blocks.
type rle struct{ buf bytes.Buffer }

const maxBlock = 128 << 10

func (z *rle) header() {
	if z.buf.Len() == 0 {
		// Magic, a frame header without content size or checksum, an
		// 8 MiB window.
		z.buf.Write([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x68})
	}
}

func (z *rle) block(typ, size int, last bool) {
	z.header()
	v := uint32(size)<<3 | uint32(typ)<<1
	if last {
		v |= 1
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	z.buf.Write(b[:3])
}

func (z *rle) raw(p []byte) {
	for len(p) > 0 {
		n := min(len(p), maxBlock)
		z.block(0, n, false)
		z.buf.Write(p[:n])
		p = p[n:]
	}
}

func (z *rle) zeros(n int64) {
	for n > 0 {
		k := min(n, maxBlock)
		z.block(1, int(k), false)
		z.buf.WriteByte(0)
		n -= k
	}
}

func (z *rle) close() []byte {
	z.block(0, 0, true)
	return z.buf.Bytes()
}

// Package is one package of a forged repository.
type Package struct {
	Category, Name, Version string
	// Artefact is the artefact's bytes; nil for a virtual package.
	Artefact []byte
	// Metadata describes the artefact; nil: what Describe reads of it.
	// Its digest and size are set to the artefact's, then Lie runs.
	Metadata *artifact.Metadata
	// Lie changes the metadata before it is signed.
	Lie func(*artifact.Metadata)
	// Requires are runtime requirements.
	Requires []string
}

// ID is the package's id.
func (p Package) ID() string { return p.Category + "/" + p.Name + "@" + p.Version }

// Describe is the metadata of an artefact: what artifact.List says or,
// for one List refuses, what its headers say as they are.
func Describe(a []byte) *artifact.Metadata {
	if m, err := artifact.List(bytes.NewReader(a)); err == nil {
		return m
	}
	m := &artifact.Metadata{Format: artifact.Format, Compression: artifact.Compression, Files: []artifact.File{}}
	zr, err := zstd.NewReader(bytes.NewReader(a))
	if err != nil {
		return m
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err != nil {
			return m
		}
		name := "/" + strings.TrimSuffix(hdr.Name, "/")
		d, base := path.Split(name)
		if t, ok := strings.CutPrefix(base, ".wh."); ok {
			if t == ".wh..opq" {
				m.Opaque = append(m.Opaque, path.Clean(d))
			} else {
				m.Deletions = append(m.Deletions, d+t)
			}
			continue
		}
		f := artifact.File{Path: name, Mode: uint32(hdr.Mode), UID: hdr.Uid, GID: hdr.Gid}
		switch hdr.Typeflag {
		case tar.TypeReg:
			h := sha256.New()
			io.Copy(h, tr)
			f.Type, f.Size, f.Digest = artifact.TypeFile, hdr.Size, "sha256:"+hex.EncodeToString(h.Sum(nil))
			m.InstalledSize += hdr.Size
		case tar.TypeDir:
			f.Type = artifact.TypeDir
		case tar.TypeSymlink:
			f.Type, f.Link = artifact.TypeSymlink, hdr.Linkname
		case tar.TypeLink:
			f.Type, f.Link = artifact.TypeHardlink, "/"+hdr.Linkname
		case tar.TypeChar, tar.TypeBlock:
			f.Type, f.Devmajor, f.Devminor = artifact.TypeChar, hdr.Devmajor, hdr.Devminor
			if hdr.Typeflag == tar.TypeBlock {
				f.Type = artifact.TypeBlock
			}
		case tar.TypeFifo:
			f.Type = artifact.TypeFifo
		}
		m.Files = append(m.Files, f)
	}
}

// Publish signs a new revision of repository name, holding pkgs, into the
// folder repository at root (created if missing), with key.
func Publish(ctx context.Context, root string, key index.PrivateKey, name string, pkgs ...Package) (*index.Snapshot, error) {
	s, err := dir.Open(root)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "etk-forge-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var entries []repository.Entry
	for i, p := range pkgs {
		m := &build.Metadata{Format: build.MetadataFormat, ID: p.ID(), Category: p.Category, Name: p.Name, Version: p.Version,
			Key: fmt.Sprintf("%x", sha256.Sum256([]byte(p.ID()+string(p.Artefact))))}
		for _, r := range p.Requires {
			cat, n, _ := strings.Cut(r, "/")
			m.Requires = append(m.Requires, refOf(cat, n))
		}
		e := repository.Entry{}
		if p.Artefact != nil {
			am := p.Metadata
			if am == nil {
				am = Describe(p.Artefact)
			}
			sum := sha256.Sum256(p.Artefact)
			am.Digest, am.Size = "sha256:"+hex.EncodeToString(sum[:]), int64(len(p.Artefact))
			if p.Lie != nil {
				p.Lie(am)
			}
			m.Artefact = am
			e.Artefact = filepath.Join(tmp, fmt.Sprint(i))
			if err := os.WriteFile(e.Artefact, p.Artefact, 0o644); err != nil {
				return nil, err
			}
			if am.Digest != "sha256:"+hex.EncodeToString(sum[:]) || am.Size != int64(len(p.Artefact)) {
				// The index names what the metadata says: store those bytes
				// under that digest, as a lying mirror would.
				if err := os.MkdirAll(filepath.Join(root, "blobs", "sha256"), 0o755); err != nil {
					return nil, err
				}
				if err := os.WriteFile(filepath.Join(root, "blobs", "sha256", strings.TrimPrefix(am.Digest, "sha256:")), p.Artefact, 0o644); err != nil {
					return nil, err
				}
			}
		}
		if e.Metadata, err = json.Marshal(m); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	res, err := repository.Publish(ctx, s, entries, repository.PublishOptions{Name: name, Key: key, Time: time.Now(), Force: true})
	if err != nil {
		return nil, err
	}
	return res.Snapshot, nil
}

// Rollback makes the folder repository at root serve revision rev as its
// latest, as a mirror rolled back would.
func Rollback(root string, rev int64) error {
	b, err := os.ReadFile(filepath.Join(root, "refs", "snapshots", fmt.Sprint(rev)))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "refs", "latest"), b, 0o644)
}

// Corrupt replaces the blob of digest in the folder repository at root
// with data: the index still names the old digest.
func Corrupt(root, digest string, data []byte) error {
	return os.WriteFile(filepath.Join(root, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")), data, 0o644)
}

func refOf(category, name string) spec.Ref { return spec.Ref{Category: category, Name: name} }

package cli

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/etk-build/etk/compiler"
	"github.com/klauspost/compress/zstd"
	"go.yaml.in/yaml/v3"
)

// TreeMediaType is the compile tree blob's type.
const TreeMediaType = "application/vnd.etk.tree.v1.tar+zstd"

// compileTree packs what a derivative needs to rebuild this repository's
// packages with changes of its own: every file of the package trees
// (specs, templates, build contexts) under trees/<n>/, and the values the
// packages were rendered with, as values.yaml. Sorted entries, fixed
// times and owners: the same tree gives the same bytes.
func compileTree(s *compiler.Session, values map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	epoch := time.Unix(0, 0)
	add := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	vals, err := yaml.Marshal(values)
	if err != nil {
		return nil, err
	}
	if err := add("values.yaml", 0o644, vals); err != nil {
		return nil, err
	}
	for i, src := range s.Tree.Sources {
		err := fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != "." && d.Name()[0] == '.' {
					return fs.SkipDir
				}
				return nil
			}
			info, err := d.Info()
			if err != nil || !info.Mode().IsRegular() {
				return err
			}
			f, err := src.FS.Open(p)
			if err != nil {
				return err
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				return err
			}
			return add(fmt.Sprintf("trees/%d/%s", i, p), int64(info.Mode().Perm()), data)
		})
		if err != nil {
			return nil, fmt.Errorf("compile tree %s: %w", src.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

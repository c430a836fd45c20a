package artifact_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etk-build/etk/compiler/artifact"
)

// sparse yields n bytes of zeros with a counter every 4 KiB, made on the
// fly.
type sparse struct{ off, n int64 }

func (s *sparse) Read(p []byte) (int, error) {
	if s.off >= s.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.n-s.off)]
	for i := range p {
		p[i] = 0
		if (s.off+int64(i))%4096 == 0 {
			p[i] = byte((s.off + int64(i)) / 4096)
		}
	}
	s.off += int64(len(p))
	return len(p), nil
}

// streamed opens a layer whose big file is generated as it is read.
func streamed(size int64) artifact.Opener {
	return func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "data/", Mode: 0o755})
			if err == nil {
				err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "data/big.img", Mode: 0o644, Size: size})
			}
			if err == nil {
				_, err = io.Copy(tw, &sparse{n: size})
			}
			if err == nil {
				err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "data/small", Mode: 0o644, Size: 2})
			}
			if err == nil {
				_, err = tw.Write([]byte("hi"))
			}
			if err == nil {
				err = tw.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	}
}

// peakHeap runs fn and returns how far HeapInuse rose above where it was.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return max(peak.Load(), base) - base
}

func TestLargeFileMemory(t *testing.T) {
	const size = 50 << 20
	h := sha256.New()
	io.Copy(h, &sparse{n: size})
	want := "sha256:" + hex.EncodeToString(h.Sum(nil))

	var out bytes.Buffer
	var m *artifact.Metadata
	var err error
	rise := peakHeap(func() {
		m, err = artifact.Delta(context.Background(), []artifact.Opener{streamed(size)}, artifact.Spec{TempDir: t.TempDir()}, &out)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("50 MiB file: heap in use rose %.1f MiB; artefact %d bytes", float64(rise)/(1<<20), m.Size)
	if rise > 32<<20 {
		t.Errorf("heap in use rose %d MiB for a 50 MiB file", rise>>20)
	}
	if len(m.Files) != 3 || m.Files[1].Digest != want || m.Files[1].Size != size {
		t.Errorf("files %+v, want data/big.img with %s", m.Files, want)
	}
	if err := artifact.Verify(&out, m.Digest); err != nil {
		t.Error(err)
	}
}

// noisy is a layer big enough that the compressor writes before the end.
func noisy(t testing.TB) artifact.Opener {
	r := rand.New(rand.NewPCG(3, 4))
	var es []ent
	for i := range 16 {
		b := make([]byte, 64<<10)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		es = append(es, file("f"+string(rune('a'+i)), string(b)))
	}
	return layer(t, es...)
}

func TestCancel(t *testing.T) {
	l := noisy(t)
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, cancel func(), dir string) error
	}{
		{"before", func(ctx context.Context, cancel func(), dir string) error {
			cancel()
			_, err := artifact.Delta(ctx, []artifact.Opener{l}, artifact.Spec{TempDir: dir}, io.Discard)
			return err
		}},
		{"while spooling", func(ctx context.Context, cancel func(), dir string) error {
			calls := 0
			open := func() (io.ReadCloser, error) {
				if calls++; calls == 2 {
					cancel()
				}
				return l()
			}
			_, err := artifact.Full(ctx, []artifact.Opener{open}, artifact.Spec{TempDir: dir}, io.Discard)
			return err
		}},
		{"while writing", func(ctx context.Context, cancel func(), dir string) error {
			w := writerFunc(func(p []byte) (int, error) { cancel(); return len(p), nil })
			_, err := artifact.Delta(ctx, []artifact.Opener{l}, artifact.Spec{TempDir: dir}, w)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dir := t.TempDir()
			if err := tc.run(ctx, cancel, dir); !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			noSpool(t, dir)
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestLayerChangesBetweenReads(t *testing.T) {
	first := layerBytes(t, file("a", "one"))
	for _, tc := range []struct {
		name  string
		again []byte
		err   error
	}{
		{"content size", layerBytes(t, file("a", "three")), artifact.ErrBadLayer},
		{"type", layerBytes(t, dir("a")), artifact.ErrBadLayer},
		{"fewer entries", layerBytes(t), artifact.ErrBadLayer},
		{"unreadable", nil, errGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			open := func() (io.ReadCloser, error) {
				if calls++; calls == 1 {
					return io.NopCloser(bytes.NewReader(first)), nil
				}
				if tc.again == nil {
					return nil, errGone
				}
				return io.NopCloser(bytes.NewReader(tc.again)), nil
			}
			_, _, err := build(t, artifact.Delta, artifact.Spec{}, open)
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
		})
	}
}

var errGone = errors.New("layer gone")

package index

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestVerifyBlob(t *testing.T) {
	data := []byte(strings.Repeat("etk artefact bytes ", 1000))
	b := NewBlob(data, MediaTypeArtefact)
	other := bytes.Clone(data)
	other[100] ^= 1
	tests := []struct {
		name string
		r    io.Reader
		ok   bool
		want string
	}{
		{"same", bytes.NewReader(data), true, ""},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), true, ""},
		{"data with EOF", iotest.DataErrReader(bytes.NewReader(data)), true, ""},
		{"other bytes", bytes.NewReader(other), false, "got 19000 bytes with digest sha256:"},
		{"short", bytes.NewReader(data[:100]), false, "got 100 bytes"},
		{"empty", bytes.NewReader(nil), false, "got 0 bytes"},
		{"long", io.MultiReader(bytes.NewReader(data), strings.NewReader("more")), false, "more than the 19000 bytes"},
		{"endless", io.MultiReader(bytes.NewReader(data), zeros{}), false, "more than the 19000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := VerifyBlob(b, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if tt.ok {
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("read %d bytes, %v", len(got), err)
				}
				if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Errorf("Read after EOF: %d, %v", n, err)
				}
				return
			}
			if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want ErrDigestMismatch with %q", err, tt.want)
			}
			if int64(len(got)) > b.Size {
				t.Errorf("read %d bytes, more than the blob's %d", len(got), b.Size)
			}
			if _, again := r.Read(make([]byte, 10)); again != err {
				t.Errorf("error not sticky: %v", again)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestVerifyBlobReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r, err := VerifyBlob(NewBlob([]byte("abc"), ""), iotest.ErrReader(boom))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
}

func TestCheckDigest(t *testing.T) {
	b := NewBlob([]byte("index"), MediaTypeIndex)
	if err := CheckDigest(b, []byte("index")); err != nil {
		t.Error(err)
	}
	if err := CheckDigest(b, []byte("indeX")); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("other bytes: %v", err)
	}
	for _, bad := range []Blob{{}, {Digest: "sha256:ABC"}, {Digest: strings.Replace(b.Digest, "sha256", "sha512", 1)}, {Digest: b.Digest, Size: -1}} {
		if err := CheckDigest(bad, nil); err == nil || errors.Is(err, ErrDigestMismatch) {
			t.Errorf("CheckDigest(%+v): %v, want a malformed blob error", bad, err)
		}
		if _, err := VerifyBlob(bad, nil); err == nil {
			t.Errorf("VerifyBlob(%+v) accepted it", bad)
		}
	}
}

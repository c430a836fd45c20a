package index

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeyFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	privPath, pubPath := filepath.Join(dir, "etk.key"), filepath.Join(dir, "etk.pub")
	if err := WritePrivateKeyFile(privPath, k); err != nil {
		t.Fatal(err)
	}
	if err := WritePublicKeyFile(pubPath, pub(k)); err != nil {
		t.Fatal(err)
	}

	info, err := os.Stat(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("private key file mode %v, want 0600", mode)
	}
	gotPriv, err := ReadPrivateKeyFile(privPath)
	if err != nil {
		t.Fatal(err)
	}
	if !gotPriv.Equal(k) {
		t.Error("private key differs after a round trip")
	}
	gotPub, err := ReadPublicKeyFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !gotPub.Equal(pub(k)) {
		t.Error("public key differs after a round trip")
	}
	text, _ := os.ReadFile(pubPath)
	if want := "etk-ed25519-public " + KeyID(pub(k)) + " "; !strings.HasPrefix(string(text), want) || !strings.HasSuffix(string(text), "=\n") {
		t.Errorf("public key file %q, want %q…", text, want)
	}
}

func TestWritePrivateKeyFileRefusesToOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etk.key")
	if err := os.WriteFile(path, []byte("the only copy of another key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WritePrivateKeyFile(path, k1)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("WritePrivateKeyFile over a file: %v, want fs.ErrExist naming the file", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "the only copy of another key\n" {
		t.Errorf("the file was changed: %q", b)
	}
	if err := WritePrivateKeyFile(filepath.Join(t.TempDir(), "no", "dir"), k1); err == nil {
		t.Error("wrote into a missing directory")
	}
	if err := WritePrivateKeyFile(filepath.Join(t.TempDir(), "k"), k1[:3]); err == nil {
		t.Error("wrote a 3-byte key")
	}
}

func TestKeyID(t *testing.T) {
	id := KeyID(pub(k1))
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("KeyID = %q, want 16 hex digits", id)
	}
	if KeyID(pub(k2)) == id {
		t.Error("two keys, one id")
	}
}

func TestKeyFileErrors(t *testing.T) {
	privText, _ := MarshalPrivateKey(k1)
	pubText, _ := MarshalPublicKey(pub(k1))
	otherID := strings.Replace(string(pubText), KeyID(pub(k1)), KeyID(pub(k2)), 1)
	seed := base64.StdEncoding.EncodeToString(k1.Seed())
	tests := []struct {
		name    string
		private bool // read as a private key
		text    string
		want    string
	}{
		{"empty", true, "", "empty key file"},
		{"public as private", true, string(pubText), "a public key, not a private key"},
		{"private as public", false, string(privText), "a private key, not a public key"},
		{"other format", true, "-----BEGIN PRIVATE KEY-----\n", "not an etk private key"},
		{"two lines", true, string(privText) + string(privText), "more than one line"},
		{"short seed", true, "etk-ed25519-private " + seed[:20], "not the base64 of 32 bytes"},
		{"extra word", true, "etk-ed25519-private " + seed + " x", "not an etk private key"},
		{"wrong key id", false, otherID, "does not match the key, whose id is " + KeyID(pub(k1))},
		{"public without id", false, "etk-ed25519-public " + base64.StdEncoding.EncodeToString(pub(k1)), "not an etk public key"},
		{"public bad base64", false, "etk-ed25519-public " + KeyID(pub(k1)) + " ***", "not the base64 of 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key")
			if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			var err error
			if tt.private {
				_, err = ReadPrivateKeyFile(path)
			} else {
				_, err = ReadPublicKeyFile(path)
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want ErrMalformed naming %s and saying %q", err, path, tt.want)
			}
			if strings.Contains(err.Error(), seed[:8]) {
				t.Errorf("error quotes the private key: %v", err)
			}
		})
	}
	_, err := ReadPublicKeyFile(filepath.Join(t.TempDir(), "missing.pub"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.pub") {
		t.Errorf("missing file: %v", err)
	}
}

// Surrounding blank space and a CRLF ending, as editors leave them, are
// fine.
func TestParseKeyTolerance(t *testing.T) {
	pubText, _ := MarshalPublicKey(pub(k1))
	got, err := ParsePublicKey([]byte("\n" + strings.TrimSpace(string(pubText)) + "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pub(k1), got); diff != "" {
		t.Error(diff)
	}
}

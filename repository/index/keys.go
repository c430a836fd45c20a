package index

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// PrivateKey and PublicKey are ed25519 keys.
type (
	PrivateKey = ed25519.PrivateKey
	PublicKey  = ed25519.PublicKey
)

// Key file tags, the first word of each kind of key file.
const (
	privateTag = "etk-ed25519-private"
	publicTag  = "etk-ed25519-public"
)

// GenerateKey returns a new signing key from crypto/rand.
func GenerateKey() (PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return k, err
}

// KeyID names a public key: the first 16 hex digits of the SHA-256 of its
// 32 bytes.
func KeyID(pub PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// MarshalPrivateKey returns the text of a private key file: one line,
// "etk-ed25519-private <base64 of the 32-byte seed>".
func MarshalPrivateKey(k PrivateKey) ([]byte, error) {
	if len(k) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("marshal private key: %d bytes, not an ed25519 private key", len(k))
	}
	return []byte(privateTag + " " + base64.StdEncoding.EncodeToString(k.Seed()) + "\n"), nil
}

// MarshalPublicKey returns the text of a public key file: one line,
// "etk-ed25519-public <key id> <base64 of the 32-byte key>".
func MarshalPublicKey(pub PublicKey) ([]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("marshal public key: %d bytes, not an ed25519 public key", len(pub))
	}
	return []byte(publicTag + " " + KeyID(pub) + " " + base64.StdEncoding.EncodeToString(pub) + "\n"), nil
}

// ParsePrivateKey parses the text of a private key file, for a key that
// comes from elsewhere than a file (a CI secret in the environment). Its
// errors never quote the text.
func ParsePrivateKey(data []byte) (PrivateKey, error) {
	f, err := keyFields(data)
	if err != nil {
		return nil, err
	}
	switch {
	case f[0] == publicTag:
		return nil, malformed("a public key, not a private key")
	case f[0] != privateTag || len(f) != 2:
		return nil, malformed("not an etk private key: want one line %q", privateTag+" <base64>")
	}
	seed, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, malformed("the key is not the base64 of %d bytes", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ParsePublicKey parses the text of a public key file and checks that the
// key id it states is the key's.
func ParsePublicKey(data []byte) (PublicKey, error) {
	f, err := keyFields(data)
	if err != nil {
		return nil, err
	}
	switch {
	case f[0] == privateTag:
		return nil, malformed("a private key, not a public key: pass the public key file (and keep the private one secret)")
	case f[0] != publicTag || len(f) != 3:
		return nil, malformed("not an etk public key: want one line %q", publicTag+" <key id> <base64>")
	}
	b, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, malformed("the key is not the base64 of %d bytes", ed25519.PublicKeySize)
	}
	pub := PublicKey(b)
	if id := KeyID(pub); f[1] != id {
		return nil, malformed("key id %q does not match the key, whose id is %s; the file was edited", clip(f[1]), id)
	}
	return pub, nil
}

// keyFields splits the one line of a key file into words.
func keyFields(data []byte) ([]string, error) {
	line := strings.TrimSpace(string(data))
	if line == "" {
		return nil, malformed("empty key file")
	}
	if strings.ContainsAny(line, "\r\n") {
		return nil, malformed("more than one line")
	}
	return strings.Fields(line), nil
}

// ReadPrivateKeyFile reads a private key file. Errors name the file.
func ReadPrivateKeyFile(path string) (PrivateKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	k, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("read private key %s: %w", path, err)
	}
	return k, nil
}

// ReadPublicKeyFile reads a public key file. Errors name the file.
func ReadPublicKeyFile(path string) (PublicKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("read public key %s: %w", path, err)
	}
	return k, nil
}

// WritePrivateKeyFile writes k to a new file readable by its owner only
// (mode 0600). It refuses to replace an existing file, which may be the
// only copy of another key: the error then wraps fs.ErrExist.
func WritePrivateKeyFile(path string, k PrivateKey) (err error) {
	data, err := MarshalPrivateKey(k)
	if err != nil {
		return fmt.Errorf("write private key %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write private key %s: the file exists; move it away first, or choose another path: %w", path, fs.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write private key: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	// The mode given to OpenFile is cut by the umask only, never widened,
	// but make sure of it on a file system that ignores it.
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	return f.Sync()
}

// WritePublicKeyFile writes pub to path (mode 0644), replacing the file:
// a public key can be written again from its private key.
func WritePublicKeyFile(path string, pub PublicKey) error {
	data, err := MarshalPublicKey(pub)
	if err != nil {
		return fmt.Errorf("write public key %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write public key: %w", err)
	}
	return nil
}

// readKeyFile reads a key file of at most MaxKeyFileSize bytes: a key is
// one line, and a path that names a device or a huge file is a mistake.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return ReadLimited(context.Background(), f, path, MaxKeyFileSize)
}

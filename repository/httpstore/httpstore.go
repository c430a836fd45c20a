package httpstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// ErrReadOnly: a repository served over HTTP cannot be written; publish
// to its folder instead.
var ErrReadOnly = errors.New("repository served over HTTP is read-only")

// Store is a repository folder served over HTTP(S), read-only. It is
// safe for concurrent use.
type Store struct {
	base   *url.URL
	client *http.Client
}

var _ repository.Store = (*Store)(nil)

// New returns the repository served at baseURL, the URL of the folder
// ("https://example.com/etk/foundation/"), fetched with client, or
// http.DefaultClient when nil. It makes no request.
func New(baseURL string, client *http.Client) (*Store, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		// url's errors quote their input, which may hold a password.
		return nil, errors.New("httpstore: bad URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("httpstore: %s: want an http or https URL", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("httpstore: %s: a repository URL has no query or fragment", u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Store{base: u, client: client}, nil
}

// String is the base URL, without a password.
func (s *Store) String() string { return s.base.Redacted() }

var (
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	refRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)
)

func (s *Store) blobURL(digest string) (string, error) {
	if !digestRE.MatchString(digest) {
		return "", fmt.Errorf("httpstore: bad digest %q", digest)
	}
	return s.base.JoinPath("blobs", "sha256", strings.TrimPrefix(digest, "sha256:")).String(), nil
}

func (s *Store) refURL(name string) (string, error) {
	if !refRE.MatchString(name) || strings.Contains(name, "..") {
		return "", fmt.Errorf("httpstore: bad reference name %q", name)
	}
	return s.base.JoinPath("refs", name).String(), nil
}

// get sends a request; 404 and 410 are ErrNotFound, other answers but 200
// errors naming what (a blob, a reference).
func (s *Store) get(ctx context.Context, method, u, what string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("httpstore: %s: %w", what, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// The client's errors name the URL without its password.
		return nil, fmt.Errorf("httpstore: %s: %w", what, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp, nil
	case http.StatusNotFound, http.StatusGone:
		resp.Body.Close()
		return nil, fmt.Errorf("httpstore: %s: %w", what, repository.ErrNotFound)
	default:
		resp.Body.Close()
		return nil, fmt.Errorf("httpstore: %s: %s %s: %s", what, method, s.String(), resp.Status)
	}
}

// HasBlob implements repository.Store with a HEAD of the blob's file.
func (s *Store) HasBlob(ctx context.Context, digest string) (bool, error) {
	u, err := s.blobURL(digest)
	if err != nil {
		return false, err
	}
	resp, err := s.get(ctx, http.MethodHead, u, "blob "+digest, nil)
	if errors.Is(err, repository.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	resp.Body.Close()
	return true, nil
}

// GetBlob implements repository.Store. The caller verifies the content.
func (s *Store) GetBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	u, err := s.blobURL(digest)
	if err != nil {
		return nil, err
	}
	resp, err := s.get(ctx, http.MethodGet, u, "blob "+digest, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// GetRef implements repository.Store. It asks caches between it and the
// server to revalidate: references are the only files that change.
func (s *Store) GetRef(ctx context.Context, name string) ([]byte, error) {
	u, err := s.refURL(name)
	if err != nil {
		return nil, err
	}
	resp, err := s.get(ctx, http.MethodGet, u, "reference "+name, http.Header{"Cache-Control": {"no-cache"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	what := "reference " + name
	if resp.ContentLength > index.MaxRefSize {
		return nil, fmt.Errorf("httpstore: %s: %w", s, index.TooLarge(fmt.Sprintf("%s (%d bytes)", what, resp.ContentLength), index.MaxRefSize))
	}
	b, err := index.ReadLimited(ctx, resp.Body, what, index.MaxRefSize)
	if err != nil {
		return nil, fmt.Errorf("httpstore: %s: %w", s, err)
	}
	return b, nil
}

// PutBlob implements repository.Store: it returns ErrReadOnly.
func (s *Store) PutBlob(context.Context, string, int64, io.Reader) error {
	return fmt.Errorf("httpstore: put blob to %s: %w", s, ErrReadOnly)
}

// PutRef implements repository.Store: it returns ErrReadOnly.
func (s *Store) PutRef(_ context.Context, name string, _, _ []byte) error {
	return fmt.Errorf("httpstore: put reference %s to %s: %w", name, s, ErrReadOnly)
}

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
	"time"

	"github.com/etk-build/etk/internal/network"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/index"
)

// Store is a repository folder served over HTTP(S). It is a
// repository.ReadOnlyStore and nothing more: a web server is written to
// through its folder (repository/dir). It is safe for concurrent use.
type Store struct {
	base   *url.URL
	client *http.Client
}

var _ repository.ReadOnlyStore = (*Store)(nil)

// New returns the repository served at baseURL, the URL of the folder
// ("https://example.com/etk/foundation/"), fetched with client, or when
// nil a client with connect, response-header and idle timeouts
// (internal/network's defaults). It makes no request.
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
		client = &http.Client{Transport: network.Defaults().Transport()}
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

// Retries of a request that failed before its answer, or answered 5xx.
const (
	maxTries = 3
	backoff  = 500 * time.Millisecond
)

// get sends a request, again (up to maxTries) when the connection failed
// or the server answered 5xx or 429; 404 and 410 are ErrNotFound, other
// answers but 200 errors naming the repository and what (a blob, a
// reference).
func (s *Store) get(ctx context.Context, method, u, what string, header http.Header) (*http.Response, error) {
	var err error
	for try := range maxTries {
		if try > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("httpstore: %s: %s: %w (after: %w)", s, what, ctx.Err(), err)
			case <-time.After(backoff << (try - 1)):
			}
		}
		var resp *http.Response
		var retry bool
		resp, retry, err = s.try(ctx, method, u, what, header)
		if err == nil || !retry {
			return resp, err
		}
	}
	return nil, fmt.Errorf("%w (tried %d times)", err, maxTries)
}

func (s *Store) try(ctx context.Context, method, u, what string, header http.Header) (*http.Response, bool, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("httpstore: %s: %s: %w", s, what, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// The client's errors name the URL without its password.
		return nil, ctx.Err() == nil, fmt.Errorf("httpstore: %s: %s: %w", s, what, err)
	}
	switch c := resp.StatusCode; {
	case c == http.StatusOK:
		return resp, false, nil
	case c == http.StatusNotFound || c == http.StatusGone:
		resp.Body.Close()
		return nil, false, fmt.Errorf("httpstore: %s: %s: %w", s, what, repository.ErrNotFound)
	default:
		resp.Body.Close()
		retry := c >= 500 || c == http.StatusTooManyRequests || c == http.StatusRequestTimeout
		return nil, retry, fmt.Errorf("httpstore: %s: %s: %s: %s", s, what, method, resp.Status)
	}
}

// HasBlob implements repository.ReadOnlyStore with a HEAD of the blob's file.
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

// GetBlob implements repository.ReadOnlyStore. The caller verifies the content.
func (s *Store) GetBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	u, err := s.blobURL(digest)
	if err != nil {
		return nil, err
	}
	what := "blob " + digest
	resp, err := s.get(ctx, http.MethodGet, u, what, nil)
	if err != nil {
		return nil, err
	}
	// A body dropped mid-way is fetched again and resumed.
	rc := network.Resume(ctx, resp.Body, func(ctx context.Context) (io.ReadCloser, error) {
		resp, err := s.get(ctx, http.MethodGet, u, what, nil)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	})
	return &namedReader{rc: rc, prefix: fmt.Sprintf("httpstore: %s: %s", s, what)}, nil
}

// namedReader names the repository and the blob in its errors.
type namedReader struct {
	rc     io.ReadCloser
	prefix string
}

func (r *namedReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF && !strings.HasPrefix(err.Error(), "httpstore: ") {
		err = fmt.Errorf("%s: %w", r.prefix, err)
	}
	return n, err
}

func (r *namedReader) Close() error { return r.rc.Close() }

// GetRef implements repository.ReadOnlyStore. It asks caches between it and the
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
	if network.Dropped(err) {
		// A reference is small: read it again, whole.
		resp.Body.Close()
		if resp, err = s.get(ctx, http.MethodGet, u, what, http.Header{"Cache-Control": {"no-cache"}}); err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err = index.ReadLimited(ctx, resp.Body, what, index.MaxRefSize)
	}
	if err != nil {
		return nil, fmt.Errorf("httpstore: %s: %w", s, err)
	}
	return b, nil
}

package oci

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/etk-build/etk/internal/network"
)

// Option configures a Cache.
type Option func(*options)

type options struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	backoff   remote.Backoff
}

func defaults() options {
	return options{
		keychain: authn.DefaultKeychain,
		// Connect, response-header and idle timeouts (internal/network).
		transport: network.Defaults().Transport(),
		// ggcr's default: three tries, 1s then 3s apart.
		backoff: remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 3},
	}
}

// WithKeychain sets where credentials come from. The default,
// authn.DefaultKeychain, reads the Docker config and its credential
// helpers.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) { o.keychain = k }
}

// WithTransport sets the HTTP transport; the default is a clone of
// http.DefaultTransport with connect, response-header and idle timeouts
// (30s, 60s, 60s). ggcr wraps it to retry 5xx answers and connections
// that fail before an answer, unless it is a *transport.Wrapper; a
// download dropped mid-body is resumed here.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// WithRetries sets how many times a failed request is tried again, with
// exponential backoff; 0 tries each request once. The default is 2.
func WithRetries(n int) Option {
	return func(o *options) { o.backoff.Steps = max(n, 0) + 1 }
}

// WithBackoff sets the wait before the first retry of a failed request,
// tripled before each next one; the default is a second.
func WithBackoff(d time.Duration) Option {
	return func(o *options) { o.backoff.Duration = d }
}

// retryable is ggcr's retry predicate plus the transport's own timeouts,
// which ggcr takes for the caller's deadline (net/http's header timeout
// is context.DeadlineExceeded) and would not retry.
func retryable(err error) bool {
	return network.Retryable(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) ||
		!errors.Is(err, context.DeadlineExceeded) && isTemporary(err)
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

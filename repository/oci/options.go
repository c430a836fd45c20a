package oci

import (
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
		keychain:  authn.DefaultKeychain,
		transport: remote.DefaultTransport,
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

// WithTransport sets the HTTP transport; the default is ggcr's
// remote.DefaultTransport. ggcr wraps it to retry 5xx answers and dropped
// connections, unless it is a *transport.Wrapper.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport = t }
}

// WithRetries sets how many times a failed request is tried again, with
// exponential backoff; 0 tries each request once. The default is 2.
func WithRetries(n int) Option {
	return func(o *options) { o.backoff.Steps = max(n, 0) + 1 }
}

package oci

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushImage pushes an image to ref ("host[:port]/repo:tag"), with the
// Docker config's credentials unless WithKeychain says otherwise, and
// returns its digest. Layers the registry has are not uploaded again.
func PushImage(ctx context.Context, img v1.Image, ref string, opts ...Option) (string, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	shown := shownRepo(ref)
	ref, auth, hasUser := splitUser(ref)
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %s", shown, strings.ReplaceAll(err.Error(), ref, shown))
	}
	keychain := o.keychain
	if hasUser {
		keychain = hostKeychain{registry: r.Context().RegistryStr(), auth: auth, next: o.keychain}
	}
	if err := remote.Write(r, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain),
		remote.WithTransport(o.transport), remote.WithRetryBackoff(o.backoff), remote.WithRetryPredicate(retryable), remote.WithUserAgent("etk")); err != nil {
		return "", &opError{msg: fmt.Sprintf("oci: push image %s: %s", shownRepo(r.Context().Name()), describe(err)), err: err}
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

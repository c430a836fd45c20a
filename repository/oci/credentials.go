package oci

import (
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// splitUser takes credentials off the front of a repository or image
// reference, as in "user:password@registry.example/repo" (what follows
// oci:// in a repository URL; user and password percent-encoded as in a
// URL). Only an "@" before the first "/" starts credentials: after it, an
// "@" begins a digest. The rest is what every message shows, so a
// password given this way is used for the registry and never printed.
func splitUser(repo string) (rest string, auth authn.Authenticator, ok bool) {
	host, _, _ := strings.Cut(repo, "/")
	at := strings.LastIndex(host, "@")
	if at < 0 {
		return repo, nil, false
	}
	info := repo[:at]
	rest = repo[at+1:]
	user, pass, _ := strings.Cut(info, ":")
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	if p, err := url.PathUnescape(pass); err == nil {
		pass = p
	}
	return rest, &authn.Basic{Username: user, Password: pass}, true
}

// hostKeychain answers for one registry with its credentials, and asks
// next for the others (an artefact's Source, a base image).
type hostKeychain struct {
	registry string
	auth     authn.Authenticator
	next     authn.Keychain
}

func (k hostKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.registry {
		return k.auth, nil
	}
	return k.next.Resolve(r)
}

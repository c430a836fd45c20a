package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/httpstore"
	"github.com/etk-build/etk/repository/oci"
)

// openStore opens the repository a URL names, to read it.
func openStore(url string) (repository.ReadOnlyStore, error) {
	if scheme, _, ok := strings.Cut(url, "://"); ok && (scheme == "http" || scheme == "https") {
		return httpstore.New(url, &http.Client{Transport: transport()})
	}
	return openWritableStore(url)
}

// openWritableStore opens the repository a URL names, to publish to it:
// a folder or an OCI registry; a web server is only read.
func openWritableStore(url string) (repository.Store, error) {
	scheme, rest, ok := strings.Cut(url, "://")
	switch {
	case !ok:
		return dir.Open(url)
	case scheme == "file":
		return dir.Open(rest)
	case scheme == "oci":
		return oci.NewStore(rest, oci.WithTransport(transport()))
	case scheme == "http" || scheme == "https":
		return nil, usagef("repository URL %q: http(s) repositories are read-only; publish to a folder or oci://", shown(url))
	}
	return nil, usagef("repository URL %q: unknown scheme %q (want a folder, file://, http(s):// or oci://)", shown(url), scheme)
}

// dockerEngine returns the engine when it answers.
func dockerEngine(ctx context.Context) (*docker.Engine, error) {
	e, err := docker.New()
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := e.Ping(pctx); err != nil {
		return nil, fmt.Errorf("the engine does not answer: %w", err)
	}
	return e, nil
}

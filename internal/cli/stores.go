package cli

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/etk-build/etk/compiler/build/docker"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/httpstore"
	"github.com/etk-build/etk/repository/oci"
)

// openRemoteStore opens a repository URL with a scheme.
func openRemoteStore(url string) (repository.Store, error) {
	scheme, rest, _ := strings.Cut(url, "://")
	switch scheme {
	case "oci":
		return oci.NewStore(rest, oci.WithTransport(transport()))
	case "http", "https":
		return httpstore.New(url, &http.Client{Transport: transport()})
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

package dockertest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/etk-build/etk/compiler/build/docker"
)

// BaseImage is the busybox image .ci/services base-image makes.
const BaseImage = "etk.local/busybox:latest"

// Engine returns an engine that has BaseImage.
func Engine(t testing.TB) *docker.Engine {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format+" (CI must provide it: .ci/services all)", args...)
		}
		t.Skipf(format+"; start one with: sudo .ci/services install start base-image", args...)
	}
	e, err := docker.New()
	if err != nil {
		missing("no Docker engine: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.Inspect(ctx, BaseImage); err != nil {
		missing("Docker engine or test image unavailable: %v", err)
	}
	return e
}

// Registry is the local registry .ci/services starts.
const Registry = "127.0.0.1:5000"

// RegistryUp returns the local registry's address, or skips t (fails it
// in CI) when the registry does not answer.
func RegistryUp(t testing.TB) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + Registry + "/v2/")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return Registry
		}
		err = fmt.Errorf("status %s", resp.Status)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no registry at %s: %v (CI must start it: .ci/services start)", Registry, err)
	}
	t.Skipf("no registry at %s: %v; start one with: sudo .ci/services install start", Registry, err)
	return ""
}

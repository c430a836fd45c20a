package cli

import (
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/etk-build/etk/repository"

	"github.com/etk-build/etk/internal/network"
	"github.com/spf13/cobra"
)

// netFlags are the timeouts of every network operation, for all
// commands: flags over the environment over the defaults.
type netFlags struct {
	t      network.Timeouts
	envErr error
}

func (f *netFlags) AddFlags(cmd *cobra.Command) {
	f.t, f.envErr = network.FromEnv()
	fl := cmd.PersistentFlags()
	fl.DurationVar(&f.t.Connect, "net-connect-timeout", f.t.Connect, "network: the longest wait for a connection and a TLS handshake, each (or "+network.EnvConnect+"; 0: none)")
	fl.DurationVar(&f.t.Header, "net-header-timeout", f.t.Header, "network: the longest wait for an answer's headers (or "+network.EnvHeader+"; 0: none)")
	fl.DurationVar(&f.t.Idle, "net-idle-timeout", f.t.Idle, "network: the longest wait for the next byte of a connection (or "+network.EnvIdle+"; 0: none)")
}

// Validate refuses a bad environment and negative timeouts, and makes the
// timeouts those of the run.
func (f *netFlags) Validate() error {
	if f.envErr != nil {
		return &UsageError{f.envErr}
	}
	if f.t.Connect < 0 || f.t.Header < 0 || f.t.Idle < 0 {
		return usagef("network timeouts cannot be negative")
	}
	setTimeouts(f.t)
	return nil
}

// The run's timeouts and the transport made of them: one per process,
// so that the connections of a run are pooled; tests that run commands
// one after the other with other timeouts get a new one.
var (
	netMu        sync.Mutex
	netTimeouts  = network.Defaults()
	netTransport http.RoundTripper
)

func setTimeouts(t network.Timeouts) {
	netMu.Lock()
	defer netMu.Unlock()
	if t != netTimeouts {
		netTimeouts, netTransport = t, nil
	}
}

// transport is the HTTP transport of the run's network operations.
func transport() http.RoundTripper {
	netMu.Lock()
	defer netMu.Unlock()
	if netTransport == nil {
		netTransport = netTimeouts.Transport()
	}
	return netTransport
}

// shown is a repository URL as messages show it: without a password
// (https://user:password@host/ gives https://user:xxxxx@host/), and
// without the credentials of an oci:// URL.
func shown(u string) string {
	if p, err := url.Parse(u); err == nil && p.User != nil && (p.Scheme == "http" || p.Scheme == "https") {
		return p.Redacted()
	}
	if head, rest, ok := repository.CutCredentials(u); ok {
		return head + "REDACTED@" + rest
	}
	return u
}

// shownRef is an image reference or an OCI repository without its
// credentials ("user:password@host/repo:tag").
func shownRef(ref string) string {
	return strings.TrimPrefix(shown("oci://"+ref), "oci://")
}

func netTimeoutsDefault() network.Timeouts { return network.Defaults() }

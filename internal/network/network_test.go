package network

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvConnect, "2s")
	t.Setenv(EnvIdle, "0")
	got, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if want := (Timeouts{Connect: 2 * time.Second, Header: Defaults().Header, Idle: 0}); got != want {
		t.Errorf("FromEnv = %+v, want %+v", got, want)
	}
	t.Setenv(EnvHeader, "-1s")
	if _, err := FromEnv(); err == nil {
		t.Error("a negative timeout was taken")
	}
}

func TestRetryable(t *testing.T) {
	for err, want := range map[error]bool{
		&HeaderError{Header: time.Second}:                        true,
		&IdleError{Idle: time.Second}:                            true,
		fmt.Errorf("get: %w", io.ErrUnexpectedEOF):               true,
		context.Canceled:                                         false,
		fmt.Errorf("get: %w", context.DeadlineExceeded):          false,
		fmt.Errorf("digest mismatch"):                            false,
		fmt.Errorf("x: %w", &ConnectError{Connect: time.Second}): true,
	} {
		if got := Retryable(err); got != want {
			t.Errorf("Retryable(%v) = %v, want %v", err, got, want)
		}
	}
}

// TestDefaultTransportUntouched: making transports changes nothing of
// http.DefaultTransport.
func TestDefaultTransportUntouched(t *testing.T) {
	d := http.DefaultTransport.(*http.Transport)
	header, tls, dial := d.ResponseHeaderTimeout, d.TLSHandshakeTimeout, fmt.Sprintf("%p", d.DialContext)
	Timeouts{Connect: time.Millisecond, Header: time.Millisecond, Idle: time.Millisecond}.Transport()
	if d.ResponseHeaderTimeout != header || d.TLSHandshakeTimeout != tls || fmt.Sprintf("%p", d.DialContext) != dial {
		t.Error("http.DefaultTransport changed")
	}
}

package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Timeouts are the limits of waiting on a server.
type Timeouts struct {
	// Connect bounds a TCP connect, and then a TLS handshake.
	Connect time.Duration
	// Header bounds the wait from a request written to its response's
	// headers.
	Header time.Duration
	// Idle bounds the wait for the next byte of a connection, read or
	// written.
	Idle time.Duration
}

// Defaults are the timeouts without flags or environment.
func Defaults() Timeouts {
	return Timeouts{Connect: 30 * time.Second, Header: 60 * time.Second, Idle: 60 * time.Second}
}

// Environment variables of the timeouts, Go durations ("10s", "1m30s").
const (
	EnvConnect = "ETK_NET_CONNECT_TIMEOUT"
	EnvHeader  = "ETK_NET_HEADER_TIMEOUT"
	EnvIdle    = "ETK_NET_IDLE_TIMEOUT"
)

// FromEnv is Defaults with the environment's settings applied.
func FromEnv() (Timeouts, error) {
	t := Defaults()
	for _, v := range []struct {
		env string
		d   *time.Duration
	}{{EnvConnect, &t.Connect}, {EnvHeader, &t.Header}, {EnvIdle, &t.Idle}} {
		s := os.Getenv(v.env)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return t, fmt.Errorf("%s=%q: want a duration like 30s (0 turns it off)", v.env, s)
		}
		*v.d = d
	}
	return t, nil
}

// Transport returns a new HTTP transport holding to t: a clone of
// http.DefaultTransport whose connections have deadlines. Its timeouts are
// errors of their own (ConnectError, HeaderError, IdleError): retryable,
// and unlike net/http's, not context.DeadlineExceeded, which is the
// caller's deadline and is never retried.
func (t Timeouts) Transport() http.RoundTripper {
	return &roundTripper{tr: t.transport(), t: t}
}

// roundTripper gives the transport's timeouts errors of their own.
type roundTripper struct {
	tr *http.Transport
	t  Timeouts
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.tr.RoundTrip(req)
	if err == nil || req.Context().Err() != nil {
		return resp, err
	}
	var ie *IdleError
	var ne net.Error
	switch {
	case errors.As(err, &ie):
	case strings.Contains(err.Error(), "timeout awaiting response headers"):
		err = &HeaderError{Header: rt.t.Header, Err: err}
	case strings.Contains(err.Error(), "TLS handshake timeout"), errors.As(err, &ne) && ne.Timeout():
		err = &ConnectError{Connect: rt.t.Connect, Err: err}
	}
	return resp, err
}

// CloseIdleConnections closes the pooled connections.
func (rt *roundTripper) CloseIdleConnections() { rt.tr.CloseIdleConnections() }

func (t Timeouts) transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil || t.Idle <= 0 {
			return c, err
		}
		return &idleConn{Conn: c, idle: t.Idle}, nil
	}
	tr.TLSHandshakeTimeout = t.Connect
	tr.ResponseHeaderTimeout = t.Header
	tr.ExpectContinueTimeout = time.Second
	return tr
}

// idleConn moves its deadline forward before each read and write, so that
// a peer that stops sending (or reading) for idle fails the operation.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		err = &IdleError{Op: "read", Idle: c.idle, Err: err}
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		err = &IdleError{Op: "write", Idle: c.idle, Err: err}
	}
	return n, err
}

// IdleError: a connection went Idle without a byte. It is a net.Error
// whose Timeout is true.
type IdleError struct {
	Op   string
	Idle time.Duration
	Err  error
}

func (e *IdleError) Error() string {
	what := "sent nothing"
	if e.Op == "write" {
		what = "took nothing"
	}
	return fmt.Sprintf("the server %s for %s (--net-idle-timeout or %s to wait longer)", what, e.Idle, EnvIdle)
}
func (e *IdleError) Unwrap() error   { return e.Err }
func (e *IdleError) Timeout() bool   { return true }
func (e *IdleError) Temporary() bool { return true }

// HeaderError: a server sent no answer to a request within Header.
type HeaderError struct {
	Header time.Duration
	Err    error
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("no answer within %s (--net-header-timeout or %s to wait longer)", e.Header, EnvHeader)
}
func (e *HeaderError) Timeout() bool   { return true }
func (e *HeaderError) Temporary() bool { return true }

// ConnectError: a connection (or its TLS handshake) took longer than
// Connect.
type ConnectError struct {
	Connect time.Duration
	Err     error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("could not connect within %s (--net-connect-timeout or %s to wait longer): %v", e.Connect, EnvConnect, e.Err)
}
func (e *ConnectError) Timeout() bool   { return true }
func (e *ConnectError) Temporary() bool { return true }

// Retryable reports whether a request that failed with err may be sent
// again: the connection dropped, or one of the transport's own timeouts
// fired. The caller's cancellation or deadline never is.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ie *IdleError
	var he *HeaderError
	var ce *ConnectError
	if errors.As(err, &ie) || errors.As(err, &he) || errors.As(err, &ce) {
		return true
	}
	return !errors.Is(err, context.DeadlineExceeded) && Dropped(err)
}

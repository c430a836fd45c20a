package network

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
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
// http.DefaultTransport whose connections have deadlines.
func (t Timeouts) Transport() *http.Transport {
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

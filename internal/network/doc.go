// Package network owns how etk waits on servers: an HTTP transport with
// connect, response-header and idle timeouts (so that a registry or a
// mirror that accepts a connection and then stalls fails a command
// instead of hanging it), their defaults and environment variables, and a
// reader that resumes a body the connection dropped mid-way, as a 5xx
// answer is retried.
//
// # Timeouts
//
//	Connect  ETK_NET_CONNECT_TIMEOUT  30s  TCP connect, then TLS handshake, each
//	Header   ETK_NET_HEADER_TIMEOUT   60s  from a request sent to its response's headers
//	Idle     ETK_NET_IDLE_TIMEOUT     60s  the longest wait for one more byte, read or written
//
// The idle timeout is a deadline moved forward by every read and write of
// a connection, so a large download that keeps moving is never cut, and
// one that stops is cut after Idle. A value of 0 turns a timeout off.
// The CLI's --net-*-timeout flags override the environment.
//
// The transport is a clone of http.DefaultTransport; nothing here changes
// http.DefaultTransport or any other process-wide setting.
package network

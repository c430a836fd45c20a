// Package faultproxy owns a TCP proxy for tests that breaks the traffic
// to a real HTTP server on purpose: in front of a registry (the CI's, or
// go-containerregistry's in-process one) or a web server, it answers 5xx,
// drops connections mid-body, stalls, and truncates bodies, on the
// requests a test picks by method and path, a given number of times.
//
// It is a real server on a loopback port, reached by the code under test
// over real TCP: what the client sees (a reset, a body shorter than its
// Content-Length, a connection that says nothing) is what a broken network
// or a hostile mirror gives. Requests it does not break are forwarded to
// the server, each on a connection of its own.
package faultproxy

package faultproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mode is what the proxy does to a request a rule matches.
type Mode int

const (
	// Pass forwards the request and its answer.
	Pass Mode = iota
	// Error5xx answers 503 Service Unavailable without asking the server.
	Error5xx
	// Drop forwards the request, sends the answer's headers and half its
	// body, then resets the connection.
	Drop
	// Stall reads the request and then sends nothing, holding the
	// connection open until the client gives up or the proxy closes.
	Stall
	// StallBody sends the answer's headers and half its body, then
	// nothing more.
	StallBody
	// Truncate sends the answer with half its body and a Content-Length
	// saying so: a clean answer with the wrong bytes.
	Truncate
	// DropUpload reads half the request's body and resets the
	// connection, forwarding nothing: an upload cut mid-way.
	DropUpload
)

func (m Mode) String() string {
	return [...]string{"pass", "5xx", "drop", "stall", "stall-body", "truncate", "drop-upload"}[m]
}

// Rule picks requests: those whose method is Method (any when empty) and
// whose path contains Path (any when empty). The first Times of them
// (every one when Times is 0) get Mode.
type Rule struct {
	Method string
	Path   string
	Mode   Mode
	Times  int
}

// Proxy is a running fault proxy.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	rules []Rule
	hits  []int
	log   []string
	conns map[net.Conn]bool
	done  chan struct{}
	wg    sync.WaitGroup
}

// Start listens on a loopback port and forwards to upstream ("host:port").
func Start(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, upstream: upstream, conns: map[net.Conn]bool{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set replaces the rules; the first rule that matches a request decides.
func (p *Proxy) Set(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = rules
	p.hits = make([]int, len(rules))
}

// Hits is how many requests rule i (of the last Set) broke.
func (p *Proxy) Hits(i int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i >= len(p.hits) {
		return 0
	}
	return p.hits[i]
}

// Log lists the requests seen, as "MODE METHOD PATH".
func (p *Proxy) Log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// Close stops the proxy and closes every connection, stalled ones too.
func (p *Proxy) Close() error {
	close(p.done)
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns[c] = true
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
			p.mu.Lock()
			delete(p.conns, c)
			p.mu.Unlock()
			c.Close()
		}()
	}
}

// mode picks the mode of a request and counts it.
func (p *Proxy) mode(r *http.Request) Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := Pass
	for i, rule := range p.rules {
		if rule.Method != "" && rule.Method != r.Method || !strings.Contains(r.URL.Path, rule.Path) {
			continue
		}
		if rule.Times > 0 && p.hits[i] >= rule.Times {
			continue
		}
		p.hits[i]++
		m = rule.Mode
		break
	}
	p.log = append(p.log, fmt.Sprintf("%s %s %s", m, r.Method, r.URL.Path))
	return m
}

func (p *Proxy) handle(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		m := p.mode(req)
		switch m {
		case Error5xx:
			io.Copy(io.Discard, req.Body)
			resp := &http.Response{StatusCode: http.StatusServiceUnavailable, ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("fault proxy: 503\n")), ContentLength: 17}
			if resp.Write(c) != nil {
				return
			}
			continue
		case Stall:
			io.Copy(io.Discard, req.Body)
			p.hold(c)
			return
		case DropUpload:
			n := req.ContentLength / 2
			if n <= 0 {
				n = 1
			}
			io.CopyN(io.Discard, req.Body, n)
			reset(c)
			return
		}
		resp, err := p.forward(req)
		if err != nil {
			return
		}
		if !p.answer(c, req, resp, m) {
			return
		}
	}
}

// forward sends req to the server on a new connection and reads its
// answer; the body stays to be read.
func (p *Proxy) forward(req *http.Request) (*http.Response, error) {
	up, err := net.DialTimeout("tcp", p.upstream, 10*time.Second)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "close")
	if err := req.Write(up); err != nil {
		up.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(up), req)
	if err != nil {
		up.Close()
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{resp.Body, up}
	return resp, nil
}

// answer writes resp to the client as m says; false ends the connection.
func (p *Proxy) answer(c net.Conn, req *http.Request, resp *http.Response, m Mode) bool {
	defer resp.Body.Close()
	resp.Close = false
	resp.Header.Del("Connection")
	if m == Pass || req.Method == http.MethodHead {
		return resp.Write(c) == nil
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return false
	}
	half := body[:len(body)/2]
	resp.TransferEncoding = nil
	resp.Header.Del("Transfer-Encoding")
	if m == Truncate {
		resp.ContentLength = int64(len(half))
		resp.Header.Set("Content-Length", strconv.Itoa(len(half)))
		resp.Body = io.NopCloser(strings.NewReader(string(half)))
		return resp.Write(c) == nil
	}
	// Drop and StallBody announce the whole body and send half.
	var head strings.Builder
	writeHead(&head, resp, len(body))
	if _, err := io.WriteString(c, head.String()); err != nil {
		return false
	}
	if _, err := c.Write(half); err != nil {
		return false
	}
	if m == StallBody {
		p.hold(c)
		return false
	}
	reset(c)
	return false
}

// reset makes the close of c a reset, not a clean end.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}

// writeHead writes the status line and headers of resp, with a
// Content-Length of n.
func writeHead(w io.Writer, resp *http.Response, n int) {
	fmt.Fprintf(w, "HTTP/1.1 %s\r\n", resp.Status)
	resp.Header.Set("Content-Length", strconv.Itoa(n))
	resp.Header.Write(w)
	io.WriteString(w, "\r\n")
}

// hold keeps c open, saying nothing, until the client closes it or the
// proxy stops.
func (p *Proxy) hold(c net.Conn) {
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c)
		close(gone)
	}()
	select {
	case <-gone:
	case <-p.done:
	}
}

package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/etk-build/etk/internal/network"
)

// TestModes: what a client sees of each mode.
func TestModes(t *testing.T) {
	body := strings.Repeat("etk!", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	defer srv.Close()
	p, err := Start(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client := &http.Client{Transport: network.Timeouts{Connect: time.Second, Header: 300 * time.Millisecond, Idle: 300 * time.Millisecond}.Transport()}
	get := func() (int, string, error) {
		resp, err := client.Get("http://" + p.Addr() + "/blob")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	cases := []struct {
		mode   Mode
		status int
		n      int
		check  func(error) bool
	}{
		{Pass, 200, len(body), func(err error) bool { return err == nil }},
		{Error5xx, 503, -1, func(err error) bool { return err == nil }},
		{Truncate, 200, len(body) / 2, func(err error) bool { return err == nil }},
		{Drop, 200, len(body) / 2, func(err error) bool { return network.Dropped(err) }},
		{StallBody, 200, len(body) / 2, func(err error) bool {
			var ie *network.IdleError
			return errors.As(err, &ie)
		}},
		{Stall, 0, 0, func(err error) bool {
			var he *network.HeaderError
			return errors.As(err, &he)
		}},
	}
	for _, c := range cases {
		t.Run(c.mode.String(), func(t *testing.T) {
			// Every request: Go's transport tries an idempotent request
			// again on a fresh connection when a reused one fails before
			// the answer.
			p.Set(Rule{Method: "GET", Mode: c.mode})
			status, got, err := get()
			if !c.check(err) {
				t.Errorf("error %v", err)
			}
			if status != c.status || c.n >= 0 && len(got) != c.n {
				t.Errorf("got %d and %d bytes, want %d and %d", status, len(got), c.status, c.n)
			}
			if p.Hits(0) < 1 {
				t.Errorf("rule hit %d times", p.Hits(0))
			}
			p.Set()
			if status, got, err := get(); err != nil || status != 200 || got != body {
				t.Errorf("after the fault: %d, %d bytes, %v", status, len(got), err)
			}
		})
	}
}

// TestResume: a body dropped twice mid-way is read whole through
// network.Resume.
func TestResume(t *testing.T) {
	body := strings.Repeat("0123456789", 10000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer srv.Close()
	p, err := Start(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Set(Rule{Method: "GET", Mode: Drop, Times: 2})
	client := &http.Client{Transport: network.Defaults().Transport()}
	open := func(ctx context.Context) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+p.Addr()+"/x", nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	}
	rc, err := open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r := network.Resume(t.Context(), rc, open)
	got, err := io.ReadAll(r)
	if err != nil || string(got) != body {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if p.Hits(0) != 2 {
		t.Errorf("dropped %d times, want 2", p.Hits(0))
	}
}

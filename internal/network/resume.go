package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Open opens a body from its start.
type Open func(ctx context.Context) (io.ReadCloser, error)

// MaxResumes is how many times a body is opened again after a drop.
const MaxResumes = 3

// Resume reads the body open gives and, when the connection drops
// mid-way (reset, closed early, went idle), opens it again, skips what was
// read and goes on, at most MaxResumes times, waiting a little more
// before each. Other errors (the caller's context, a digest mismatch, a
// clean end) are returned as they are. Skipping rather than asking for a
// range works with every server, and keeps the verification of the whole
// body that readers of registries do.
func Resume(ctx context.Context, rc io.ReadCloser, open Open) io.ReadCloser {
	return &resumer{ctx: ctx, rc: rc, open: open}
}

type resumer struct {
	ctx   context.Context
	rc    io.ReadCloser
	open  Open
	n     int64 // bytes handed out
	tries int
	drop  error // a drop seen after handing out bytes, to resume from
}

func (r *resumer) Read(p []byte) (int, error) {
	for {
		if r.drop == nil {
			n, err := r.rc.Read(p)
			r.n += int64(n)
			if err == nil || !Dropped(err) || r.ctx.Err() != nil || r.tries >= MaxResumes {
				if Dropped(err) && r.tries > 0 {
					err = fmt.Errorf("%w (dropped %d times)", err, r.tries+1)
				}
				return n, err
			}
			r.drop = err
			if n > 0 {
				return n, nil
			}
		}
		drop := r.drop
		r.drop = nil
		r.tries++
		if err := r.reopen(); err != nil {
			return 0, fmt.Errorf("%w; opening it again: %w", drop, err)
		}
	}
}

func (r *resumer) reopen() error {
	r.rc.Close()
	select {
	case <-r.ctx.Done():
		return r.ctx.Err()
	case <-time.After(time.Duration(r.tries) * 200 * time.Millisecond):
	}
	rc, err := r.open(r.ctx)
	if err != nil {
		return err
	}
	r.rc = rc
	if _, err := io.CopyN(io.Discard, rc, r.n); err != nil {
		return fmt.Errorf("skip the %d bytes already read: %w", r.n, err)
	}
	return nil
}

func (r *resumer) Close() error { return r.rc.Close() }

// Dropped reports whether err says the connection failed under a body:
// reset, closed before the end the server announced, or idle too long.
func Dropped(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ie *IdleError
	if errors.As(err, &ie) {
		return true
	}
	return !errors.Is(err, context.DeadlineExceeded) && (errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed))
}

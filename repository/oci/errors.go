package oci

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrBadArtifact: the tag of a key names something that is not an etk
// cache artifact, or one whose parts disagree (another key, an artefact
// other than the metadata's).
var ErrBadArtifact = errors.New("not an etk cache artifact")

// opError is an error of Fetch or Push: its text is safe to log, the error
// it wraps (for errors.Is and errors.As) may not be.
type opError struct {
	msg string
	err error
}

func (e *opError) Error() string { return e.msg }
func (e *opError) Unwrap() error { return e.err }

func (c *Cache) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{msg: fmt.Sprintf("oci: %s %s:%s: %s", op, c.repo, key, describe(err)), err: err}
}

// describe says what went wrong without the URLs and response bodies that
// ggcr's messages carry: a body may echo a header, a redirect URL may hold
// a signature.
func describe(err error) string {
	msg := err.Error()
	var terr *transport.Error
	if errors.As(err, &terr) {
		msg = replaceOr(msg, terr.Error(), status(terr))
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		msg = replaceOr(msg, uerr.Error(), uerr.Op+": "+uerr.Err.Error())
	}
	return scrub(msg)
}

// replaceOr replaces old by new in s, or returns new when s lacks old.
func replaceOr(s, old, new string) string {
	if !strings.Contains(s, old) {
		return new
	}
	return strings.Replace(s, old, new, 1)
}

// status is the status and the registry's error codes and messages,
// without the request or the body.
func status(terr *transport.Error) string {
	s := fmt.Sprintf("%d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
	for _, d := range terr.Errors {
		s += "; " + string(d.Code)
		if d.Message != "" {
			s += ": " + d.Message
		}
	}
	return s
}

var scrubbers = []struct {
	re   *regexp.Regexp
	repl string
}{
	// user:password@ in a URL.
	{regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@"']*@`), "$1"},
	// Query strings: signed redirect URLs, upload state.
	{regexp.MustCompile(`(://[^\s?#"']*)\?[^\s"']*?(:?(?:\s|["']|$))`), "$1$2"},
	// Authorization header values.
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "$1 REDACTED"},
	// Tokens and passwords in JSON or form bodies.
	{regexp.MustCompile(`(?i)("?(?:access_token|refresh_token|identitytoken|registrytoken|token|password|secret)"?\s*[:=]\s*"?)[^\s"&,}]+`), "${1}REDACTED"},
}

func scrub(s string) string {
	for _, r := range scrubbers {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// shownRepo is repo as it may appear in an error: without what precedes
// an "@", which can only be credentials someone pasted into it.
// An "@" that begins a digest ("repo@sha256:...") is left alone; any
// other is taken for the end of credentials, even past a "/", so that a
// password holding one is hidden too.
func shownRepo(repo string) string {
	s := repo
	for {
		i := strings.LastIndex(s, "@")
		if i < 0 {
			return repo
		}
		if !strings.HasPrefix(s[i+1:], "sha256:") {
			return "REDACTED@" + repo[i+1:]
		}
		s = s[:i]
	}
}

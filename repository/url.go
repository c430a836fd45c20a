package repository

import "strings"

// WithoutCredentials is a repository URL without its user and password, as
// it is recorded (an artefact's source, etk.lock, what a client remembers):
// credentials stay with who has them. "oci://user:pw@host/repo" gives
// "oci://host/repo"; a URL without any is returned as it is.
func WithoutCredentials(u string) string {
	if head, rest, ok := CutCredentials(u); ok {
		return head + rest
	}
	return u
}

// CutCredentials splits "scheme://user:password@rest" into "scheme://" and
// rest. The "@" is the last one that does not begin a digest
// ("repo@sha256:..."), even past a "/", so that a password holding one is
// cut too.
func CutCredentials(u string) (head, rest string, ok bool) {
	i := strings.Index(u, "://")
	if i < 0 {
		return "", "", false
	}
	head, after := u[:i+3], u[i+3:]
	s := after
	for {
		j := strings.LastIndex(s, "@")
		if j < 0 {
			return "", "", false
		}
		if !strings.HasPrefix(s[j+1:], "sha256:") {
			return head, after[j+1:], true
		}
		s = s[:j]
	}
}

package spec

import (
	"regexp"
	"strings"
	"sync"
)

// validRegexps remembers patterns already checked: trees repeat the same
// includes and excludes across many packages.
var validRegexps sync.Map

// checkRegexp validates an includes/excludes pattern.
func checkRegexp(re string) error {
	if _, ok := validRegexps.Load(re); ok {
		return nil
	}
	if _, err := regexp.Compile(re); err != nil {
		return regexpErr(strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	validRegexps.Store(re, true)
	return nil
}

type regexpErr string

func (e regexpErr) Error() string { return string(e) }

package spec

import (
	"regexp"
	"strings"
)

// checkRegexp validates an includes/excludes pattern.
func checkRegexp(re string) error {
	_, err := regexp.Compile(re)
	if err != nil {
		return trimRegexpErr(err)
	}
	return nil
}

type regexpErr string

func (e regexpErr) Error() string { return string(e) }

func trimRegexpErr(err error) error {
	return regexpErr(strings.TrimPrefix(err.Error(), "error parsing regexp: "))
}

package spec

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
)

// pattern is one distinct includes/excludes pattern of every tree loaded:
// its text, shared by every package that writes it, whether it parses,
// and its compiled form once a build asks for it. Trees repeat the same
// patterns across many packages, and generated trees hold hundreds of
// thousands of them: each is parsed once, and compiled once, lazily.
type pattern struct {
	text string
	err  error

	once sync.Once
	re   *regexp.Regexp
	cerr error
}

var patterns = struct {
	sync.RWMutex
	m map[string]*pattern
}{m: map[string]*pattern{}}

// lookupPattern returns the shared entry of s, checking it on first sight
// as regexp.Compile would, without compiling it.
func lookupPattern(s string) *pattern {
	patterns.RLock()
	p := patterns.m[s]
	patterns.RUnlock()
	if p != nil {
		return p
	}
	p = &pattern{text: strings.Clone(s)}
	if !plain(s) {
		if _, err := syntax.Parse(s, syntax.Perl); err != nil {
			p.err = regexpErr(strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	patterns.Lock()
	if q, ok := patterns.m[s]; ok {
		p = q
	} else {
		patterns.m[p.text] = p
	}
	patterns.Unlock()
	return p
}

// plain reports whether s is a pattern that cannot fail to parse: letters,
// digits, path punctuation, anchors, dots and escaped punctuation, as the
// file lists of generated trees are. It saves a parse of each.
func plain(s string) bool {
	if len(s) > 1000 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '/' || c == '_' || c == '-' || c == '.' || c == '^' || c == '$' || c == ' ' || c == '@' || c == ':' || c == '=' || c == ',' || c == '%' || c == '~':
		case c == '\\':
			// A backslash before ASCII punctuation is always a literal.
			if i+1 >= len(s) {
				return false
			}
			n := s[i+1]
			if n >= 0x80 || (n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9') || n <= ' ' {
				return false
			}
			i++
		default:
			return false
		}
	}
	return true
}

type regexpErr string

func (e regexpErr) Error() string { return string(e) }

// Regexp returns the compiled form of an includes or excludes pattern,
// compiling it on first use and sharing it after that. A compiled
// *regexp.Regexp is safe for concurrent use.
func Regexp(s string) (*regexp.Regexp, error) {
	p := lookupPattern(s)
	if p.err != nil {
		return nil, p.err
	}
	p.once.Do(func() { p.re, p.cerr = regexp.Compile(p.text) })
	return p.re, p.cerr
}

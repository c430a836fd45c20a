package version

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest version Parse accepts, in bytes. Real versions are
// a few dozen bytes; the bound keeps hostile input cheap.
const MaxLen = 256

// Version is a parsed version. The zero Version is not a valid version; it
// sorts before every parsed one.
//
// Versions are comparable with ==, which holds exactly when Compare returns 0.
type Version struct {
	s     string // as written
	epoch string // epoch digits without leading zeros; "" is epoch 0
	up    string // upstream version, normalised for comparison
	rev   string // revision, normalised for comparison; "" when absent
}

// Parse parses a version written [epoch:]upstream[-revision]. The upstream
// version starts with a digit; versions hold only ASCII letters, digits and
// . + ~ - _, plus the ':' ending a numeric epoch. '_' is read as '-', as
// luet does. Errors name the input.
//
// luet accepts a leading "v" when matching selectors but not when ranking
// versions, so a "v1.0" package can be selected but never chosen as the
// best; etk rejects it.
func Parse(s string) (Version, error) {
	if s == "" {
		return Version{}, errors.New("empty version")
	}
	if len(s) > MaxLen {
		return Version{}, fmt.Errorf("version %s: longer than %d bytes", clip(s), MaxLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune(".+~-_:", rune(c)) {
			return Version{}, fmt.Errorf("version %q: invalid character %s", s, quoteRuneAt(s, i))
		}
	}
	v := Version{s: s}
	rest := s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		epoch := s[:i]
		if epoch == "" || !allDigits(epoch) {
			return Version{}, fmt.Errorf("version %q: epoch before ':' must be a number", s)
		}
		rest = s[i+1:]
		if strings.IndexByte(rest, ':') >= 0 {
			return Version{}, fmt.Errorf("version %q: more than one ':'", s)
		}
		v.epoch = strings.TrimLeft(epoch, "0")
	}
	if rest == "" || !isDigit(rest[0]) {
		return Version{}, fmt.Errorf("version %q: must start with a digit", s)
	}
	key := normalize(rest)
	if i := strings.LastIndexByte(key, '-'); i >= 0 {
		if i == len(key)-1 {
			return Version{}, fmt.Errorf("version %q: empty revision after the last '-'", s)
		}
		v.up, v.rev = key[:i], key[i+1:]
	} else {
		v.up = key
	}
	return v, nil
}

// String returns the version as written.
func (v Version) String() string { return v.s }

// Compare returns -1, 0 or +1 as a sorts before, equal to, or after b. It
// compares epochs as numbers, then upstream versions and then revisions
// with dpkg's algorithm (see the package documentation), and breaks ties
// between spellings of one precedence bytewise. It is a total order:
// Compare(a, b) == 0 only when a == b.
func Compare(a, b Version) int {
	if a.s == "" || b.s == "" { // the zero Version
		return strings.Compare(a.s, b.s)
	}
	if c := compareNumber(a.epoch, b.epoch); c != 0 {
		return c
	}
	if c := compareDpkg(a.up, b.up); c != 0 {
		return c
	}
	if c := compareDpkg(a.rev, b.rev); c != 0 {
		return c
	}
	return strings.Compare(a.s, b.s)
}

// CompareStrings compares two version strings. Valid versions compare as
// Compare does; strings Parse rejects sort before all valid versions (so the
// best version is never one etk cannot read, as in luet) and bytewise among
// themselves. It never panics, so it can sort untrusted input.
func CompareStrings(a, b string) int {
	va, erra := Parse(a)
	vb, errb := Parse(b)
	switch {
	case erra == nil && errb == nil:
		return Compare(va, vb)
	case erra != nil && errb != nil:
		return strings.Compare(a, b)
	case erra != nil:
		return -1
	default:
		return 1
	}
}

// preReleases are the words that mark a pre-release: Gentoo's suffixes,
// which luet's selector parser knows, and what semver pre-releases use.
var preReleases = [...]string{"alpha", "beta", "pre", "rc"}

// normalize returns s with '_' read as '-' and every pre-release word that
// follows '-', '_' or a digit, and is not followed by a letter, prefixed
// with '~' instead of the separator: "1.0-rc1", "1.0_rc1" and "1.0rc1"
// compare as "1.0~rc1". A word after '.' is left alone so that semver's
// 1.0.0-alpha.1 < 1.0.0-alpha.beta holds. It returns s itself when nothing
// changes, so most versions cost no allocation.
func normalize(s string) string {
	if !needsNormalize(s) {
		return s
	}
	out := make([]byte, 0, len(s)+4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			c = '-'
		}
		if w := preReleaseAt(s, i); w != "" {
			if last := len(out) - 1; out[last] == '-' {
				out[last] = '~'
			} else {
				out = append(out, '~')
			}
			out = append(out, w...)
			i += len(w) - 1
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

func needsNormalize(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '_' || preReleaseAt(s, i) != "" {
			return true
		}
	}
	return false
}

// preReleaseAt returns the pre-release word starting at s[i], if one starts
// there after '-', '_' or a digit and ends before a non-letter.
func preReleaseAt(s string, i int) string {
	if i == 0 || !isLower(s[i]) {
		return ""
	}
	if p := s[i-1]; p != '-' && p != '_' && !isDigit(p) {
		return ""
	}
	for _, w := range preReleases {
		if strings.HasPrefix(s[i:], w) {
			if end := i + len(w); end < len(s) && isLetter(s[end]) {
				return ""
			}
			return w
		}
	}
	return ""
}

// compareDpkg compares two version parts with dpkg's algorithm: alternate
// runs of non-digits, compared character by character with order, and runs
// of digits, compared as numbers of any length.
func compareDpkg(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			oa, ob := order(a, i), order(b, j)
			if oa != ob {
				return sign(oa - ob)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return sign(first)
		}
	}
	return 0
}

// order weighs the character at s[i] in a non-digit run: '~' before the end
// of the run (a digit or the end of s), the end before letters, letters
// before everything else.
func order(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch c := s[i]; {
	case isDigit(c):
		return 0
	case isLetter(c):
		return int(c)
	case c == '~':
		return -1
	default:
		return int(c) + 256
	}
}

// compareNumber compares two digit strings without leading zeros.
func compareNumber(a, b string) int {
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLower(c byte) bool  { return 'a' <= c && c <= 'z' }
func isLetter(c byte) bool { return isLower(c) || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// quoteRuneAt quotes the character starting at s[i] for an error message.
func quoteRuneAt(s string, i int) string {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("%q", s[i:i+1])
	}
	return fmt.Sprintf("%q", r)
}

// clip quotes s for an error message, shortened when it is long.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
}

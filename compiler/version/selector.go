package version

import (
	"fmt"
	"strings"
)

// MaxSelectorLen and MaxClauses bound what ParseSelector accepts.
const (
	MaxSelectorLen = 1024
	MaxClauses     = 32
)

type op uint8

const (
	opEQ op = iota + 1
	opNE
	opLT
	opLE
	opGT
	opGE
	opPrefix
)

// operators in the order they are tried, longest first.
var operators = [...]struct {
	text string
	op   op
}{
	{">=", opGE}, {"<=", opLE}, {"==", opEQ}, {"!=", opNE},
	{">", opGT}, {"<", opLT}, {"=", opEQ}, {"!", opNE},
}

// Clause is one constraint of a selector, such as ">1.3.1".
type Clause struct {
	op op
	v  Version
}

// Match reports whether v satisfies the clause.
func (c Clause) Match(v Version) bool {
	switch c.op {
	case opPrefix:
		p := c.v.s
		if !strings.HasPrefix(v.s, p) {
			return false
		}
		// "1.2*" takes whole components: 1.2.3 and 1.2-5 but not 1.20.
		return len(v.s) == len(p) || !isDigit(p[len(p)-1]) || !isDigit(v.s[len(p)])
	case opEQ:
		return v == c.v
	case opNE:
		return v != c.v
	}
	n := Compare(v, c.v)
	switch c.op {
	case opLT:
		return n < 0
	case opLE:
		return n <= 0
	case opGT:
		return n > 0
	case opGE:
		return n >= 0
	}
	return false
}

// String returns the clause in canonical form: ">=1.0", "=1.0", "!=1.0",
// "=1.2*".
func (c Clause) String() string {
	switch c.op {
	case opEQ:
		return "=" + c.v.s
	case opNE:
		return "!=" + c.v.s
	case opLT:
		return "<" + c.v.s
	case opLE:
		return "<=" + c.v.s
	case opGT:
		return ">" + c.v.s
	case opGE:
		return ">=" + c.v.s
	case opPrefix:
		return "=" + c.v.s + "*"
	}
	return ""
}

// Selector picks versions: those that satisfy all its clauses. The zero
// Selector, like Any, matches every version.
type Selector struct {
	clauses []Clause
}

// Any returns the selector that matches every version.
func Any() Selector { return Selector{} }

// ParseSelector parses the version field of a requires, conflicts or
// provides entry. See the package documentation for the syntax. Errors name
// the input.
//
// luet reads one operator and then the last version-like run of the string,
// so it takes ">=1.0 <2.0" for ">=2.0"; and it treats "!1.0" as a version
// named "!1.0" because it looks for selectors by the characters <, > and =.
// etk reads ranges, and "!1.0" as "!=1.0".
func ParseSelector(s string) (Selector, error) {
	if len(s) > MaxSelectorLen {
		return Selector{}, fmt.Errorf("version selector %s: longer than %d bytes", clip(s), MaxSelectorLen)
	}
	if strings.Contains(s, "||") {
		return Selector{}, fmt.Errorf("version selector %q: alternatives (||) are not supported", s)
	}
	var sel Selector
	parts := strings.Split(s, ",")
	for _, part := range parts {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			if len(parts) > 1 {
				return Selector{}, fmt.Errorf("version selector %q: empty constraint between commas", s)
			}
			continue
		}
		for i := 0; i < len(fields); i++ {
			text := fields[i]
			if isOperator(text) {
				if i+1 == len(fields) {
					return Selector{}, fmt.Errorf("version selector %q: no version after %q", s, text)
				}
				i++
				text += fields[i]
			}
			c, all, err := parseClause(text)
			if err != nil {
				return Selector{}, fmt.Errorf("version selector %q: %w", s, err)
			}
			if all {
				continue
			}
			if len(sel.clauses) == MaxClauses {
				return Selector{}, fmt.Errorf("version selector %s: more than %d constraints", clip(s), MaxClauses)
			}
			sel.clauses = append(sel.clauses, c)
		}
	}
	return sel, nil
}

func isOperator(s string) bool {
	for _, o := range operators {
		if s == o.text {
			return true
		}
	}
	return false
}

// parseClause parses one operator and version with no space inside. It
// reports all for "*", "=*" and ">=0", which match every version.
func parseClause(text string) (c Clause, all bool, err error) {
	if text == "*" || text == "=*" || text == ">=0" {
		return Clause{}, true, nil
	}
	c.op = opEQ
	rest := text
	for _, o := range operators {
		if strings.HasPrefix(text, o.text) {
			c.op, rest = o.op, text[len(o.text):]
			break
		}
	}
	if rest != "" && strings.ContainsRune("~^", rune(rest[0])) {
		return Clause{}, false, fmt.Errorf("unsupported operator %q in %q", rest[:1], text)
	}
	if strings.HasSuffix(rest, "*") {
		if c.op != opEQ {
			return Clause{}, false, fmt.Errorf("wildcard in %q: only = takes a version ending in *", text)
		}
		c.op, rest = opPrefix, rest[:len(rest)-1]
	}
	if rest == "" {
		return Clause{}, false, fmt.Errorf("no version in %q", text)
	}
	if c.v, err = Parse(rest); err != nil {
		return Clause{}, false, err
	}
	return c, false, nil
}

// Match reports whether v satisfies every clause of s.
func (s Selector) Match(v Version) bool {
	for _, c := range s.clauses {
		if !c.Match(v) {
			return false
		}
	}
	return true
}

// IsAny reports whether s matches every version.
func (s Selector) IsAny() bool { return len(s.clauses) == 0 }

// Clauses returns the constraints of s, each of which a version must
// satisfy; none for a selector that matches every version.
func (s Selector) Clauses() []Clause {
	if len(s.clauses) == 0 {
		return nil
	}
	return append([]Clause(nil), s.clauses...)
}

// String returns s in canonical form: its clauses separated by spaces, or
// ">=0", luet's spelling of any version, when it has none. The result parses
// back to an equivalent selector.
func (s Selector) String() string {
	if len(s.clauses) == 0 {
		return ">=0"
	}
	var b strings.Builder
	for i, c := range s.clauses {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.String())
	}
	return b.String()
}

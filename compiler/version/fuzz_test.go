package version

import (
	"strings"
	"testing"
)

func seedStrings(f *testing.F) []string {
	f.Helper()
	seeds := append([]string{}, corpusSorted...)
	for _, h := range histories {
		seeds = append(seeds, h...)
	}
	return append(seeds, luetCorpusSorted...)
}

func FuzzParse(f *testing.F) {
	for _, s := range seedStrings(f) {
		f.Add(s)
	}
	f.Add("1.0-")
	f.Add("0:")
	f.Add("1.0_rc_alpha-pre")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty error", s)
			}
			return
		}
		if v.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, v.String())
		}
		if Compare(v, v) != 0 {
			t.Fatalf("Compare(%q, itself) != 0", s)
		}
		again, err := Parse(v.String())
		if err != nil || again != v {
			t.Fatalf("Parse(%q) does not round-trip: %v", s, err)
		}
		// Parsing normalises pre-release words and '_' only.
		if strings.ContainsAny(v.up+v.rev, "_") || strings.Count(v.up+v.rev, "~") < strings.Count(s, "~") {
			t.Fatalf("Parse(%q): bad normal form %q / %q", s, v.up, v.rev)
		}
	})
}

func FuzzCompare(f *testing.F) {
	seeds := seedStrings(f)
	for i, s := range seeds {
		f.Add(s, seeds[(i+1)%len(seeds)], seeds[(i+7)%len(seeds)])
	}
	f.Add("1.0", "1.00", "1.000")
	f.Add("1.0", "0:1.0", "1.0-0")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, ba := CompareStrings(a, b), CompareStrings(b, a)
		if CompareStrings(a, a) != 0 {
			t.Fatalf("CompareStrings(%q, itself) != 0", a)
		}
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("CompareStrings(%q, %q) = %d but reversed %d", a, b, ab, ba)
		}
		if (ab == 0) != (a == b) {
			t.Fatalf("CompareStrings(%q, %q) = %d", a, b, ab)
		}
		bc, ac := CompareStrings(b, c), CompareStrings(a, c)
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		if ab >= 0 && bc >= 0 && ac < 0 {
			t.Fatalf("not transitive: %q >= %q >= %q but %q < %q", a, b, c, a, c)
		}
		// Selectors are intervals of the same order.
		va, erra := Parse(a)
		_, errb := Parse(b)
		if erra == nil && errb == nil {
			for _, o := range []string{">", ">=", "<", "<=", "=", "!="} {
				sel, err := ParseSelector(o + b)
				if err != nil {
					t.Fatalf("ParseSelector(%q): %v", o+b, err)
				}
				want := map[string]bool{">": ab > 0, ">=": ab >= 0, "<": ab < 0, "<=": ab <= 0, "=": ab == 0, "!=": ab != 0}[o]
				if b == "0" && o == ">=" {
					want = true // luet's "any version"
				}
				if got := sel.Match(va); got != want {
					t.Fatalf("%q matches %q = %v, want %v", o+b, a, got, want)
				}
			}
		}
	})
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range corpusSelectors {
		f.Add(s, "1.0")
	}
	for _, s := range []string{"", "*", "=1.2*", "1.2.*", ">= 1.0, < 2.0", "!1.0", ">1.0 || <0.5", "~1", ">=0 <2"} {
		f.Add(s, "1.2.3-4")
	}
	f.Fuzz(func(t *testing.T, s, version string) {
		sel, err := ParseSelector(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseSelector(%q): empty error", s)
			}
			return
		}
		again, err := ParseSelector(sel.String())
		if err != nil {
			t.Fatalf("ParseSelector(%q).String() = %q does not parse: %v", s, sel.String(), err)
		}
		if again.String() != sel.String() {
			t.Fatalf("ParseSelector(%q) does not round-trip: %q, %q", s, sel.String(), again.String())
		}
		for _, c := range sel.Clauses() {
			one, err := ParseSelector(c.String())
			if err != nil || len(one.Clauses()) != 1 || one.Clauses()[0] != c {
				t.Fatalf("clause %q of %q does not parse back: %v", c, s, err)
			}
		}
		v, err := Parse(version)
		if err != nil {
			v = Version{}
		}
		if sel.Match(v) != again.Match(v) {
			t.Fatalf("%q and %q disagree on %q", s, sel.String(), version)
		}
	})
}

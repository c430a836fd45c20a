package version

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpusSelectors is every selector written in the two real trees.
var corpusSelectors = []string{
	">=0", "<1.0.0", ">0.0.10", ">0.0.10-3", ">0.0.12", ">0.0.2",
	">0.20220216", ">0.3-1", ">0.6.1", ">0.6.1-1", ">1.3.1",
}

// TestCorpusSelectorMatrix matches every corpus selector against every
// corpus version. Each selector admits a run of corpusSorted, given by the
// first and last version it admits ("" for the ends), worked out by hand.
func TestCorpusSelectorMatrix(t *testing.T) {
	for _, tt := range []struct {
		sel         string
		first, last string
	}{
		{">=0", "", ""},
		{"<1.0.0", "", "0.20230217"},
		{">0.0.10", "0.0.10-7", ""}, // a revision of 0.0.10 is newer than 0.0.10
		{">0.0.10-3", "0.0.10-7", ""},
		{">0.0.12", "0.1", ""},
		{">0.0.2", "0.0.2-8", ""},
		{">0.20220216", "0.20221223", ""},
		{">0.3-1", "0.3.8", ""},
		{">0.6.1", "0.6.5", ""},
		{">0.6.1-1", "0.6.5", ""},
		{">1.3.1", "1.6-34", ""}, // 1.2.2-2 < 1.3.1 < 1.6-34: numbers, not strings
	} {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := ParseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			in := tt.first == ""
			for _, s := range corpusSorted {
				if s == tt.first {
					in = true
				}
				if got := sel.Match(mustParse(t, s)); got != in {
					t.Errorf("%q matches %q = %v, want %v", tt.sel, s, got, in)
				}
				if s == tt.last {
					in = false
				}
			}
		})
	}
}

// TestCorpusRequirements checks the requirements of the elemental tree
// against the versions of the packages they name. luet's column is what
// luet's ValidateSelector gives, by reading its source: it keeps only the
// part of a version after its last "-N", so it compares 0.6.5 with 1 for
// ">0.6.1-1", and 3 with 1.0.0 for luet 0.33.0-3.
func TestCorpusRequirements(t *testing.T) {
	for _, tt := range []struct {
		where, sel, version string
		want, luet          bool
	}{
		{"immutable-rootfs requires system/cos-setup", ">0.6.1", "0.6.5", true, true},
		{"meta/cos-modules requires system/cos-setup", ">0.6.1-1", "0.6.5", true, false},
		{"initrd build requires system/immutable-rootfs", ">0.3-1", "0.8.8", true, false},
		{"installer requires toolchain/elemental-cli", ">0.20220216", "0.20230217", true, true},
		{"meta/toolchain requires toolchain/elemental-cli", ">0.0.10", "0.20230217", true, true},
		{"meta/cos-verify requires toolchain/cosign", ">1.3.1", "1.13.1-4", true, true},
		{"meta/cos-verify requires toolchain/luet-cosign", ">0.0.10-3", "0.0.11-10", true, true},
		{"toolchain/luet-makeiso requires toolchain/luet", "<1.0.0", "0.33.0-3", true, false},
		{"toolchain-fips/luet-makeiso requires toolchain-fips/luet", "<1.0.0", "0.33.0-3", true, false},
		{"fixture luet-extensions requires", ">=0", "0.36.4", true, true},
	} {
		t.Run(tt.where, func(t *testing.T) {
			sel, err := ParseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.Match(mustParse(t, tt.version)); got != tt.want {
				t.Errorf("%q matches %q = %v, want %v (luet: %v)", tt.sel, tt.version, got, tt.want, tt.luet)
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		clauses  int
	}{
		{"", ">=0", 0},
		{"   ", ">=0", 0},
		{"*", ">=0", 0},
		{"=*", ">=0", 0},
		{">=0", ">=0", 0},
		{">= 0", ">=0", 0},
		{">=1.0", ">=1.0", 1},
		{">= 1.0", ">=1.0", 1},
		{">1.0", ">1.0", 1},
		{"<1.0.0", "<1.0.0", 1},
		{"<=1.0-1", "<=1.0-1", 1},
		{"1.0", "=1.0", 1},
		{"=1.0", "=1.0", 1},
		{"==1.0", "=1.0", 1},
		{"!=1.0", "!=1.0", 1},
		{"!1.0", "!=1.0", 1},
		{"! 1.0", "!=1.0", 1},
		{">=1.0 <2.0", ">=1.0 <2.0", 2},
		{">=1.0, <2.0", ">=1.0 <2.0", 2},
		{">=1.0,<2.0", ">=1.0 <2.0", 2},
		{" >= 1.0 , < 2.0 ", ">=1.0 <2.0", 2},
		{">=1.0\t<2.0\n!=1.5", ">=1.0 <2.0 !=1.5", 3},
		{">=0 <2", "<2", 1},
		{"1.2*", "=1.2*", 1},
		{"=1.2*", "=1.2*", 1},
		{"= 1.2*", "=1.2*", 1},
		{"1.2.*", "=1.2.*", 1},
		{">0.0.10-3", ">0.0.10-3", 1},
		{">=1:2.0_rc1", ">=1:2.0_rc1", 1},
	} {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := ParseSelector(tt.in)
			if err != nil {
				t.Fatalf("ParseSelector(%q): %v", tt.in, err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := len(sel.Clauses()); got != tt.clauses {
				t.Errorf("%d clauses, want %d", got, tt.clauses)
			}
			if got := sel.IsAny(); got != (tt.clauses == 0) {
				t.Errorf("IsAny() = %v", got)
			}
			again, err := ParseSelector(sel.String())
			if err != nil || again.String() != sel.String() {
				t.Errorf("String() %q does not parse back: %v, %q", sel.String(), err, again.String())
			}
		})
	}
}

func TestParseSelectorErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{">=", `version selector ">=": no version after ">="`},
		{">=1.0 <", `version selector ">=1.0 <": no version after "<"`},
		{">=1.0,", `version selector ">=1.0,": empty constraint between commas`},
		{",>=1.0", `version selector ",>=1.0": empty constraint between commas`},
		{">=1.0,,<2", `version selector ">=1.0,,<2": empty constraint between commas`},
		{">=1.0 || <0.5", `version selector ">=1.0 || <0.5": alternatives (||) are not supported`},
		{"~1.0", `version selector "~1.0": unsupported operator "~" in "~1.0"`},
		{"^1.0", `version selector "^1.0": unsupported operator "^" in "^1.0"`},
		{">1.2*", `version selector ">1.2*": wildcard in ">1.2*": only = takes a version ending in *`},
		{"=>1.0", `version selector "=>1.0": version ">1.0": invalid character '>'`},
		{">=v1.0", `version selector ">=v1.0": version "v1.0": must start with a digit`},
		{">=1.0 <abc", `version selector ">=1.0 <abc": version "abc": must start with a digit`},
		{"1.0 - 2.0", `version selector "1.0 - 2.0": version "-": must start with a digit`},
		{">=1.0-", `version selector ">=1.0-": version "1.0-": empty revision after the last '-'`},
		{"**", `version selector "**": version "*": invalid character '*'`},
		{strings.Repeat(">1 ", MaxClauses+1), `version selector ">1 >1 >1 >1 >1 >1 >1 >1 >1 >1 >1 >1 >1 >"...: more than 32 constraints`},
		{strings.Repeat(" ", MaxSelectorLen+1), `version selector "                                        "...: longer than 1024 bytes`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseSelector(tt.in)
			if err == nil {
				t.Fatalf("ParseSelector(%q) succeeded, want error %q", tt.in, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseSelector(%q) error\n got %q\nwant %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestSelectorMatch(t *testing.T) {
	for _, tt := range []struct {
		sel      string
		match    []string
		notMatch []string
	}{
		{"", []string{"0~~", "0", "1.0", "99:1"}, nil},
		{">=0", []string{"0~rc1", "0-rc1", "0", "0.0.1-alpha14-16"}, nil},
		{"1.0", []string{"1.0"}, []string{"1.00", "0:1.0", "1.0-0", "1.0-1", "1.0~rc1"}},
		{"=1.0-1", []string{"1.0-1"}, []string{"1.0_1", "1.0-01"}},
		{"!=1.0", []string{"1.00", "1.0-1", "0.9"}, []string{"1.0"}},
		{">1.0", []string{"1.00", "1.0-0", "1.0-1", "1.0+1", "1.0.1", "1:0.1"}, []string{"1.0", "1.0~rc1", "1.0-rc1", "0:1.0", "0.9"}},
		{">=1.0", []string{"1.0", "1.0-1"}, []string{"0:1.0", "1.0~rc1", "0.9"}},
		{"<1.0", []string{"0.9", "1.0~rc1", "1.0-alpha", "0:1.0"}, []string{"1.0", "1.00", "1.0-1"}},
		{"<=1.0", []string{"1.0", "0.9"}, []string{"1.00", "1.0-1"}},
		{"<1.0.0", []string{"0.33.0-3", "0.20230217", "1.0", "1.0+5", "1.0.0-rc.1"}, []string{"1.0.0", "1.0.0-1", "1.1"}},
		{">=1.0 <2.0", []string{"1.0", "1.5-3", "1.99", "2.0~rc1", "2.0-rc1"}, []string{"0.9", "2.0", "2.0-1", "2.0.1"}},
		{">1.0+1", []string{"1.0+2", "1.0+10", "1.0.1"}, []string{"1.0", "1.0+1", "1.0+0", "1.0-5"}},
		{"=1.2*", []string{"1.2", "1.2.3", "1.2-5", "1.2b7", "1.2~rc1", "1.2+1"}, []string{"1.20", "1.3", "1.1", "0:1.2", "11.2"}},
		{"1.2.*", []string{"1.2.0", "1.2.10"}, []string{"1.2", "1.2-1", "1.20"}},
		{">0.6.1-1 <0.7 !=0.6.3", []string{"0.6.1-2", "0.6.2", "0.6.5"}, []string{"0.6.1", "0.6.1-1", "0.6.3", "0.7"}},
	} {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := ParseSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.match {
				if !sel.Match(mustParse(t, s)) {
					t.Errorf("%q does not match %q, want match", tt.sel, s)
				}
			}
			for _, s := range tt.notMatch {
				if sel.Match(mustParse(t, s)) {
					t.Errorf("%q matches %q, want no match", tt.sel, s)
				}
			}
		})
	}
}

func TestZeroSelector(t *testing.T) {
	var zero Selector
	if !zero.Match(mustParse(t, "1.0")) || !zero.IsAny() || zero.String() != ">=0" || zero.Clauses() != nil {
		t.Errorf("zero Selector is not Any")
	}
	if !Any().Match(Version{}) {
		t.Errorf("Any does not match the zero Version")
	}
}

// TestExplain shows the use Clauses is for: naming the constraint that
// excluded each candidate.
func TestExplain(t *testing.T) {
	explain := func(selector string, candidates ...string) []string {
		sel, err := ParseSelector(selector)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, c := range sel.Clauses() {
			var out []string
			for _, s := range candidates {
				if !c.Match(mustParse(t, s)) {
					out = append(out, s)
				}
			}
			if out != nil {
				lines = append(lines, fmt.Sprintf("constraint %s excluded versions %s", c, strings.Join(out, ", ")))
			}
		}
		return lines
	}
	for _, tt := range []struct {
		sel        string
		candidates []string
		want       []string
	}{
		{">1.3.1", []string{"1.2.0", "1.3.1", "1.13.1-4"}, []string{
			"constraint >1.3.1 excluded versions 1.2.0, 1.3.1",
		}},
		{">= 1.0, < 2.0", []string{"0.9", "1.5", "2.0", "2.1"}, []string{
			"constraint >=1.0 excluded versions 0.9",
			"constraint <2.0 excluded versions 2.0, 2.1",
		}},
		{">=0", []string{"0.9"}, nil},
	} {
		if diff := cmp.Diff(tt.want, explain(tt.sel, tt.candidates...)); diff != "" {
			t.Errorf("explain %q (-want +got):\n%s", tt.sel, diff)
		}
	}
}

func TestClausesIsACopy(t *testing.T) {
	sel, err := ParseSelector(">1.0 <2.0")
	if err != nil {
		t.Fatal(err)
	}
	cs := sel.Clauses()
	cs[0] = cs[1]
	if got := sel.String(); got != ">1.0 <2.0" {
		t.Errorf("changing Clauses() changed the selector to %q", got)
	}
}

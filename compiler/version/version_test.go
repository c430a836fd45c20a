package version

import (
	"bufio"
	"github.com/etk-build/etk/internal/corpus"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpusSorted is every package version written in the two real trees, in
// the order etk must rank them. The order was written by hand from the rules
// in doc.go, not by printing Compare's output:
//   - epoch 0 everywhere; upstream first, by dotted numeric components, so
//     0.10.7 > 0.8.8 and 0.109.0 > 0.36.4, and date-like 0.2023xxxx last of
//     the 0.x;
//   - then the revision after the last '-': 0.1 < 0.1-16, 0.3.8 < 0.3.8-38;
//   - a shorter upstream before a longer one: 0.2-16 < 0.2.0-6;
//   - 0.0.1-alpha14-16 is upstream 0.0.1-alpha14, a pre-release of 0.0.1;
//   - 1.18b7 (Go 1.18 BoringCrypto 7, not a beta) > 1.13 and < 1.19;
//   - 0.20210220+21 (luet's bump format) is from a commented-out entry.
//
// elemental: /work/shared/corpus/elemental-v0.10.7 definition.yaml and
// collection.yaml; fixture: /work/shared/corpus/luet-repo-fixture.
var corpusSorted = []string{
	"0.0.1-alpha14-16", // elemental utils/rancherd
	"0.0.1-5",          // elemental elemental-selinux
	"0.0.2-8",
	"0.0.3-16",
	"0.0.4-2",
	"0.0.10-7",
	"0.0.11-10",
	"0.1", // fixture container, filter
	"0.1-16",
	"0.1.4",
	"0.2-16",
	"0.2.0-6",
	"0.2.1-13",
	"0.2.2-5",
	"0.3.8", // fixture luet-makeiso
	"0.3.8-38",
	"0.4.0-10",
	"0.4.1", // fixture package-browser
	"0.4.2-10",
	"0.4.4", // fixture luet-portage-converter
	"0.4.5",
	"0.5-17",
	"0.6.5",
	"0.8.8",
	"0.10.7",
	"0.11.4-2",
	"0.12.0", // fixture luet-extensions
	"0.24.2",
	"0.26.7-4",
	"0.30.0",
	"0.32-16",
	"0.33.0-3",
	"0.36.4", // fixture luet
	"0.109.0",
	"0.20210220+21", // fixture, commented out
	"0.20221223",
	"0.20230106",
	"0.20230217",
	"1.1.0-2",
	"1.2.2-2",
	"1.6-34",
	"1.13.1-4",
	"1.18b7-5",
	"1.19.4-1",
	"2.0.2-2",
	"3.10.3",
	"3.11.3-4",
	"4.30.6",
	"6.03-5",
	"26-5",
	"2021.01-5.1",
	"2021.03.10-2.1",
	"2021.03.15-2.1",
	"20170419-5.197",
}

// histories are version sequences one package goes through, each in
// ascending order.
var histories = map[string][]string{
	"elemental revision bumps": {"0.33.0", "0.33.0-1", "0.33.0-2", "0.33.0-9", "0.33.0-10", "0.33.1", "0.33.1-1"},
	"rancherd pre-releases": {
		"0.0.1-alpha13-20", "0.0.1-alpha14", "0.0.1-alpha14-1", "0.0.1-alpha14-16",
		"0.0.1-beta1-1", "0.0.1-rc1", "0.0.1-rc2-3", "0.0.1", "0.0.1-1",
	},
	"luet build bumps": {"0.20210220", "0.20210220+1", "0.20210220+2", "0.20210220+21", "0.20210221"},
	"boringcrypto":     {"1.18", "1.18-1", "1.18b7", "1.18b7-5", "1.18.1", "1.18.1b7"},
	"semver pre-releases": {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
	},
	"gentoo suffixes": {
		"1.0_alpha", "1.0_alpha1", "1.0_beta", "1.0_pre", "1.0_rc", "1.0_rc1", "1.0",
		"1.0-1", "1.0_p1", "1.0-r1", "1.0-r2", "1.0+1", "1.0.1",
	},
	"debian": {
		"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0-0.1", "1.0-1", "1.0-1ubuntu1",
		"1.0a", "1.0+b1", "1.0.0", "1:0.1", "2:0.0.1",
	},
	"long numbers": {"1.99999999999999999999", "1.100000000000000000000", "1.100000000000000000001"},
	"dates":        {"2021.01", "20170419", "20230217", "0:20230218", "1:1"},
}

func mustParse(t testing.TB, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return v
}

func sortStrings(t testing.TB, in []string) []string {
	t.Helper()
	vs := make([]Version, len(in))
	for i, s := range in {
		vs[i] = mustParse(t, s)
	}
	slices.SortFunc(vs, Compare)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// checkOrder sorts a shuffled copy of want and checks that Compare agrees
// with want's order on every pair and is transitive on every triple.
func checkOrder(t *testing.T, want []string) {
	t.Helper()
	shuffled := slices.Clone(want)
	rand.New(rand.NewSource(1)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	slices.Reverse(shuffled)
	if diff := cmp.Diff(want, sortStrings(t, shuffled)); diff != "" {
		t.Errorf("sorted order (-want +got):\n%s", diff)
	}
	vs := make([]Version, len(want))
	for i, s := range want {
		vs[i] = mustParse(t, s)
	}
	for i, a := range vs {
		for j, b := range vs {
			wantSign := sign(i - j)
			if got := Compare(a, b); got != wantSign {
				t.Errorf("Compare(%q, %q) = %d, want %d", a, b, got, wantSign)
			}
			if Compare(a, b) != -Compare(b, a) {
				t.Errorf("Compare(%q, %q) not antisymmetric", a, b)
			}
		}
	}
	for _, a := range vs {
		for _, b := range vs {
			for _, c := range vs {
				if Compare(a, b) <= 0 && Compare(b, c) <= 0 && Compare(a, c) > 0 {
					t.Errorf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
				}
			}
		}
	}
}

func TestCorpusOrder(t *testing.T) {
	checkOrder(t, corpusSorted)
}

func TestHistories(t *testing.T) {
	for name, h := range histories {
		t.Run(name, func(t *testing.T) { checkOrder(t, h) })
	}
}

// TestAllTogether checks the order over the union of every table, so that
// transitivity is tested across shapes as well as within them.
func TestAllTogether(t *testing.T) {
	seen := map[string]bool{}
	var all []string
	add := func(ss []string) {
		for _, s := range ss {
			if !seen[s] {
				seen[s] = true
				all = append(all, s)
			}
		}
	}
	add(corpusSorted)
	for _, h := range histories {
		add(h)
	}
	add(luetCorpusSorted[1:])
	add([]string{"1.00", "1.000", "01.0", "0:1.0", "00:1.0", "1.0-0", "1.0_1", "1.0~rc1", "1.0rc1"})
	sorted := sortStrings(t, all)
	checkOrder(t, sorted)
}

// luetCorpusSorted is the corpus of luet's own characterization test
// (pkg/versioner/characterization_test.go), in etk's order. luet's Sort
// gives the same order except that it keeps "1.0" and "0:1.0" in input
// order (they are equal to it), where etk ranks them bytewise. "v1.0" is
// not a version to etk; CompareStrings sorts it first, as luet does.
var luetCorpusSorted = []string{
	"v1.0",
	"0.1",
	"0.20191126",
	"1.0~rc1",
	"0:1.0",
	"1.0",
	"1.0-1",
	"1.0_1",
	"1.0-r1",
	"1.0+2",
	"1.0.0",
	"1.0.29+pre2_p20191024.1",
	"1.1",
	"2.0",
	"2.10.1+1",
	"9999",
	"20190410",
}

func TestLuetCorpusOrder(t *testing.T) {
	got := slices.Clone(luetCorpusSorted)
	slices.Reverse(got)
	slices.SortFunc(got, CompareStrings)
	if diff := cmp.Diff(luetCorpusSorted, got); diff != "" {
		t.Errorf("CompareStrings order (-want +got):\n%s", diff)
	}
}

func TestCompare(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
		why  string
	}{
		{"1.0", "1.0", 0, "identical"},
		{"1.0", "1.00", -1, "same precedence, bytewise; luet loops forever here"},
		{"1", "01", 1, "same precedence, bytewise ('0' < '1')"},
		{"1.0-1", "1.0-01", 1, "same precedence, bytewise"},
		{"0:1.0", "1.0", -1, "explicit epoch 0 has the precedence of none"},
		{"1.0-0", "1.0", 1, "revision 0 has the precedence of none"},
		{"1.0_1", "1.0-1", 1, "'_' reads as '-'"},
		{"1.0rc1", "1.0~rc1", -1, "same precedence, bytewise"},
		{"1.0-rc1", "1.0", -1, "pre-release"},
		{"1.0-RC1", "1.0", 1, "pre-release words are lower case; RC1 is a revision"},
		{"1.0-rcx", "1.0", 1, "not a pre-release word: rcx is a revision"},
		{"1.0.rc1", "1.0", 1, "a word after '.' is a component, as in semver"},
		{"1.0-prerelease", "1.0", 1, "pre followed by a letter is not a pre-release"},
		{"1.0-1", "1.0", 1, "revision after upstream"},
		{"0.33.0-3", "0.33.0", 1, "luet's semver regime says the opposite"},
		{"1.0+2", "1.0+1", 1, "build bump counts; semver would ignore it"},
		{"1.0+1", "1.0-99", 1, "bumped upstream after any revision"},
		{"1.0a", "1.0+", -1, "letters before other characters"},
		{"1.0~", "1.0", -1, "tilde before the end"},
		{"1.0A", "1.0a", -1, "ASCII case order"},
		{"1.18b7", "1.18.1", -1, "letter before '.'"},
		{"1:0.1", "9999", 1, "epoch first"},
		{"10:1", "9:1", 1, "epochs compare as numbers"},
		{"18446744073709551616", "18446744073709551615", 1, "numbers beyond 64 bits"},
	} {
		t.Run(tt.a+"_"+tt.b, func(t *testing.T) {
			a, b := mustParse(t, tt.a), mustParse(t, tt.b)
			if got := Compare(a, b); got != tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d (%s)", tt.a, tt.b, got, tt.want, tt.why)
			}
			if got := Compare(b, a); got != -tt.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

func TestZeroVersion(t *testing.T) {
	var zero Version
	if got := Compare(zero, mustParse(t, "0~~")); got != -1 {
		t.Errorf("Compare(zero, 0~~) = %d, want -1", got)
	}
	if got := Compare(zero, zero); got != 0 {
		t.Errorf("Compare(zero, zero) = %d, want 0", got)
	}
	if zero.String() != "" {
		t.Errorf("zero.String() = %q, want empty", zero.String())
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", `empty version`},
		{"v1.0", `version "v1.0": must start with a digit`},
		{"abc", `version "abc": must start with a digit`},
		{".1", `version ".1": must start with a digit`},
		{"~1", `version "~1": must start with a digit`},
		{"1.0 ", `version "1.0 ": invalid character ' '`},
		{" 1.0", `version " 1.0": invalid character ' '`},
		{"1.0_##", `version "1.0_##": invalid character '#'`},
		{"1.0/2", `version "1.0/2": invalid character '/'`},
		{"1.0é", `version "1.0é": invalid character 'é'`},
		{"1.0\xff", `version "1.0\xff": invalid character "\xff"`},
		{">=1.0", `version ">=1.0": invalid character '>'`},
		{"1.0-", `version "1.0-": empty revision after the last '-'`},
		{"1.0_", `version "1.0_": empty revision after the last '-'`},
		{":1.0", `version ":1.0": epoch before ':' must be a number`},
		{"a:1.0", `version "a:1.0": epoch before ':' must be a number`},
		{"1:", `version "1:": must start with a digit`},
		{"1:2:3", `version "1:2:3": more than one ':'`},
		{strings.Repeat("1", MaxLen+1), `version "1111111111111111111111111111111111111111"...: longer than 256 bytes`},
	} {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error %q", tt.in, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q) error = %q, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	for _, s := range []string{
		"0", "1.0-1-1", "1.0--1", "1:1.0-1", "1.0+", "1.0~", "1.0.", "1.2.3.4.5.6.7",
		"1.0-A.b+c~d", strings.Repeat("9", MaxLen),
	} {
		v, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if v.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, v.String())
		}
	}
}

func TestCompareStrings(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"1.0", "2.0", -1},
		{"v2.0", "1.0", -1},
		{"1.0", "v2.0", 1},
		{"abc", "abd", -1},
		{"", "abc", -1},
		{"abc", "abc", 0},
		{"1.0", "1.0", 0},
	} {
		if got := CompareStrings(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareStrings(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestCorpusTableComplete keeps corpusSorted in step with the real trees:
// every version: value in their definition.yaml, collection.yaml and
// metadata files is a version in corpusSorted or a selector in
// corpusSelectors.
func TestCorpusTableComplete(t *testing.T) {
	root := filepath.Dir(corpus.Dir(t, corpus.Elemental))
	known := map[string]bool{}
	for _, s := range corpusSorted {
		known[s] = true
	}
	for _, s := range corpusSelectors {
		known[s] = true
	}
	line := regexp.MustCompile(`^\s*(?:-\s+)?version:\s*(.*?)\s*$`)
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		base := d.Name()
		if d.IsDir() || !(base == "definition.yaml" || base == "collection.yaml" || base == "build.yaml" ||
			strings.HasSuffix(base, ".metadata.yaml")) {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			m := line.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			v := m[1]
			if i := strings.Index(v, " #"); i >= 0 {
				v = strings.TrimSpace(v[:i])
			}
			v = strings.Trim(v, `"'`)
			if v == "" {
				continue
			}
			found++
			if !known[v] {
				t.Errorf("%s:%d: version %q is not in corpusSorted or corpusSelectors", path, n, v)
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 100 {
		t.Errorf("found only %d version: lines under %s", found, root)
	}
}

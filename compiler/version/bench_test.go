package version

import "testing"

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(corpusSorted[i%len(corpusSorted)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	vs := make([]Version, len(corpusSorted))
	for i, s := range corpusSorted {
		vs[i] = mustParse(b, s)
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		n += Compare(vs[i%len(vs)], vs[(i*7+3)%len(vs)])
	}
	_ = n
}

func BenchmarkCompareStrings(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		n += CompareStrings(corpusSorted[i%len(corpusSorted)], corpusSorted[(i*7+3)%len(corpusSorted)])
	}
	_ = n
}

func BenchmarkSelectorMatch(b *testing.B) {
	sels := make([]Selector, 0, len(corpusSelectors)+1)
	for _, s := range append([]string{">=1.0 <2.0 !=1.5"}, corpusSelectors...) {
		sel, err := ParseSelector(s)
		if err != nil {
			b.Fatal(err)
		}
		sels = append(sels, sel)
	}
	vs := make([]Version, len(corpusSorted))
	for i, s := range corpusSorted {
		vs[i] = mustParse(b, s)
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		if sels[i%len(sels)].Match(vs[i%len(vs)]) {
			n++
		}
	}
	_ = n
}

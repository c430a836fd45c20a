package diag

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPosAndError(t *testing.T) {
	for _, tc := range []struct {
		d    Diagnostic
		want string
	}{
		{Diagnostic{Msg: "m"}, "m"},
		{Diagnostic{Pos: Pos{File: "f"}, Msg: "m"}, "f: m"},
		{Diagnostic{Pos: Pos{File: "f", Line: 3}, Msg: "m"}, "f:3: m"},
		{Diagnostic{Pos: Pos{File: "f", Line: 3, Col: 7}, Severity: Warning, Msg: "m", Detail: "\tx"}, "f:3:7: warning: m\n\tx"},
	} {
		if got := tc.d.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestListSortErr(t *testing.T) {
	var l List
	l.Warnf(Pos{File: "b", Line: 1}, "w")
	l.Errorf(Pos{File: "b", Line: 1}, "e")
	l.Errorf(Pos{File: "a", Line: 9}, "e2")
	l.Errorf(Pos{File: "a", Line: 9}, "e2") // the same defect twice
	l.Sort()
	var got []string
	for _, d := range l {
		got = append(got, d.Error())
	}
	if diff := cmp.Diff([]string{"a:9: e2", "b:1: e", "b:1: warning: w"}, got); diff != "" {
		t.Errorf("sorted (-want +got):\n%s", diff)
	}
	if err := l.Err(); err == nil || strings.Contains(err.Error(), "warning") {
		t.Errorf("Err keeps the errors only: %v", err)
	}
	var w List
	w.Warnf(Pos{}, "w")
	if w.Err() != nil || w.HasErrors() {
		t.Error("warnings made an error")
	}
	if got, ok := AsList(l.Err()); !ok || len(got) != 2 {
		t.Errorf("AsList: %v %v", got, ok)
	}
}

func TestExcerpt(t *testing.T) {
	src := []byte("a: 1\n\tb: {{ x }}\n")
	if got, want := Excerpt(src, 2, 5), "\t\tb: {{ x }}\n\t\t   ^"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if Excerpt(src, 9, 1) != "" || Excerpt(src, 0, 1) != "" {
		t.Error("an excerpt of a line that is not there")
	}
}

func TestInvalidUTF8(t *testing.T) {
	if d := InvalidUTF8("f", []byte("ok: é\n")); d != nil {
		t.Errorf("valid UTF-8 reported: %v", d)
	}
	d := InvalidUTF8("f", []byte("a: 1\nb: é\xff\n"))
	if d == nil || d.Pos != (Pos{File: "f", Line: 2, Col: 5}) {
		t.Errorf("got %v", d)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"requries", "requires", 3, 2},
		{"same", "same", 1, 0},
		{"system/coss", "system/cos", 2, 1},
		{"abc", "xyzxyz", 2, 3}, // past the limit: limit+1
	} {
		if got := EditDistance(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("EditDistance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
	}
}

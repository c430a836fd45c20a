package values

import (
	"errors"
	"strings"
	"testing"

	"github.com/etk-build/etk/compiler/diag"
	"github.com/google/go-cmp/cmp"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"# nothing\n",
		"~\n",
		"a: 1\nb: [x, y]\nc: {d: e}\n",
		"a: [unclosed\n",
		"- a\n- b\n",
		"scalar",
		"1: int key\ntrue: bool key\n? [complex]\n: v\n",
		"a: &x {b: 1}\nc: *x\nd: {<<: *x, e: 2}\n",
		"a: &a [*a]\n",
		"a: *undefined\n",
		"a: 1\na: 2\n",
		"\x00binary",
		"\ta: 1\n",
		"a: !!binary aGVsbG8=\nb: !!timestamp 2001-12-14\nc: !custom x\n",
		"---\na: 1\n---\nb: 2\n",
		"a0: &a0 [x, x, x, x, x, x, x, x, x]\na1: &a1 [*a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0, *a0]\na2: &a2 [*a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1, *a1]\na3: &a3 [*a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2, *a2]\na4: &a4 [*a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3, *a3]\na5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\na6: &a6 [*a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5, *a5]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		v, err := Parse("values.yaml", src)
		if err != nil {
			var d *diag.Diagnostic
			if !errors.As(err, &d) {
				t.Fatalf("error %T %v is not a diagnostic", err, err)
			}
			if d.Pos.File != "values.yaml" || (len(src) > 0 && d.Pos.Line <= 0) {
				t.Fatalf("error %q is not positioned, for %q", d.Error(), src)
			}
			return
		}
		if v == nil {
			t.Fatalf("nil values without an error, for %q", src)
		}
		// Merging the parsed values must not trip over their shapes.
		Merge(v, v)
	})
}

func FuzzParseSet(f *testing.F) {
	for _, s := range []string{
		"a=1", "a.b.c=true", "a=", "=x", "a..b=1", "noequals", "a=[1, 2]", "a={b: c}",
		`a="quoted"`, "a='1'", "a=b=c", "a.=1", ".a=1", "a=: x", "a=[", "a=&x [*x]", "a=\x00",
	} {
		f.Add(s, "a.b=2")
	}
	f.Fuzz(func(t *testing.T, e1, e2 string) {
		v, err := ParseSet([]string{e1, e2})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--set ") {
				t.Fatalf("error %q does not name --set", err)
			}
			return
		}
		if v == nil {
			t.Fatal("nil values without an error")
		}
	})
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name   string
		layers []Values
		want   Values
	}{{
		name: "none",
		want: Values{},
	}, {
		name:   "later wins",
		layers: []Values{{"a": 1, "b": "x"}, {"a": 2}, {"a": 3, "c": true}},
		want:   Values{"a": 3, "b": "x", "c": true},
	}, {
		name: "maps merge deeply",
		layers: []Values{
			{"m": map[string]any{"a": 1, "n": map[string]any{"x": 1, "y": 2}}},
			{"m": map[string]any{"b": 2, "n": map[string]any{"y": 3}}},
		},
		want: Values{"m": map[string]any{"a": 1, "b": 2, "n": map[string]any{"x": 1, "y": 3}}},
	}, {
		name:   "lists are replaced",
		layers: []Values{{"l": []any{1, 2, 3}}, {"l": []any{4}}},
		want:   Values{"l": []any{4}},
	}, {
		name:   "a scalar replaces a map and a map a scalar",
		layers: []Values{{"a": map[string]any{"x": 1}, "b": "s"}, {"a": "s", "b": map[string]any{"y": 2}}},
		want:   Values{"a": "s", "b": map[string]any{"y": 2}},
	}, {
		name:   "nil is a value",
		layers: []Values{{"a": 1}, {"a": nil}},
		want:   Values{"a": nil},
	}, {
		name:   "nil layer",
		layers: []Values{nil, {"a": 1}, nil},
		want:   Values{"a": 1},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := deepCopy(tc.layers)
			got := Merge(tc.layers...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Merge (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.layers); diff != "" {
				t.Errorf("Merge modified its inputs (-before +after):\n%s", diff)
			}
			// Nor may changing the result reach the inputs.
			mutate(got)
			if diff := cmp.Diff(before, tc.layers); diff != "" {
				t.Errorf("the result shares maps with the inputs (-before +after):\n%s", diff)
			}
		})
	}
}

func deepCopy(layers []Values) []Values {
	var out []Values
	for _, l := range layers {
		if l == nil {
			out = append(out, nil)
			continue
		}
		out = append(out, copyValue(l).(map[string]any))
	}
	return out
}

func copyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = copyValue(e)
		}
		return l
	}
	return v
}

func mutate(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			mutate(sub)
		}
		m[k+"-added"] = true
	}
}

func TestParseSet(t *testing.T) {
	tests := []struct {
		exprs   []string
		want    Values
		wantErr string
	}{
		{exprs: []string{"a=1"}, want: Values{"a": 1}},
		{exprs: []string{"a.b.c=x"}, want: Values{"a": map[string]any{"b": map[string]any{"c": "x"}}}},
		{exprs: []string{"a.b=1", "a.c=2", "a.b=3"}, want: Values{"a": map[string]any{"b": 3, "c": 2}}},
		{exprs: []string{"a=1", "a.b=2"}, want: Values{"a": map[string]any{"b": 2}}},
		{exprs: []string{"t=true", "f=false", "n=null", "x=1.5", "e="}, want: Values{"t": true, "f": false, "n": nil, "x": 1.5, "e": ""}},
		{exprs: []string{"l=[1, b]", "m={k: v}"}, want: Values{"l": []any{1, "b"}, "m": map[string]any{"k": "v"}}},
		{exprs: []string{`q="1"`, "s='true'", `v="1.10"`}, want: Values{"q": "1", "s": "true", "v": "1.10"}},
		{exprs: []string{"v=1.10"}, want: Values{"v": 1.1}},
		{exprs: []string{"a=b=c"}, want: Values{"a": "b=c"}},
		{exprs: []string{"a=[unclosed"}, want: Values{"a": "[unclosed"}},
		{exprs: []string{"a=x: y: z"}, want: Values{"a": "x: y: z"}},
		{exprs: []string{"=x"}, wantErr: `--set "=x": want key=value`},
		{exprs: []string{"noequals"}, wantErr: `--set "noequals": want key=value`},
		{exprs: []string{"a..b=1"}, wantErr: `--set "a..b=1": empty key segment`},
		{exprs: []string{"a.=1"}, wantErr: `--set "a.=1": empty key segment`},
		{exprs: []string{".a=1"}, wantErr: `--set ".a=1": empty key segment`},
		{exprs: nil, want: Values{}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.exprs, ","), func(t *testing.T) {
			got, err := ParseSet(tc.exprs)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("got %v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseSet (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"a: 1\nb: [unclosed\n", "values.yaml:2:1: invalid YAML: did not find expected ',' or ']'"},
		{"a: 1\nb: 2\n- x\n", "values.yaml:3:1: invalid YAML: did not find expected key"},
		{"a: 1\nb: 2\n  c: 3\n", "values.yaml:3:1: invalid YAML: mapping values are not allowed in this context"},
		{"a: 1\nb: &x [*x]\n", "values.yaml:1:1: invalid YAML: anchor 'x' value contains itself"},
		{"- a\n", "values.yaml:1:1: values must be a mapping"},
		{"a: 1\n\x00", "values.yaml:2: binary data (NUL byte) in a values file"},
		{"a: 1\nb: caf\xe9\n", "values.yaml:2:7: invalid UTF-8: byte 0xe9 (the file must be UTF-8)"},
		{"a: 1\n\tb: 2\n", "values.yaml:2:1: invalid YAML: found a tab character that violates indentation"},
	}
	for _, tc := range tests {
		_, err := Parse("values.yaml", []byte(tc.src))
		if err == nil {
			t.Errorf("%q: no error", tc.src)
			continue
		}
		if got, _, _ := strings.Cut(err.Error(), "\n"); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.src, got, tc.want)
		}
	}
	big := []byte("a: " + strings.Repeat("x", maxFileSize) + "\n")
	if _, err := Parse("values.yaml", big); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("huge file: got %v", err)
	}
}

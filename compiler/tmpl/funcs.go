package tmpl

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"go.yaml.in/yaml/v3"
)

// disabled lists sprig functions that would make rendering depend on the
// moment, randomness, the machine or the network, with the reason given
// when a spec calls one.
// The time functions are not among them: they read the engine's pinned
// clock (see timeFuncs).
var disabled = map[string]string{
	"randAlpha": "randomness", "randAlphaNum": "randomness", "randAscii": "randomness",
	"randNumeric": "randomness", "randBytes": "randomness", "randInt": "randomness",
	"uuidv4": "randomness", "shuffle": "randomness", "bcrypt": "randomness", "htpasswd": "randomness",
	"encryptAES": "randomness", "genPrivateKey": "randomness", "genCA": "randomness",
	"genCAWithKey": "randomness", "genSelfSignedCert": "randomness", "genSelfSignedCertWithKey": "randomness",
	"genSignedCert": "randomness", "genSignedCertWithKey": "randomness",
	"env": "the environment", "expandenv": "the environment",
	"getHostByName": "the network",
}

// baseFuncs is built once: sprig's map is rebuilt on every call.
var baseFuncs = func() template.FuncMap {
	m := sprig.TxtFuncMap()
	for name, why := range disabled {
		m[name] = disabledFunc(name, why)
	}
	m["toYaml"] = toYAML
	m["fromYaml"] = fromYAML
	m["toJson"] = toJSON
	m["fromJson"] = fromJSON
	m["fromYamlArray"] = fromYAMLArray
	m["fromJsonArray"] = fromJSONArray
	m["mustToYaml"] = toYAML
	// tpl is bound per namespace (see Engine.namespace).
	m["tpl"] = func(string, any) (string, error) { return "", nil }
	m["required"] = required
	for name, f := range timeFuncs(time.Unix(0, 0)) {
		m[name] = f
	}
	bounded(m)
	// include is bound per template (see Engine.Parse); this stub lets
	// shared templates parse before that.
	m["include"] = func(string, any) (string, error) { return "", nil }
	return m
}()

// maxItems bounds the lists until, untilStep and seq build: they are built
// whole before the output limit can see them.
const maxItems = 1 << 20

// bounded replaces sprig's functions that turn a number into a list or a
// string of that size with ones that refuse sizes past the limits before
// allocating: `until 100000000` would build an 800 MB list first, and
// sprig's untilStep loops forever when start+step overflows.
func bounded(m template.FuncMap) {
	m["untilStep"] = func(start, stop, step int) ([]int, error) {
		return untilStep("untilStep", start, stop, step)
	}
	m["until"] = func(count int) ([]int, error) {
		step := 1
		if count < 0 {
			step = -1
		}
		return untilStep("until", 0, count, step)
	}
	m["seq"] = seq
	m["repeat"] = func(count int, s string) (string, error) {
		if count < 0 {
			return "", fmt.Errorf("repeat: negative count %d", count)
		}
		if len(s) > 0 && count > maxOutput/len(s) {
			return "", fmt.Errorf("repeat: %d times %d bytes is more than the %d bytes allowed", count, len(s), maxOutput)
		}
		return strings.Repeat(s, count), nil
	}
	indent := m["indent"].(func(int, string) string)
	m["indent"] = func(spaces int, s string) (string, error) {
		if err := checkIndent("indent", spaces, s); err != nil {
			return "", err
		}
		return indent(spaces, s), nil
	}
	nindent := m["nindent"].(func(int, string) string)
	m["nindent"] = func(spaces int, s string) (string, error) {
		if err := checkIndent("nindent", spaces, s); err != nil {
			return "", err
		}
		return nindent(spaces, s), nil
	}
}

// untilStep is sprig's untilStep (start, start+step, ... short of stop;
// empty when step points away from stop), refusing more than maxItems
// items and counting them up front, so that no sum overflows.
func untilStep(fn string, start, stop, step int) ([]int, error) {
	var diff, abs uint64
	switch {
	case step > 0 && stop > start:
		diff, abs = uint64(stop-start), uint64(step)
	case step < 0 && stop < start:
		diff, abs = uint64(start-stop), uint64(-step)
	default:
		return []int{}, nil
	}
	n := diff / abs
	if diff%abs != 0 {
		n++
	}
	if n > maxItems {
		return nil, fmt.Errorf("%s: %d items is more than the %d allowed", fn, n, maxItems)
	}
	out := make([]int, n)
	for i := range out {
		out[i] = start + i*step
	}
	return out, nil
}

// seq is sprig's seq (seq END, seq START END, seq START STEP END: the
// numbers from START to END inclusive, space-separated), bounded.
func seq(params ...int) (string, error) {
	start, step, end := 1, 1, 0
	switch len(params) {
	case 1:
		end = params[0]
	case 2:
		start, end = params[0], params[1]
	case 3:
		start, step, end = params[0], params[1], params[2]
	default:
		return "", nil
	}
	inc := 1
	if end < start {
		inc = -1
		if len(params) == 3 && step > 0 {
			return "", nil
		}
	}
	if len(params) < 3 {
		step = inc
	}
	stop := end + inc
	if (inc > 0 && stop < end) || (inc < 0 && stop > end) {
		return "", nil // end+inc overflows: sprig's loop finds nothing either
	}
	list, err := untilStep("seq", start, stop, step)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, v := range list {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(v))
	}
	return b.String(), nil
}

// checkIndent refuses an indent whose result would pass maxOutput.
func checkIndent(fn string, spaces int, s string) error {
	if spaces <= 0 {
		return nil
	}
	lines := strings.Count(s, "\n") + 1
	if spaces > maxOutput || lines > maxOutput/spaces || spaces*lines > maxOutput-len(s) {
		return fmt.Errorf("%s: %d spaces on %d lines is more than the %d bytes allowed", fn, spaces, lines, maxOutput)
	}
	return nil
}

func disabledFunc(name, why string) any {
	return func(...any) (string, error) {
		return "", fmt.Errorf("%s is disabled: its output depends on %s, and etk renders reproducibly", name, why)
	}
}

func toYAML(v any) (string, error) {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func fromYAML(s string) (map[string]any, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

func fromYAMLArray(s string) ([]any, error) {
	var a []any
	if err := yaml.Unmarshal([]byte(s), &a); err != nil {
		return nil, err
	}
	return a, nil
}

func fromJSONArray(s string) ([]any, error) {
	var a []any
	err := json.Unmarshal([]byte(s), &a)
	return a, err
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func fromJSON(s string) (map[string]any, error) {
	var m map[string]any
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}

func required(msg string, v any) (any, error) {
	if v == nil {
		return nil, fmt.Errorf("%s", msg)
	}
	if s, ok := v.(string); ok && s == "" {
		return nil, fmt.Errorf("%s", msg)
	}
	return v, nil
}

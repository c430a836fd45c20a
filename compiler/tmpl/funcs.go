package tmpl

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"go.yaml.in/yaml/v3"
)

// disabled lists sprig functions that would make rendering depend on the
// moment, randomness, the machine or the network, with the reason given
// when a spec calls one.
var disabled = map[string]string{
	"now": "time", "date": "time", "dateInZone": "time", "date_in_zone": "time",
	"dateModify": "time", "date_modify": "time", "mustDateModify": "time", "must_date_modify": "time",
	"ago": "time", "htmlDate": "time", "htmlDateInZone": "time", "unixEpoch": "time",
	"toDate": "time zone", "mustToDate": "time zone",
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
	m["required"] = required
	// include is bound per template (see Engine.Parse); this stub lets
	// shared templates parse before that.
	m["include"] = func(string, any) (string, error) { return "", nil }
	return m
}()

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

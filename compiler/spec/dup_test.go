package spec

import "testing"

func TestDuplicateKeys(t *testing.T) {
	_, diags := DecodeDefinition("d.yaml", []byte("name: a\nversion: 1\nname: b\n"))
	if len(diags) != 1 || diags[0].Error() != `d.yaml:3:1: key "name" is already defined at line 1` {
		t.Errorf("got %v", diags)
	}
	// Merged keys may be overridden: that is what merge keys are for.
	ps, diags := DecodeCollection("c.yaml", []byte("packages:\n- &a {name: a, version: 1}\n- <<: *a\n  name: b\n"))
	if len(diags) != 0 || len(ps) != 2 || ps[1].Name != "b" {
		t.Errorf("merge override: %v %v", ps, diags)
	}
}

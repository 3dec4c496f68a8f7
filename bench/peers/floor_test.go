package main

import (
	"testing"
)

// TestParsePieces checks that the floor parses the generated suites in
// pieces into the blocks a whole parse gives, at the same ranges.
func TestParsePieces(t *testing.T) {
	for name, src := range map[string]string{
		"plain":   plainSuite(2000),
		"foreach": forEachSuite(2000, "toset(local.ports)"),
	} {
		whole, diags := parseWhole([]byte(src), "bench.nettest.hcl")
		if diags.HasErrors() {
			t.Fatalf("%s: %s", name, diags.Error())
		}
		pieces, diags := parsePieces([]byte(src), "bench.nettest.hcl")
		if diags.HasErrors() {
			t.Fatalf("%s in pieces: %s", name, diags.Error())
		}
		if len(pieces) != len(whole) {
			t.Fatalf("%s: %d blocks in pieces, %d whole", name, len(pieces), len(whole))
		}
		for i := range whole {
			if w, p := whole[i].Range(), pieces[i].Range(); w != p {
				t.Errorf("%s: block %d at %v in pieces, %v whole", name, i, p, w)
			}
		}
	}
}

package schema_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nettest/nettest/schema"
)

// TestFromWhere: `from` in defaults applies to every check that sets none;
// a check's own from wins, vantage.here (null) included; vantage[each.key]
// picks per key; relative key paths are the suite file's.
func TestFromWhere(t *testing.T) {
	dir := t.TempDir()
	src := `
vantage "blue" {
  netns = "blue"
}

vantage "bastion" {
  ssh {
    host             = "198.18.1.2"
    user             = "ci"
    private_key_file = "keys/id"
  }
}

defaults {
  from = vantage.blue
}

tcp "inherits" {
  host = "127.0.0.1"
  port = 1
  expect {
    open = false
  }
}

tcp "here" {
  from = vantage.here
  host = "127.0.0.1"
  port = 1
  expect {
    open = false
  }
}

tcp "matrix" {
  for_each = { here = false, bastion = true, blue = false }
  from     = vantage[each.key]
  host     = "127.0.0.1"
  port     = 1
  expect {
    open = each.value
  }
}
`
	file := filepath.Join(dir, "v.nettest.hcl")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	suite, diags := schema.Load([]string{file}, schema.Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := map[string]string{
		"tcp.inherits": "blue", "tcp.here": "",
		`tcp.matrix["here"]`: "", `tcp.matrix["bastion"]`: "bastion", `tcp.matrix["blue"]`: "blue",
	}
	for _, i := range suite.Instances {
		if i.Vantage != want[i.Address] {
			t.Errorf("%s runs from %q, want %q", i.Address, i.Vantage, want[i.Address])
		}
	}
	if len(suite.Instances) != len(want) {
		t.Errorf("%d instances, want %d", len(suite.Instances), len(want))
	}
	if got, wantKey := suite.Vantages["bastion"].SSH.PrivateKeyFile, filepath.Join(dir, "keys/id"); got != wantKey {
		t.Errorf("private_key_file %q, want %q (relative to the suite file)", got, wantKey)
	}
	if got := suite.Vantages["bastion"].SSH.Port; got != 22 {
		t.Errorf("port %d, want the default 22", got)
	}
}

package sysctl_test

import (
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/runner"
)

// TestSuite runs sysctl blocks as users write them, through the loader and
// the runner, against the machine's own kernel (reading only).
func TestSuite(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/file-max")
	if err != nil {
		t.Skip("no /proc/sys/fs/file-max:", err)
	}
	fileMax, ok := new(big.Int).SetString(strings.TrimSpace(string(b)), 10)
	if !ok {
		t.Skip("fs.file-max is not a number here")
	}
	above := new(big.Int).Add(fileMax, big.NewInt(1))
	src := fmt.Sprintf(`
sysctl "file_max" {
  key = "fs.file-max"
  expect {
    min = %[1]s
  }
}

sysctl "file_max_too_low" {
  key = "fs/file-max"
  expect {
    min = %[2]s
  }
}

sysctl "port_range" {
  key = "net.ipv4.ip_local_port_range"
  assert {
    condition     = self.numbers[0] >= 1024 && self.numbers[1] <= 65535 && self.number == null
    error_message = "ephemeral ports must stay above 1023"
  }
}

sysctl "ostype" {
  key = "kernel.ostype"
  expect {
    value = "Linux"
  }
}

sysctl "missing" {
  key = "fs.foo"
  expect {
    value = "1"
  }
}
`, fileMax, above)
	checktest.Expect(t, checktest.Run(t, src), []checktest.Want{
		{Address: "sysctl.file_max", Status: runner.Pass},
		{Address: "sysctl.file_max_too_low", Status: runner.Fail,
			Diffs: []checks.Diff{{Field: "value", Expected: "at least " + above.String(), Actual: fileMax.String()}}},
		{Address: "sysctl.port_range", Status: runner.Pass},
		{Address: "sysctl.ostype", Status: runner.Pass},
		{Address: "sysctl.missing", Status: runner.Error, Message: "no sysctl fs.foo: /proc/sys/fs/foo does not exist"},
	})
}

// TestInvalidKey: a key that could leave /proc/sys is refused before
// anything runs (testdata/invalid).
func TestInvalidKey(t *testing.T) {
	checktest.Fixtures(t, "testdata/invalid/*.nettest.hcl")
}

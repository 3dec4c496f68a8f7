package sysctl

import (
	"context"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/kindtest"
	"github.com/zclconf/go-cty/cty"
)

func TestPath(t *testing.T) {
	tests := []struct {
		key, path, err string
	}{
		{key: "net.core.somaxconn", path: "/proc/sys/net/core/somaxconn"},
		{key: "net/core/somaxconn", path: "/proc/sys/net/core/somaxconn"},
		{key: "fs.file-max", path: "/proc/sys/fs/file-max"},
		// A slash in a dotted key is a dot in a name, and the other way round.
		{key: "net.ipv4.conf.eth0/100.rp_filter", path: "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"},
		{key: "net/ipv4/conf/eth0.100/rp_filter", path: "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"},
		{key: "kernel", path: "/proc/sys/kernel"},
		{key: "", err: "the key is empty"},
		{key: "/proc/sys/fs/file-max", err: "is absolute"},
		{key: "net..core", err: `empty, "." or ".." component`},
		{key: "net/../../etc/passwd", err: `empty, "." or ".." component`},
		{key: "fs.", err: `empty, "." or ".." component`},
		{key: "net.core.somaxconn ", err: "whitespace"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			path, err := Path(tt.key)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Path(%q) = %q, %v; want an error containing %q", tt.key, path, err, tt.err)
				}
				return
			}
			if err != nil || path != tt.path {
				t.Fatalf("Path(%q) = %q, %v; want %q", tt.key, path, err, tt.path)
			}
		})
	}
}

// raw reads a parameter the plain way, for comparison with what the probe saw.
func raw(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("this kernel has no %s: %v", path, err)
	}
	return string(b)
}

func TestProbeReadsTheKernel(t *testing.T) {
	fileMax := strings.TrimSpace(raw(t, "/proc/sys/fs/file-max"))
	portRange := raw(t, "/proc/sys/net/ipv4/ip_local_port_range")
	lo, hi, _ := strings.Cut(strings.TrimSpace(portRange), "\t")

	tests := []struct {
		key     string
		value   string
		number  string // "" for null
		numbers []string
	}{
		{key: "kernel.ostype", value: "Linux"},
		{key: "fs.file-max", value: fileMax, number: fileMax, numbers: []string{fileMax}},
		{key: "fs/file-max", value: fileMax, number: fileMax, numbers: []string{fileMax}},
		// The kernel separates the two numbers with a tab.
		{key: "net.ipv4.ip_local_port_range", value: lo + " " + hi, numbers: []string{lo, hi}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			r, err := Probe(context.Background(), Config{Key: tt.key})
			if err != nil {
				t.Fatal(err)
			}
			obj := r.Object()
			if got := obj.GetAttr("value").AsString(); got != tt.value {
				t.Errorf("value = %q, want %q", got, tt.value)
			}
			number := obj.GetAttr("number")
			switch {
			case tt.number == "" && !number.IsNull():
				t.Errorf("number = %s, want null", checks.Show(number))
			case tt.number != "" && checks.Show(number) != tt.number:
				t.Errorf("number = %s, want %s", checks.Show(number), tt.number)
			}
			var got []string
			for _, n := range obj.GetAttr("numbers").AsValueSlice() {
				got = append(got, checks.Show(n))
			}
			if strings.Join(got, " ") != strings.Join(tt.numbers, " ") {
				t.Errorf("numbers = %v, want %v", got, tt.numbers)
			}
			if !obj.Type().Equals(resultType) {
				t.Errorf("result type %#v differs from the declared %#v", obj.Type(), resultType)
			}
		})
	}
}

// TestHugeNumber checks that a value above 2^63 stays exact: kernel.shmall
// defaults to 18446744073692774399 on 64-bit kernels.
func TestHugeNumber(t *testing.T) {
	r := Result{Value: "18446744073692774399", Numbers: numbers("18446744073692774399")}
	if got := checks.Show(r.Object().GetAttr("number")); got != "18446744073692774399" {
		t.Fatalf("number = %s", got)
	}
}

func TestProbeErrors(t *testing.T) {
	tests := []struct {
		key, err string
	}{
		{key: "fs.foo", err: "no sysctl fs.foo: /proc/sys/fs/foo does not exist"},
		{key: "nosuch.subsystem.key", err: "no sysctl nosuch.subsystem.key: /proc/sys/nosuch/subsystem/key does not exist (nor does /proc/sys/nosuch)"},
		{key: "net.core", err: "sysctl net.core is a group of parameters (/proc/sys/net/core is a directory)"},
	}
	if st, err := os.Stat("/proc/sys/net/ipv4/route/flush"); err == nil && st.Mode().Perm()&0o444 == 0 {
		tests = append(tests, struct{ key, err string }{
			key: "net.ipv4.route.flush", err: "sysctl net.ipv4.route.flush cannot be read: /proc/sys/net/ipv4/route/flush is write-only",
		})
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := Probe(context.Background(), Config{Key: tt.key})
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("error = %v, want one starting %q", err, tt.err)
			}
		})
	}
}

func TestExpectations(t *testing.T) {
	fileMax, ok := new(big.Int).SetString(strings.TrimSpace(raw(t, "/proc/sys/fs/file-max")), 10)
	if !ok {
		t.Skip("fs.file-max is not a number here")
	}
	above := new(big.Int).Add(fileMax, big.NewInt(1))
	num := func(i *big.Int) cty.Value { return cty.NumberVal(new(big.Float).SetInt(i)) }
	portRange := strings.Join(strings.Fields(raw(t, "/proc/sys/net/ipv4/ip_local_port_range")), " ")

	tests := []struct {
		name   string
		key    string
		expect map[string]cty.Value
		diffs  []checks.Diff
	}{
		{name: "min met", key: "fs.file-max", expect: map[string]cty.Value{"min": num(fileMax)}},
		{name: "max met", key: "fs.file-max", expect: map[string]cty.Value{"max": num(fileMax)}},
		{name: "exact value met", key: "fs.file-max", expect: map[string]cty.Value{"value": cty.StringVal(fileMax.String())}},
		{name: "min missed", key: "fs.file-max", expect: map[string]cty.Value{"min": num(above)},
			diffs: []checks.Diff{{Field: "value", Expected: "at least " + above.String(), Actual: fileMax.String()}}},
		{name: "value missed", key: "kernel.ostype", expect: map[string]cty.Value{"value": cty.StringVal("FreeBSD")},
			diffs: []checks.Diff{{Field: "value", Expected: `"FreeBSD"`, Actual: `"Linux"`}}},
		// Tabs and doubled spaces in the expected value do not matter.
		{name: "value with other whitespace", key: "net.ipv4.ip_local_port_range",
			expect: map[string]cty.Value{"value": cty.StringVal(" " + strings.ReplaceAll(portRange, " ", "\t  ") + "\n")}},
		{name: "min on several numbers", key: "net.ipv4.ip_local_port_range", expect: map[string]cty.Value{"min": cty.NumberIntVal(1024)},
			diffs: []checks.Diff{{Field: "value", Expected: "at least 1024",
				Actual: `"` + portRange + `" (several numbers: compare one in an assert, such as self.numbers[0])`}}},
		{name: "max on text", key: "kernel.ostype", expect: map[string]cty.Value{"max": cty.NumberIntVal(1)},
			diffs: []checks.Diff{{Field: "value", Expected: "at most 1", Actual: `"Linux" (not a number)`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Probe(context.Background(), Config{Key: tt.key})
			if err != nil {
				t.Fatal(err)
			}
			diffs := kindtest.Verdict(t, "sysctl", r.Object(), tt.expect)
			if len(diffs) != len(tt.diffs) {
				t.Fatalf("diffs = %+v, want %+v", diffs, tt.diffs)
			}
			for i := range diffs {
				if diffs[i] != tt.diffs[i] {
					t.Errorf("diff = %+v, want %+v", diffs[i], tt.diffs[i])
				}
			}
		})
	}
}

// TestKindProbe goes through the registered ProbeFunc, as the runner does.
func TestKindProbe(t *testing.T) {
	kind, _ := checks.Lookup("sysctl")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := kind.Probe.Call(ctx, cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal("kernel.ostype")}))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Type().Equals(kind.Result) || v.GetAttr("value").AsString() != "Linux" {
		t.Fatalf("probe returned %s", checks.Show(v))
	}
	if err := kind.Args[0].Validate(cty.StringVal("net..core")); err == nil {
		t.Fatal(`key "net..core" passed validation`)
	}
}

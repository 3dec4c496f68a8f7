package schema_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettest/nettest/schema"
)

// BenchmarkLoad loads a suite of 10,000 plain tcp checks in one file, the
// shape of bench/tcp's and bench/peers' suites: what `nettest validate`
// costs before the plan. Allocations per op are the figure to watch (wall
// time depends on the cores free): 194 MB and 1,406k allocations before the
// plain parse, the early decode and the literal fast paths, 72 MB and
// 552k after (BenchmarkParse shows the parse's share). See bench/README.md.
//
//	go test ./schema -run '^$' -bench Load -benchmem
func BenchmarkLoad(b *testing.B) {
	file := writeBenchSuite(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := schema.Load([]string{file}, schema.Options{}); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

func writeBenchSuite(b *testing.B, n int) string {
	var src strings.Builder
	src.WriteString("defaults {\n  timeout = \"5s\"\n}\n\n")
	for i := range n {
		fmt.Fprintf(&src, "tcp \"c%d\" {\n  host = \"127.0.0.1\"\n  port = %d\n  expect {\n    open = %t\n  }\n}\n\n", i, 1+i%60000, i%2 == 0)
	}
	file := filepath.Join(b.TempDir(), "bench"+schema.FileSuffix)
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return file
}

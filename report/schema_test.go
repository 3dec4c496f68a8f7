package report_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/report"
	"github.com/nettest/nettest/runner"
)

// The schema validation lives in this external test package because the
// lab decodes reports with this package: the package's own tests cannot
// import the lab without a cycle.

// TestJUnitSchema validates the JUnit golden files, which TestJUnit proves
// are what the report writes, against the strict schema.
func TestJUnitSchema(t *testing.T) {
	files, err := filepath.Glob("testdata/junit*.golden")
	if err != nil || len(files) < 3 {
		t.Fatalf("golden JUnit files: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			lab.ValidateJUnit(t, f)
		})
	}
}

// TestJUnitSchemaBigMessage validates a report whose message was cut.
func TestJUnitSchemaBigMessage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.xml")
	r := report.NewJUnit(path)
	r.Begin(1)
	r.Finished(runner.Outcome{Address: "http.big", Kind: "http", File: "a.nettest.hcl", Line: 1, Status: runner.Error,
		Message: strings.Repeat("<b>x</b>&", 1<<20/9+1)})
	if err := r.End(runner.Summary{Errored: 1}); err != nil {
		t.Fatal(err)
	}
	lab.ValidateJUnit(t, path)
}

package lab

import (
	"os"
	"os/exec"
	"testing"
)

// JUnitSchemaEnv names the environment variable that gives the path of the
// strict JUnit schema (junit-10.xsd, the one Jenkins' xunit plugin reads).
// The schema is not part of the repository, so a clone has it only when
// someone provides it: CI (.ci/run) sets it; a user's `go test ./...` skips
// the schema validation and says why.
const JUnitSchemaEnv = "NETTEST_JUNIT_XSD"

// ValidateJUnit validates the JUnit file at path against the schema named by
// NETTEST_JUNIT_XSD with xmllint. Call it last in a test: when the variable
// is unset it skips the rest of the test with a reason naming the variable,
// and NETTEST_REQUIRE_ROOT does not make that skip a failure (the schema is
// an input, not something root or a package provides). A variable naming a
// file that does not exist fails the test, and a missing xmllint skips (or
// fails under NETTEST_REQUIRE_ROOT=1) naming its Debian package.
func ValidateJUnit(t testing.TB, path string) {
	t.Helper()
	xsd := os.Getenv(JUnitSchemaEnv)
	if xsd == "" {
		t.Skipf("%s is not set, so the JUnit report is not validated against the schema: set it to the path of junit-10.xsd (CI sets ../shared/junit-10.xsd)", JUnitSchemaEnv)
	}
	if _, err := os.Stat(xsd); err != nil {
		t.Fatalf("%s=%s: %v", JUnitSchemaEnv, xsd, err)
	}
	xmllint := RequireBinary(t, "xmllint", "libxml2-utils")
	if out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput(); err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("the JUnit report does not validate against %s: %v\n%s\n%.4000s", xsd, err, out, data)
	}
}

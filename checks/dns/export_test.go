package dns

import "testing"

// StartZone and Dropper let the suite tests (package dns_test, which goes
// through the loader and so must import the kind from outside) start the
// same servers as the probe tests.
var (
	StartZone = func(t testing.TB) string { _, addr := startZone(t); return addr }
	Dropper   = dropper
)

// Serve starts a handler on loopback for the benchmarks of package dns_test.
var Serve = serve

// Package examples holds the example suites users can copy, and embeds the
// quickstart so that `nettest demo` can run it on a machine with nothing
// but the binary.
package examples

import "embed"

// Quickstart is the quickstart suite, run by `nettest demo`.
//
//go:embed quickstart/*.nettest.hcl
var Quickstart embed.FS

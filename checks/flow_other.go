//go:build !linux

package checks

import "syscall"

// bindAnyPort leaves the socket alone where flows are not captured.
func bindAnyPort(syscall.RawConn) uint16 { return 0 }

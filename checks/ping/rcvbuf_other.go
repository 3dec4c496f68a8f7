//go:build !linux

package ping

import "net"

// growReadBuffer asks for a receive buffer of n bytes, as far as the
// system allows.
func growReadBuffer(c *net.IPConn, n int) {
	c.SetReadBuffer(n)
}

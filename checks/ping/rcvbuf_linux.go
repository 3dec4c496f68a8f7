package ping

import (
	"net"
	"syscall"
)

// growReadBuffer asks for a receive buffer of n bytes. SO_RCVBUFFORCE goes
// past net.core.rmem_max (208 KiB on most systems) but needs CAP_NET_ADMIN,
// which root has; without it SO_RCVBUF gets as much as rmem_max allows.
func growReadBuffer(c *net.IPConn, n int) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	var forced error
	rc.Control(func(fd uintptr) {
		forced = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
	})
	if forced != nil {
		c.SetReadBuffer(n)
	}
}

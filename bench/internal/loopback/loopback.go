// Package loopback makes the TCP targets the benchmarks dial: ports on
// 127.0.0.1 that are open (a listener accepts and closes at once) and ports
// that are closed (a SYN gets a reset).
package loopback

import (
	"fmt"
	"net"
)

// OpenPorts starts k listeners that accept and close at once, so the listen
// backlog never fills however fast the checks come. They live as long as
// the process.
func OpenPorts(k int) ([]int, error) {
	ports := make([]int, k)
	for i := range ports {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listening: %v (raise ulimit -n?)", err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// ClosedPorts returns k ports that were listened on and closed: nothing
// listens there, so a SYN gets a reset. (Another program may take one
// later; the benchmarks report such a port as unexpected.)
func ClosedPorts(k int) ([]int, error) {
	lns := make([]net.Listener, k)
	ports := make([]int, k)
	for i := range lns {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listening: %v", err)
		}
		lns[i], ports[i] = ln, ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports, nil
}

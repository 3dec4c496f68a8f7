// Package loopback makes the TCP targets the benchmarks dial: ports on
// 127.0.0.1 that are open (a listener accepts and closes at once) and ports
// that are closed (a SYN gets a reset).
package loopback

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
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

// ClosedPorts returns k ports on 127.0.0.1 that nothing listens on, so a
// SYN gets a reset. They are taken below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range): the kernel hands ports of that range to
// every program that listens on port 0, as tests do by the hundred, so a
// "closed" port there is open now and then, more often the busier the
// machine. (A dial of 127.0.0.1:P from source port P, which connects to
// itself, Go's dialer detects and retries.) Below the range a port is
// only taken by a program that binds it by number. (One may still do so
// later; the benchmarks report such a port as unexpected.)
func ClosedPorts(k int) ([]int, error) {
	low := ephemeralLow()
	ports := make([]int, 0, k)
	for p := low - 1; p >= 1024 && len(ports) < k; p-- {
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue // taken
		}
		ln.Close()
		ports = append(ports, p)
	}
	if len(ports) < k {
		return nil, fmt.Errorf("only %d free ports below the ephemeral range (from %d), %d wanted", len(ports), low, k)
	}
	return ports, nil
}

// ephemeralLow is the first port of the kernel's ephemeral range, or
// Linux's default when it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 1024 {
				return n
			}
		}
	}
	return 32768
}

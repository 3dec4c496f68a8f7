package checks

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// bindAnyPort binds a socket that is about to connect to a free port of the
// kernel's ephemeral range on the wildcard address, and returns that port
// (0 when no port was free after a few tries, leaving the socket as it was,
// to connect from a port of the kernel's choosing).
//
// It picks ports itself rather than binding to port 0: the kernel answers
// that by scanning the range for a port no socket holds, which with
// thousands of connections in TIME_WAIT (a large suite) costs more than
// the check. A port tried is one look-up.
func bindAnyPort(c syscall.RawConn) uint16 {
	lo, hi := ephemeralRange()
	var port uint16
	c.Control(func(fd uintptr) {
		sa, err := unix.Getsockname(int(fd))
		if err != nil {
			return
		}
		for range 8 {
			p := lo + rand.IntN(hi-lo+1)
			switch sa.(type) {
			case *unix.SockaddrInet4:
				err = unix.Bind(int(fd), &unix.SockaddrInet4{Port: p})
			case *unix.SockaddrInet6:
				err = unix.Bind(int(fd), &unix.SockaddrInet6{Port: p})
			default:
				return
			}
			if err == nil {
				port = uint16(p)
				return
			}
		}
	})
	return port
}

var (
	rangeOnce        sync.Once
	rangeLo, rangeHi = 32768, 60999 // Linux's default
)

// ephemeralRange is net.ipv4.ip_local_port_range, which applies to IPv6
// too.
func ephemeralRange() (int, int) {
	rangeOnce.Do(func() {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
		if err != nil {
			return
		}
		f := strings.Fields(string(b))
		if len(f) != 2 {
			return
		}
		lo, err1 := strconv.Atoi(f[0])
		hi, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil && 0 < lo && lo <= hi && hi < 65536 {
			rangeLo, rangeHi = lo, hi
		}
	})
	return rangeLo, rangeHi
}

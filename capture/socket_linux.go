package capture

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
	"unsafe"

	"github.com/nettest/nettest/checks"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// socket is one AF_PACKET socket that the kernel feeds with the packets of
// one flow, on every interface. The packets wait in its receive buffer until
// drain reads them, at the end of the attempt: no goroutine per socket, and
// the kernel timestamps each packet as it passes.
type socket struct {
	fd int
}

// ethAll is ETH_P_ALL in network byte order, as bind wants it.
var ethAll = htons(unix.ETH_P_ALL)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openSocket returns a packet socket for f: an idle one given f's filter,
// or a new one. A new socket is created bound to no protocol, so it
// receives nothing until its filter is attached and it is bound to every
// protocol: no packet of another flow ever gets in.
func openSocket(f checks.Flow, loopback []int) (*socket, error) {
	raw, err := filterFor(f, loopback)
	if err != nil {
		return nil, err
	}
	if s := idle.take(); s != nil {
		if err := attach(s.fd, raw); err != nil {
			unix.Close(s.fd)
			return nil, err
		}
		return s, nil
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, permission(err)
	}
	s := &socket{fd: fd}
	if err := attach(fd, raw); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("capture: SO_TIMESTAMPNS: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: ethAll}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("capture: binding the packet socket: %w", err)
	}
	return s, nil
}

// idleSockets keeps the packet sockets of finished attempts for the next
// ones. Closing a packet socket waits for the kernel's RCU grace period (a
// millisecond or more), and opening one registers a hook every packet then
// passes: at thousands of checks, reusing them costs a filter swap instead.
// An idle socket holds a filter that takes nothing.
type idleSockets struct {
	mu  sync.Mutex
	fds []int
}

// maxIdle bounds the idle sockets; beyond it a socket is closed.
const maxIdle = 1024

var (
	idle    idleSockets
	dropAll []bpf.RawInstruction
)

func init() {
	var err error
	if dropAll, err = bpf.Assemble([]bpf.Instruction{bpf.RetConstant{Val: 0}}); err != nil {
		panic(err)
	}
}

func (i *idleSockets) take() *socket {
	i.mu.Lock()
	defer i.mu.Unlock()
	if n := len(i.fds); n > 0 {
		fd := i.fds[n-1]
		i.fds = i.fds[:n-1]
		return &socket{fd: fd}
	}
	return nil
}

// put makes s idle: its filter takes nothing from now on, and what it took
// before is thrown away (with the kernel's drop count, which reading
// resets).
func (i *idleSockets) put(s *socket) {
	if attach(s.fd, dropAll) != nil {
		unix.Close(s.fd)
		return
	}
	discard(s.fd)
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.fds) >= maxIdle {
		unix.Close(s.fd)
		return
	}
	i.fds = append(i.fds, s.fd)
}

// closeAll closes every idle socket.
func (i *idleSockets) closeAll() {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, fd := range i.fds {
		unix.Close(fd)
	}
	i.fds = nil
}

func discard(fd int) {
	var b [1]byte
	for range maxPacketsPerCheck {
		if _, _, err := unix.Recvfrom(fd, b[:], unix.MSG_TRUNC); err != nil {
			break
		}
	}
	unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
}

func attach(fd int, raw []bpf.RawInstruction) error {
	prog := unix.SockFprog{Len: uint16(len(raw)), Filter: (*unix.SockFilter)(unsafe.Pointer(&raw[0]))}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return fmt.Errorf("capture: attaching the packet filter: %w", err)
	}
	return nil
}

// permission turns the kernel's refusal of a packet socket into the
// sentence a user can act on.
func permission(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return &PermissionError{Err: err}
	}
	return fmt.Errorf("capture: opening a packet socket: %w", err)
}

// bufferPool holds the buffers drain reads into: one packet at a time,
// copied out at its own length.
var bufferPool = sync.Pool{New: func() any { b := make([]byte, snapLength); return &b }}

// drain reads every packet waiting in the socket, without blocking, and
// returns them with the number the kernel dropped because the buffer was
// full.
func (s *socket) drain() (pkts []packet, dropped int) {
	bp := bufferPool.Get().(*[]byte)
	defer bufferPool.Put(bp)
	buf := *bp
	oob := make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))
	for range maxPacketsPerCheck {
		n, oobn, _, from, err := unix.Recvmsg(s.fd, buf, oob, unix.MSG_TRUNC)
		if err != nil {
			break // EAGAIN: nothing more waiting
		}
		p := packet{length: n, at: time.Now()}
		if n > len(buf) {
			n = len(buf)
		}
		p.data = append([]byte(nil), buf[:n]...)
		if ll, ok := from.(*unix.SockaddrLinklayer); ok {
			p.iface = interfaceName(ll.Ifindex)
			p.outgoing = ll.Pkttype == packetOutgoing
			p.inbound = !p.outgoing
		}
		if at, ok := stamp(oob[:oobn]); ok {
			p.at = at
		}
		pkts = append(pkts, p)
	}
	if st, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		dropped = int(st.Drops)
	}
	return pkts, dropped
}

// close hands the socket back for reuse.
func (s *socket) close() {
	if s.fd >= 0 {
		idle.put(s)
		s.fd = -1
	}
}

// release closes the socket for good.
func (s *socket) release() {
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
}

// closeIdle closes the sockets kept for reuse.
func closeIdle() { idle.closeAll() }

// loopbackIndexes lists the loopback interfaces of this network namespace.
func loopbackIndexes() []int {
	ifs, err := net.Interfaces()
	if err != nil {
		return []int{1} // lo is 1 in every namespace Linux creates
	}
	var out []int
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			out = append(out, i.Index)
		}
	}
	return out
}

// Available reports whether this process may capture packets: a nil error,
// or a *PermissionError naming the capability to grant.
func Available() error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return permission(err)
	}
	unix.Close(fd)
	return nil
}

// enableTimestamps turns on the kernel's timestamping of every packet for
// as long as the returned socket is open. The kernel switches it on lazily,
// a moment after the first socket asks for timestamps (a deferred work
// item, later on a busy machine), and a packet that passed before has
// none: recvmsg then stamps it with the time it was read, which for a SYN
// of a check that waited its whole timeout is off by that timeout. So this
// asks, then sends itself datagrams on loopback until one comes back with
// the time it was sent rather than the time it was read (50 tries, a few
// milliseconds each).
func enableTimestamps() *socket {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return &socket{fd: -1}
	}
	s := &socket{fd: fd}
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) != nil ||
		unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}) != nil {
		return s
	}
	self, err := unix.Getsockname(fd)
	if err != nil {
		return s
	}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 100_000})
	buf, oob := make([]byte, 8), make([]byte, 64)
	for range 50 {
		sent := time.Now()
		if unix.Sendto(fd, []byte("ts"), 0, self) != nil {
			return s
		}
		time.Sleep(2 * time.Millisecond)
		_, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, 0)
		if err != nil {
			return s
		}
		if at, ok := stamp(oob[:oobn]); ok && at.Before(sent.Add(time.Millisecond)) {
			return s // stamped as it passed: timestamping is on
		}
	}
	return s
}

// stamp is the SO_TIMESTAMPNS time among control messages.
func stamp(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix()), true
		}
	}
	return time.Time{}, false
}

// waitSocket is a packet socket read as packets come, for a witness's
// watch: registered with Go's poller, so a read waits without a thread.
type waitSocket struct {
	f *os.File
}

// openWaitSocket opens a packet socket for f that is read as packets come.
func openWaitSocket(f checks.Flow, loopback []int) (*waitSocket, error) {
	s, err := openSocket(f, loopback)
	if err != nil {
		return nil, err
	}
	// The socket is non-blocking, so the file joins the poller.
	return &waitSocket{f: os.NewFile(uintptr(s.fd), "packet socket")}, nil
}

// next returns the next packet, waiting until ctx ends.
func (w *waitSocket) next(ctx context.Context) ([]byte, error) {
	buf := make([]byte, snapLength)
	// First what is waiting already: a read past its deadline would not
	// look.
	if rc, err := w.f.SyscallConn(); err == nil {
		n := -1
		rc.Control(func(fd uintptr) {
			if m, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT); err == nil {
				n = m
			}
		})
		if n >= 0 {
			return buf[:min(n, len(buf))], nil
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		w.f.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { w.f.SetReadDeadline(time.Now()) })
	defer stop()
	n, err := w.f.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func (w *waitSocket) close() { w.f.Close() }

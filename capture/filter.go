package capture

import (
	"encoding/binary"
	"fmt"

	"github.com/nettest/nettest/checks"
	"golang.org/x/net/bpf"
)

// Linux's packet types (sll_pkttype) and the EtherTypes the filter tests.
const (
	packetOutgoing = 4
	etherIPv4      = 0x0800
	etherIPv6      = 0x86dd
)

// IP protocol numbers.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// snapLength is the most of one packet kept. Loopback hands over segments
// of up to 64 KiB at once (offloads), so this keeps every byte of them.
const snapLength = 1 << 16

// protocolNumber is the IP protocol of a flow's protocol name.
func protocolNumber(name string, v6 bool) (uint32, error) {
	switch name {
	case "tcp":
		return protoTCP, nil
	case "udp":
		return protoUDP, nil
	case "icmp":
		if v6 {
			return protoICMPv6, nil
		}
		return protoICMP, nil
	}
	return 0, fmt.Errorf("capture: no filter for protocol %q", name)
}

// program is a classic BPF program under construction, with jumps to
// labels resolved when it is assembled.
type program struct {
	insns  []bpf.Instruction
	labels map[string]int
	jumps  []pendingJump
}

type pendingJump struct {
	at              int
	ifTrue, ifFalse string // "" for the next instruction
}

func (p *program) add(i ...bpf.Instruction) { p.insns = append(p.insns, i...) }

func (p *program) label(name string) { p.labels[name] = len(p.insns) }

// jump compares A with val and goes to ifTrue or ifFalse ("" is the next
// instruction).
func (p *program) jump(cond bpf.JumpTest, val uint32, ifTrue, ifFalse string) {
	p.jumps = append(p.jumps, pendingJump{at: len(p.insns), ifTrue: ifTrue, ifFalse: ifFalse})
	p.insns = append(p.insns, bpf.JumpIf{Cond: cond, Val: val})
}

// goTo jumps unconditionally.
func (p *program) goTo(label string) {
	p.jumps = append(p.jumps, pendingJump{at: len(p.insns), ifTrue: label})
	p.insns = append(p.insns, bpf.Jump{})
}

func (p *program) assemble() ([]bpf.RawInstruction, error) {
	skip := func(from int, label string) (uint32, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := p.labels[label]
		if !ok || to <= from {
			return 0, fmt.Errorf("capture: bad jump to %q", label)
		}
		return uint32(to - from - 1), nil
	}
	for _, j := range p.jumps {
		t, err := skip(j.at, j.ifTrue)
		if err != nil {
			return nil, err
		}
		switch in := p.insns[j.at].(type) {
		case bpf.Jump:
			in.Skip = t
			p.insns[j.at] = in
		case bpf.JumpIf:
			f, err := skip(j.at, j.ifFalse)
			if err != nil {
				return nil, err
			}
			if t > 255 || f > 255 {
				return nil, fmt.Errorf("capture: filter too long")
			}
			in.SkipTrue, in.SkipFalse = uint8(t), uint8(f)
			p.insns[j.at] = in
		}
	}
	return bpf.Assemble(p.insns)
}

// filterFor returns the kernel filter for a packet socket of type
// SOCK_DGRAM (the data starts at the IP header) that accepts the packets of
// flow f and nothing else: packets to the remote end (to its port, from the
// flow's local port when known), packets from it (the other way round), and
// ICMP errors — from anyone, such as a router — that quote a packet of the
// flow. loopback lists the indexes of loopback interfaces, where the kernel
// shows each packet twice (leaving and arriving): only the arriving copy is
// kept, as tcpdump does.
func filterFor(f checks.Flow, loopback []int) ([]bpf.RawInstruction, error) {
	addr := f.Remote.Addr()
	v6 := addr.Is6()
	proto, err := protocolNumber(f.Protocol, v6)
	if err != nil {
		return nil, err
	}
	hasPorts := proto == protoTCP || proto == protoUDP
	remote, local := uint32(f.Remote.Port()), uint32(f.LocalPort)
	p := &program{labels: map[string]int{}}

	// ports tests the transport header's source and destination ports,
	// found at off (from X when indirect), against src and dst (0: any),
	// and goes to ifTrue or ifFalse.
	ports := func(indirect bool, off, src, dst uint32, ifTrue, ifFalse string) {
		load := func(o uint32) bpf.Instruction {
			if indirect {
				return bpf.LoadIndirect{Off: o, Size: 2}
			}
			return bpf.LoadAbsolute{Off: o, Size: 2}
		}
		if !hasPorts || (src == 0 && dst == 0) {
			p.goTo(ifTrue)
			return
		}
		if dst != 0 {
			p.add(load(off + 2))
			if src == 0 {
				p.jump(bpf.JumpEqual, dst, ifTrue, ifFalse)
				return
			}
			p.jump(bpf.JumpEqual, dst, "", ifFalse)
		}
		p.add(load(off))
		p.jump(bpf.JumpEqual, src, ifTrue, ifFalse)
	}

	// The leaving copy of a loopback packet.
	p.add(bpf.LoadExtension{Num: bpf.ExtType})
	p.jump(bpf.JumpEqual, packetOutgoing, "", "start")
	p.add(bpf.LoadExtension{Num: bpf.ExtInterfaceIndex})
	for _, idx := range loopback {
		p.jump(bpf.JumpEqual, uint32(idx), "drop", "")
	}
	p.label("start")
	p.add(bpf.LoadExtension{Num: bpf.ExtProto})
	if v6 {
		ip := addr.As16()
		p.jump(bpf.JumpEqual, etherIPv6, "", "drop")
		// Extension headers are not followed: nettest's probes send none.
		p.add(bpf.LoadAbsolute{Off: 6, Size: 1})
		p.jump(bpf.JumpEqual, proto, "", "icmp")
		// To the remote end (destination address at 24). A packet from
		// Remote to itself (loopback) may be the answer: when the ports
		// say it is not the question, try the other way round.
		equal16(p, 24, ip, "", "incoming")
		ports(false, 40, local, remote, "accept", "incoming")
		// From the remote end (source address at 8).
		p.label("incoming")
		equal16(p, 8, ip, "", "drop")
		ports(false, 40, remote, local, "accept", "drop")
		// An ICMPv6 error (destination unreachable 1, packet too big 2,
		// time exceeded 3, parameter problem 4) quoting a packet of the
		// flow: the quoted IPv6 header starts at 48.
		p.label("icmp")
		p.jump(bpf.JumpEqual, protoICMPv6, "", "drop")
		p.add(bpf.LoadAbsolute{Off: 40, Size: 1})
		p.jump(bpf.JumpGreaterThan, 4, "drop", "")
		p.jump(bpf.JumpEqual, 0, "drop", "")
		p.add(bpf.LoadAbsolute{Off: 48 + 6, Size: 1})
		p.jump(bpf.JumpEqual, proto, "", "drop")
		equal16(p, 48+24, ip, "", "drop")
		ports(false, 48+40, local, remote, "accept", "drop")
	} else {
		ip := binary.BigEndian.Uint32(addr.AsSlice())
		p.jump(bpf.JumpEqual, etherIPv4, "", "drop")
		// A fragment after the first has no transport header to test.
		p.add(bpf.LoadAbsolute{Off: 6, Size: 2})
		p.jump(bpf.JumpBitsSet, 0x1fff, "drop", "")
		p.add(bpf.LoadAbsolute{Off: 9, Size: 1})
		p.jump(bpf.JumpEqual, proto, "", "icmp")
		p.add(bpf.LoadMemShift{Off: 0}) // X = the IP header's length
		p.add(bpf.LoadAbsolute{Off: 16, Size: 4})
		p.jump(bpf.JumpEqual, ip, "", "incoming")
		ports(true, 0, local, remote, "accept", "incoming")
		p.label("incoming")
		p.add(bpf.LoadAbsolute{Off: 12, Size: 4})
		p.jump(bpf.JumpEqual, ip, "", "drop")
		ports(true, 0, remote, local, "accept", "drop")
		// An ICMP error (destination unreachable 3, source quench 4,
		// time exceeded 11, parameter problem 12) quoting a packet of
		// the flow: the quoted IP header starts 8 bytes into the ICMP
		// message.
		p.label("icmp")
		p.jump(bpf.JumpEqual, protoICMP, "", "drop")
		p.add(bpf.LoadMemShift{Off: 0})
		p.add(bpf.LoadIndirect{Off: 0, Size: 1})
		p.jump(bpf.JumpEqual, 3, "quoted", "")
		p.jump(bpf.JumpEqual, 4, "quoted", "")
		p.jump(bpf.JumpEqual, 11, "quoted", "")
		p.jump(bpf.JumpEqual, 12, "quoted", "drop")
		p.label("quoted")
		p.add(bpf.LoadIndirect{Off: 8 + 9, Size: 1})
		p.jump(bpf.JumpEqual, proto, "", "drop")
		p.add(bpf.LoadIndirect{Off: 8 + 16, Size: 4})
		p.jump(bpf.JumpEqual, ip, "", "drop")
		if hasPorts && (local != 0 || remote != 0) {
			// X = outer header + quoted header lengths.
			p.add(bpf.LoadIndirect{Off: 8, Size: 1},
				bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x0f},
				bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2},
				bpf.ALUOpX{Op: bpf.ALUOpAdd},
				bpf.TAX{})
		}
		ports(true, 8, local, remote, "accept", "drop")
	}
	p.label("accept")
	p.add(bpf.RetConstant{Val: snapLength})
	p.label("drop")
	p.add(bpf.RetConstant{Val: 0})
	return p.assemble()
}

// equal16 compares the 16 bytes at off with ip, four bytes at a time.
func equal16(p *program, off uint32, ip [16]byte, ifTrue, ifFalse string) {
	for w := range 4 {
		p.add(bpf.LoadAbsolute{Off: off + uint32(4*w), Size: 4})
		next := ""
		if w == 3 {
			next = ifTrue
		}
		p.jump(bpf.JumpEqual, binary.BigEndian.Uint32(ip[4*w:]), next, ifFalse)
	}
}

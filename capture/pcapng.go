package capture

import (
	"encoding/binary"
	"io"
	"runtime"
	"unicode/utf8"
)

// The capture files are pcapng (draft-ietf-opsawg-pcapng), written by the
// few lines below rather than by gopacket's pcapgo: pcapgo imports
// gopacket/layers, whose generated tables (5 MiB of pointers in the data
// segment) every run of nettest would otherwise carry, scan at each GC and
// fault in, capturing or not. A file here is one section header, an
// interface description per interface the packets crossed (each written
// just before its first packet), and an enhanced packet block per packet.
//
// Every block is laid out the same way: its type, its total length, its
// body, its options, and its total length again, so that a reader can walk
// the file backwards too. Fields and option values are padded to 32 bits.
// Blocks are written in little-endian order; the section header's
// byte-order magic tells readers so.

// Block types.
const (
	blockSection   = 0x0A0D0D0A // Section Header Block
	blockInterface = 0x00000001 // Interface Description Block
	blockPacket    = 0x00000006 // Enhanced Packet Block
)

// Option codes. opt_comment is valid in every block; the others belong to
// the block their prefix names.
const (
	optEndOfOpt = 0
	optComment  = 1
	shbHardware = 2
	shbOS       = 3
	shbUserAppl = 4
	ifName      = 2
	ifTsresol   = 9
	ifOS        = 12
	epbFlags    = 2
)

const (
	byteOrderMagic = 0x1A2B3C4D
	// linkTypeRaw is LINKTYPE_RAW: packets start at their IPv4 or IPv6
	// header, since the sockets read past the link layer of whatever
	// interface (Ethernet, loopback, a tunnel) a packet crossed.
	linkTypeRaw = 101
	// tsresolNanoseconds is if_tsresol 9: timestamps count units of
	// 10^-9 s, the resolution of the kernel's stamps and of time.Time.
	tsresolNanoseconds = 9
	// maxOptionLength is the most an option's 16-bit length can say;
	// longer comments are cut to it.
	maxOptionLength = 0xffff
)

// epb_flags' inbound/outbound bits (bits 0-1; 0 is "not known").
const (
	directionInbound  = 1
	directionOutbound = 2
)

// pcapngWriter writes one capture file. It gathers blocks in a buffer
// that grows with the file up to sendSize, rather than a fixed-size bufio
// buffer: most files are a few packets, and a run may write thousands.
type pcapngWriter struct {
	w          io.Writer
	buf        []byte            // blocks not yet written
	start      int               // where in buf the block being built starts
	err        error             // the first write error; later writes are skipped
	interfaces map[string]uint32 // interface name → its index in the section
}

// sendSize is how much the writer gathers before it writes.
const sendSize = 64 << 10

// newPcapngWriter starts a file on w with a section header whose comment
// is comment.
func newPcapngWriter(w io.Writer, comment string) *pcapngWriter {
	pw := &pcapngWriter{w: w, interfaces: map[string]uint32{}}
	b := pw.begin(blockSection)
	b = b.u32(byteOrderMagic)
	b = b.u16(1).u16(0)                   // version 1.0
	b = b.u32(0xffffffff).u32(0xffffffff) // section length -1: not given
	b = b.option(shbUserAppl, "nettest")
	b = b.option(optComment, comment)
	b = b.option(shbHardware, runtime.GOARCH)
	b = b.option(shbOS, runtime.GOOS)
	pw.end(b)
	return pw
}

// addInterface writes the description of the interface named name, unless
// the section has it already, and returns its index.
func (pw *pcapngWriter) addInterface(name string) uint32 {
	if id, ok := pw.interfaces[name]; ok {
		return id
	}
	id := uint32(len(pw.interfaces))
	pw.interfaces[name] = id
	b := pw.begin(blockInterface)
	b = b.u16(linkTypeRaw).u16(0) // link type, reserved
	b = b.u32(snapLength)
	b = b.option(ifName, name)
	b = b.option(ifOS, "linux")
	b = b.optionU8(ifTsresol, tsresolNanoseconds)
	pw.end(b)
	return id
}

// writePacket writes p, with its comment and its direction, on its
// interface (described first if it is new).
func (pw *pcapngWriter) writePacket(p packet) {
	id := pw.addInterface(p.iface)
	data := p.data[:min(len(p.data), snapLength)]
	ns := uint64(p.at.UnixNano())
	var flags uint32
	switch {
	case p.outgoing:
		flags = directionOutbound
	case p.inbound:
		flags = directionInbound
	}
	b := pw.begin(blockPacket)
	b = b.u32(id)
	b = b.u32(uint32(ns >> 32)).u32(uint32(ns))
	b = b.u32(uint32(len(data))).u32(uint32(max(p.length, len(p.data))))
	b = b.padded(data)
	if p.comment != "" {
		b = b.option(optComment, p.comment)
	}
	b = b.optionU32(epbFlags, flags)
	pw.end(b)
}

// flush writes out what is gathered and returns the first error of any
// write.
func (pw *pcapngWriter) flush() error {
	pw.send()
	return pw.err
}

// begin starts a block of type typ, with room for its length, at the end
// of the buffer.
func (pw *pcapngWriter) begin(typ uint32) block {
	pw.start = len(pw.buf)
	return block(pw.buf).u32(typ).u32(0)
}

// end closes the options of block b, writes its total length at both
// ends, and sends the buffer on once it holds sendSize. Every block
// nettest writes has options, so end always closes them with
// opt_endofopt.
func (pw *pcapngWriter) end(b block) {
	b = b.u16(optEndOfOpt).u16(0)
	n := uint32(len(b) - pw.start + 4)
	le.PutUint32(b[pw.start+4:], n)
	pw.buf = b.u32(n)
	if len(pw.buf) >= sendSize {
		pw.send()
	}
}

// send writes the buffer, unless a write failed before, and empties it.
func (pw *pcapngWriter) send() {
	if pw.err == nil && len(pw.buf) > 0 {
		_, pw.err = pw.w.Write(pw.buf)
	}
	pw.buf = pw.buf[:0]
}

// block is the buffer with a block under construction at its end; its
// methods append the block's fields and options.
type block []byte

var le = binary.LittleEndian

func (b block) u16(v uint16) block { return le.AppendUint16(b, v) }
func (b block) u32(v uint32) block { return le.AppendUint32(b, v) }

// padded appends p and zeros up to the next 32-bit boundary.
func (b block) padded(p []byte) block {
	b = append(b, p...)
	return append(b, make([]byte, pad(len(p)))...)
}

// option appends a string option; a value longer than an option may be is
// cut at a character boundary.
func (b block) option(code uint16, value string) block {
	if len(value) > maxOptionLength {
		n := maxOptionLength
		for n > 0 && !utf8.RuneStart(value[n]) {
			n--
		}
		value = value[:n]
	}
	b = b.u16(code).u16(uint16(len(value)))
	b = append(b, value...)
	return append(b, make([]byte, pad(len(value)))...)
}

// optionU8 appends a one-byte option (and its three bytes of padding).
func (b block) optionU8(code uint16, v uint8) block {
	return append(b.u16(code).u16(1), v, 0, 0, 0)
}

// optionU32 appends a 32-bit option.
func (b block) optionU32(code uint16, v uint32) block {
	return b.u16(code).u16(4).u32(v)
}

// pad is how many zero bytes bring n to a multiple of 4.
func pad(n int) int { return -n & 3 }

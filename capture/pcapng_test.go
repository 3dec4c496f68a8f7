package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nettest/nettest/runner"
)

// A failing check's capture as the writer gets it: packets over two
// interfaces here and one at a vantage, both ways and one of unknown
// direction, one cut short of its length on the wire, with data of every
// length modulo 4 so that each padding is exercised.
var (
	testStart   = time.Date(2026, 12, 1, 19, 0, 0, 123456789, time.UTC)
	testOutcome = runner.Outcome{Address: `tcp.web["80"]`, Status: runner.Fail, File: "web.nettest.hcl", Line: 7, AttemptsMade: 2, AttemptsAllowed: 2}
	testFlows   = []string{"tcp 198.18.0.2:80", "tcp 198.18.0.2:80 from bastion"}
	testPackets = []packet{
		{data: ipv4(20), at: testStart, iface: "lo", outgoing: true, comment: `tcp.web["80"] attempt 1 of 2`},
		{data: ipv4(21), at: testStart.Add(time.Nanosecond), iface: "lo", inbound: true, comment: `tcp.web["80"] attempt 1 of 2`},
		{data: ipv4(22), length: 1500, at: testStart.Add(time.Microsecond), iface: "eth0", outgoing: true, comment: `tcp.web["80"] attempt 2 of 2`},
		{data: ipv4(23), at: testStart.Add(time.Millisecond), iface: "eth0", inbound: true, comment: `tcp.web["80"] attempt 2 of 2`},
		{data: ipv4(24), at: testStart.Add(time.Second), iface: "bastion/eth1", comment: `tcp.web["80"] attempt 2 of 2 from bastion (ünïcode)`},
		{data: ipv4(25), at: testStart.Add(time.Hour), iface: "lo", outgoing: true, comment: `tcp.web["80"] attempt 2 of 2`},
	}
	testComment = `nettest: tcp.web["80"] (fail at web.nettest.hcl:7), 2 of 2 attempts; flows: tcp 198.18.0.2:80, tcp 198.18.0.2:80 from bastion; 3 packets not kept (buffer or ring full)`
)

// ipv4 is n bytes that testStart like an IPv4 header and then count.
func ipv4(n int) []byte {
	b := make([]byte, n)
	b[0] = 0x45
	for i := 1; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

// writeTestFile writes the capture above through the recorder's own path.
func writeTestFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tcp.web_80.pcapng")
	if err := (&Recorder{}).write(path, testOutcome, testFlows, testPackets, 3, ""); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPcapngReadByPcapgo: gopacket's reader, which shares no code with
// the writer, reads back every field the writer put in: the section's
// application, comment, hardware and system; each interface's name,
// system, link type, snap length and timestamp resolution, in the order
// of first use; and each packet's bytes, interface, time to the
// nanosecond, lengths, comment and direction.
func TestPcapngReadByPcapgo(t *testing.T) {
	path := writeTestFile(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	section := r.SectionInfo()
	if section.Application != "nettest" || section.Comment != testComment || section.Hardware != runtime.GOARCH || section.OS != runtime.GOOS {
		t.Errorf("section %+v", section)
	}
	wantIDs := map[string]int{"lo": 0, "eth0": 1, "bastion/eth1": 2}
	for i, p := range testPackets {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(data, p.data) {
			t.Errorf("packet %d: data % x, want % x", i, data, p.data)
		}
		if !ci.Timestamp.Equal(p.at) {
			t.Errorf("packet %d: at %v, want %v", i, ci.Timestamp, p.at)
		}
		if ci.CaptureLength != len(p.data) || ci.Length != max(p.length, len(p.data)) {
			t.Errorf("packet %d: lengths %d of %d, want %d of %d", i, ci.CaptureLength, ci.Length, len(p.data), max(p.length, len(p.data)))
		}
		if ci.InterfaceIndex != wantIDs[p.iface] {
			t.Errorf("packet %d: interface %d, want %d (%s)", i, ci.InterfaceIndex, wantIDs[p.iface], p.iface)
		}
		if len(opts.Comments) != 1 || opts.Comments[0] != p.comment {
			t.Errorf("packet %d: comments %q, want [%q]", i, opts.Comments, p.comment)
		}
		want := pcapgo.NgEpbFlagDirectionUnknown
		switch {
		case p.outgoing:
			want = pcapgo.NgEpbFlagDirectionOutbound
		case p.inbound:
			want = pcapgo.NgEpbFlagDirectionInbound
		}
		if opts.Flags == nil || *opts.Flags != (pcapgo.NgEpbFlags{Direction: want}) {
			t.Errorf("packet %d: flags %+v, want direction %d", i, opts.Flags, want)
		}
	}
	if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last packet: %v, want EOF", err)
	}
	if n := r.NInterfaces(); n != len(wantIDs) {
		t.Errorf("%d interfaces, want %d", n, len(wantIDs))
	}
	for name, id := range wantIDs {
		ifc, err := r.Interface(id)
		if err != nil {
			t.Errorf("interface %d: %v", id, err)
			continue
		}
		if ifc.Name != name || ifc.OS != "linux" || ifc.LinkType != layers.LinkTypeRaw || ifc.SnapLength != snapLength || ifc.TimestampResolution != 9 {
			t.Errorf("interface %d: %+v, want %s, linux, raw IP, %d, 9", id, ifc, name, snapLength)
		}
	}
}

// TestPcapngWithoutPackets: a check whose flows passed no packet still
// gets a file with an interface, which tcpdump needs to open it.
func TestPcapngWithoutPackets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.pcapng")
	if err := (&Recorder{}).write(path, testOutcome, testFlows, nil, 0, "not captured: x"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Errorf("reading a packet: %v, want EOF", err)
	}
	if ifc, err := r.Interface(0); err != nil || ifc.Name != "any" || r.NInterfaces() != 1 {
		t.Errorf("interfaces: %d, first %+v, %v; want one, any", r.NInterfaces(), ifc, err)
	}
	if c := r.SectionInfo().Comment; !strings.HasSuffix(c, "; not captured: x") {
		t.Errorf("section comment %q", c)
	}
}

// TestPcapngLongComment: an option's length has 16 bits, so a comment
// longer than 65,535 bytes is cut, between characters, rather than
// written with a length that wraps and breaks the file.
func TestPcapngLongComment(t *testing.T) {
	comment := strings.Repeat("é", 40000) // 80,000 bytes; byte 65,535 is the second of a character
	var buf bytes.Buffer
	w := newPcapngWriter(&buf, comment)
	w.writePacket(testPackets[0])
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.SectionInfo().Comment; c != comment[:65534] {
		t.Errorf("section comment of %d bytes (valid UTF-8: %t), want the first 65,534", len(c), utf8.ValidString(c))
	}
	if data, _, err := r.ReadPacketData(); err != nil || !bytes.Equal(data, testPackets[0].data) {
		t.Errorf("the packet after the long section header: % x, %v", data, err)
	}
}

// wiresharkTool returns the path of one of Wireshark's command-line tools.
// It skips the test when the tool is missing, except in CI (CI=true, or
// NETTEST_REQUIRE_ROOT=1 as .ci/run sets), where it fails: there the
// files must be read by the reader people open them with.
func wiresharkTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		reason := fmt.Sprintf("needs %s to read the file as Wireshark does (Debian package tshark: apt-get install tshark)", name)
		if os.Getenv("CI") == "true" || os.Getenv("NETTEST_REQUIRE_ROOT") == "1" {
			t.Fatalf("%s; CI forbids skipping", reason)
		}
		t.Skip(reason)
	}
	return path
}

// TestPcapngReadByTshark: Wireshark's reader sees the same packets, on the
// same interfaces, at the same times, with the same lengths, comments and
// directions, and capinfos the same section and interfaces.
func TestPcapngReadByTshark(t *testing.T) {
	tshark := wiresharkTool(t, "tshark")
	capinfos := wiresharkTool(t, "capinfos")
	path := writeTestFile(t)

	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-E", "separator=|",
		"-e", "frame.interface_name", "-e", "frame.packet_flags_direction", "-e", "frame.time_epoch",
		"-e", "frame.cap_len", "-e", "frame.len", "-e", "frame.comment").Output()
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s", err, stderrOf(err))
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(testPackets) {
		t.Fatalf("tshark read %d packets, want %d:\n%s", len(lines), len(testPackets), out)
	}
	for i, p := range testPackets {
		want := fmt.Sprintf("%s|%d|%d.%09d|%d|%d|%s", p.iface, direction(p), p.at.Unix(), p.at.Nanosecond(), len(p.data), max(p.length, len(p.data)), p.comment)
		fields := strings.Split(lines[i], "|")
		if len(fields) == 6 {
			// tshark prints the flags in hex ("0x00000002") or, in
			// later versions, in decimal.
			if d, err := strconv.ParseUint(fields[1], 0, 32); err == nil {
				fields[1] = strconv.FormatUint(d, 10)
			}
		}
		if got := strings.Join(fields, "|"); got != want {
			t.Errorf("packet %d: tshark says\n\t%s\nwant\n\t%s", i, got, want)
		}
	}

	out, err = exec.Command(capinfos, path).Output()
	if err != nil {
		t.Fatalf("capinfos: %v\n%s", err, stderrOf(err))
	}
	for _, want := range []string{
		"Capture comment:     " + testComment + "\n",
		"Capture application: nettest\n",
		"Number of packets:   6\n",
		"Number of interfaces in file: 3\n",
		"Name = lo\n", "Name = eth0\n", "Name = bastion/eth1\n",
		"Encapsulation = Raw IP",
		"Capture length = 65536\n",
		"Time precision = nanoseconds (9)\n",
		"Operating system = linux\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("capinfos does not say %q:\n%s", want, out)
		}
	}
}

// direction is the value of epb_flags' direction bits for p.
func direction(p packet) int {
	switch {
	case p.outgoing:
		return 2
	case p.inbound:
		return 1
	}
	return 0
}

func stderrOf(err error) []byte {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.Stderr
	}
	return nil
}

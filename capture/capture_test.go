package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/nettest/nettest/capture/capturetest"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/runner"
)

// newRecorder is a recorder writing into a new temporary directory; it
// needs CAP_NET_RAW, so the test skips (fails under NETTEST_REQUIRE_ROOT=1)
// without root.
func newRecorder(t *testing.T) *Recorder {
	t.Helper()
	lab.RequireRoot(t)
	r, err := NewRecorder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// dial connects to addr the way the tcp kind does, reporting the flow
// through the dialer, sends hello, closes its side and waits for the
// peer's FIN (the listener closes once it read ours): when it returns, the
// flow's packets have passed, however late a loaded machine ran the
// listener's goroutine, and none of them can fall into a later attempt.
func dial(ctx context.Context, t *testing.T, addr string) error {
	t.Helper()
	d := net.Dialer{Control: checks.DialControl(ctx)}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello")); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		return fmt.Errorf("waiting for the peer to close: %w", err)
	}
	return nil
}

// listen accepts on 127.0.0.1 (or ::1), reading what clients send until
// they close.
func listen(t *testing.T, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s on loopback: %v", network, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return ln
}

// captured is one packet of a written file, decoded.
type captured struct {
	packet  gopacket.Packet
	comment string
}

func readCapture(t *testing.T, path string) (section string, pkts []captured) {
	t.Helper()
	f, err := capturetest.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Packets {
		pkts = append(pkts, captured{packet: gopacket.NewPacket(p.Data, layers.LinkTypeRaw, gopacket.Default), comment: p.Comment})
	}
	return f.Comment, pkts
}

// TestFailingCheckKeepsItsOwnPackets: a check that fails after two attempts
// gets one file with the packets of both attempts (each with its comment),
// and none of another check's packets that ran at the same time.
func TestFailingCheckKeepsItsOwnPackets(t *testing.T) {
	r := newRecorder(t)
	mine := listen(t, "tcp", "127.0.0.1:0")
	other := listen(t, "tcp", "127.0.0.1:0")
	myPort := uint16(mine.Addr().(*net.TCPAddr).Port)

	for n := 1; n <= 2; n++ {
		ctx := r.StartAttempt(context.Background(), runner.Attempt{Address: "tcp.mine", Number: n, Of: 2})
		octx := r.StartAttempt(context.Background(), runner.Attempt{Address: "tcp.other", Number: n, Of: 2})
		if err := dial(ctx, t, mine.Addr().String()); err != nil {
			t.Fatal(err)
		}
		if err := dial(octx, t, other.Addr().String()); err != nil {
			t.Fatal(err)
		}
		r.EndAttempt(ctx)
		r.EndAttempt(octx)
	}
	path := r.Finish(runner.Outcome{Address: "tcp.mine", Status: runner.Fail, File: "s.nettest.hcl", Line: 3, AttemptsMade: 2, AttemptsAllowed: 2})
	if path != filepath.Join(r.dir, "tcp.mine.pcapng") {
		t.Fatalf("Finish returned %q", path)
	}
	if p := r.Finish(runner.Outcome{Address: "tcp.other", Status: runner.Pass, AttemptsMade: 2, AttemptsAllowed: 2}); p != "" {
		t.Errorf("a passing check got a file: %q", p)
	}
	entries, _ := os.ReadDir(r.dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the capture directory, want only the failing check's", len(entries))
	}

	section, pkts := readCapture(t, path)
	if want := "nettest: tcp.mine (fail at s.nettest.hcl:3), 2 of 2 attempts; flows: tcp " + mine.Addr().String(); section != want {
		t.Errorf("section comment %q, want %q", section, want)
	}
	syns := map[string]int{}
	for i, c := range pkts {
		// In the order they passed, by the kernel's clock: each
		// attempt starts with its SYN.
		if i > 0 && c.comment != pkts[i-1].comment || i == 0 {
			if tcp, _ := c.packet.Layer(layers.LayerTypeTCP).(*layers.TCP); tcp == nil || !tcp.SYN || tcp.ACK {
				t.Errorf("%s does not start with its SYN: %v", c.comment, c.packet)
			}
		}
		tcp, _ := c.packet.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Errorf("not a TCP packet: %v", c.packet)
			continue
		}
		if uint16(tcp.DstPort) != myPort && uint16(tcp.SrcPort) != myPort {
			t.Errorf("a packet of another flow: %v", c.packet)
		}
		if tcp.SYN && !tcp.ACK {
			syns[c.comment]++
		}
	}
	// One SYN per attempt: loopback's leaving copy of each packet is not
	// kept twice.
	if syns["tcp.mine attempt 1 of 2"] != 1 || syns["tcp.mine attempt 2 of 2"] != 1 || len(syns) != 2 {
		t.Errorf("SYNs by comment: %v (of %d packets)", syns, len(pkts))
	}
	if len(pkts) < 2*6 { // SYN, SYN-ACK, ACK, data, its ACK, FINs…
		t.Errorf("only %d packets for two whole connections", len(pkts))
	}
	if tcpdump, err := exec.LookPath("tcpdump"); err == nil {
		out, err := exec.Command(tcpdump, "-nr", path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Flags [S]") {
			t.Errorf("tcpdump -r: %v\n%s", err, out)
		}
	}
}

// TestICMPErrorsAreKept: a datagram to a port nobody listens on draws an
// ICMP port unreachable from the kernel; the error quotes the datagram, so
// it belongs to the flow, over IPv4 and IPv6.
func TestICMPErrorsAreKept(t *testing.T) {
	r := newRecorder(t)
	for _, host := range []string{"127.0.0.1", "::1"} {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
		if err != nil {
			t.Skipf("no udp on %s: %v", host, err)
		}
		addr := pc.LocalAddr().String()
		pc.Close() // now nobody reads that port

		address := "udp.closed[" + host + "]"
		ctx := r.StartAttempt(context.Background(), runner.Attempt{Address: address, Number: 1, Of: 1})
		checks.ReportFlow(ctx, checks.Flow{Protocol: "udp", Remote: netip.MustParseAddrPort(addr)})
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("ping"))
		c.SetReadDeadline(time.Now().Add(time.Second))
		_, err = c.Read(make([]byte, 10))
		c.Close()
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("reading: %v, want connection refused", err)
		}
		r.EndAttempt(ctx)
		path := r.Finish(runner.Outcome{Address: address, Status: runner.Error, AttemptsMade: 1, AttemptsAllowed: 1})
		_, pkts := readCapture(t, path)
		var sawUDP, sawICMP bool
		for _, c := range pkts {
			sawUDP = sawUDP || c.packet.Layer(layers.LayerTypeUDP) != nil && c.packet.Layer(layers.LayerTypeICMPv4) == nil && c.packet.Layer(layers.LayerTypeICMPv6) == nil
			sawICMP = sawICMP || c.packet.Layer(layers.LayerTypeICMPv4) != nil || c.packet.Layer(layers.LayerTypeICMPv6) != nil
		}
		if !sawUDP || !sawICMP || len(pkts) != 2 {
			t.Errorf("%s: %d packets, datagram %t, ICMP error %t; want the two", host, len(pkts), sawUDP, sawICMP)
		}
	}
}

// TestSensitiveChecksKeepHeadersOnly: a check with a sensitive argument
// keeps the headers of its packets, not what they carry.
func TestSensitiveChecksKeepHeadersOnly(t *testing.T) {
	r := newRecorder(t)
	ln := listen(t, "tcp", "127.0.0.1:0")
	ctx := r.StartAttempt(context.Background(), runner.Attempt{Address: "tcp.secret", Number: 1, Of: 1, Sensitive: true})
	if err := dial(ctx, t, ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	r.EndAttempt(ctx)
	path := r.Finish(runner.Outcome{Address: "tcp.secret", Status: runner.Fail, AttemptsMade: 1, AttemptsAllowed: 1})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "hello") {
		t.Error("the payload of a sensitive check is in its capture")
	}
	_, pkts := readCapture(t, path)
	if len(pkts) < 3 {
		t.Errorf("%d packets: the headers should still be there", len(pkts))
	}
}

// TestNoFlowNoFile: a failing check whose probe reported no flow (a kind
// that sends nothing) leaves no file.
func TestNoFlowNoFile(t *testing.T) {
	r := newRecorder(t)
	ctx := r.StartAttempt(context.Background(), runner.Attempt{Address: "sysctl.x", Number: 1, Of: 1})
	r.EndAttempt(ctx)
	if p := r.Finish(runner.Outcome{Address: "sysctl.x", Status: runner.Fail}); p != "" {
		t.Errorf("file %q for a check without flows", p)
	}
}

func TestFileNames(t *testing.T) {
	r := &Recorder{names: map[string]bool{}}
	for _, tt := range []struct{ address, want string }{
		{`tcp.web["80"]`, "tcp.web_80.pcapng"},
		{`tcp.web`, "tcp.web.pcapng"},
		{`http.api["a/b c"]`, "http.api_a_b_c.pcapng"},
		{`http.api["a b/c"]`, "http.api_a_b_c-2.pcapng"},
		{`x["../.."]`, "x.pcapng"},
	} {
		if got := r.fileName(tt.address); got != tt.want {
			t.Errorf("fileName(%s) = %q, want %q", tt.address, got, tt.want)
		}
	}
}

// TestWatch: a witness's watch sees the datagram with its payload arrive,
// whether or not anything reads the port, and not a datagram with other
// bytes; a datagram sent before Wait is still seen.
func TestWatch(t *testing.T) {
	lab.RequireRoot(t)
	port := closedUDPPort(t)
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	send := func(payload string) {
		c, err := net.Dial("udp", dst.String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(payload))
		c.Close()
	}
	for _, tt := range []struct {
		sent string
		want bool
	}{{"<14>nettest probe", true}, {"something else", false}} {
		w, err := StartWatch(checks.WatchSpec{Protocol: "udp", Dst: dst, Payload: []byte("<14>nettest probe")})
		if err != nil {
			t.Fatal(err)
		}
		send(tt.sent)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		seen, err := w.Wait(ctx)
		cancel()
		if err != nil || seen != tt.want {
			t.Errorf("sent %q: seen %t, %v; want %t", tt.sent, seen, err, tt.want)
		}
	}
}

func closedUDPPort(t *testing.T) uint16 {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return uint16(pc.LocalAddr().(*net.UDPAddr).Port)
}

package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/capture/capturetest"
	"github.com/nettest/nettest/internal/lab"
)

// TestLabCapture runs a suite with --capture from a client against a server
// that DROPs one port, REJECTs another and runs a service that accepts and
// never answers, and reads the captures with Debian's tcpdump: each shows
// what happened on the wire, a passing check leaves no file, every attempt
// is in the one file, and the JUnit report links each capture and still
// validates.
func TestLabCapture(t *testing.T) {
	l := lab.New(t)
	tcpdump := lab.RequireBinary(t, "tcpdump", "tcpdump")
	client, server := l.Host("client"), l.Host("server")
	l.Link(client, "198.18.0.1/24", server, "198.18.0.2/24")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "81", "-j", "DROP")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "82", "-j", "REJECT")
	// The slow server: takes connections, reads the request, never answers.
	slow := server.Listen(t, "tcp", "198.18.0.2:83")
	go func() {
		for {
			c, err := slow.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()

	suite := lab.SuiteDir(t, map[string]string{"capture.nettest.hcl": `
vantage "client" {
  netns = "` + client.Name() + `"
}
tcp "rejected_from_vantage" {
  host    = "198.18.0.2"
  port    = 82
  timeout = "1s"
  from    = vantage.client
  expect {
    open = true
  }
}
tcp "dropped" {
  host           = "198.18.0.2"
  port           = 81
  timeout        = "1s"
  retries        = 1
  retry_interval = "100ms"
  expect {
    open = true
  }
}
tcp "rejected" {
  host    = "198.18.0.2"
  port    = 82
  timeout = "1s"
  expect {
    open = true
  }
}
http "slow" {
  url     = "http://198.18.0.2:83/"
  timeout = "1s"
  expect {
    status = 200
  }
}
tcp "open" {
  host = "198.18.0.2"
  port = 83
  expect {
    open = true
  }
}
`})
	out := t.TempDir()
	dir, junit := filepath.Join(out, "pcaps"), filepath.Join(out, "report.xml")
	r := runIn(t, 30*time.Second, client.Name(), "test", "--json", "--capture="+dir, "--junit="+junit, suite)
	defer logOnFailure(t, "nettest --capture", r)
	if r.code != 1 {
		t.Fatalf("exit code %d, want 1", r.code)
	}
	got, _ := verdicts(t, r)
	wantStatus := map[string]string{"tcp.dropped": "fail", "tcp.rejected": "fail", "http.slow": "error", "tcp.open": "pass", "tcp.rejected_from_vantage": "fail"}
	for address, status := range wantStatus {
		if got[address].Status != status {
			t.Errorf("%s: %s %q, want %s: capture must not change verdicts", address, got[address].Status, got[address].Message, status)
		}
	}
	if c := got["tcp.open"].Capture; c != "" {
		t.Errorf("the passing check points at a capture: %q", c)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "http.slow.pcapng tcp.dropped.pcapng tcp.rejected.pcapng tcp.rejected_from_vantage.pcapng" {
		t.Errorf("capture directory holds %v, want one file per check that did not pass", names)
	}

	read := func(address string, flags ...string) string {
		t.Helper()
		path := got[address].Capture
		if path != filepath.Join(dir, address+".pcapng") {
			t.Fatalf("%s: capture %q in the report", address, path)
		}
		text, err := exec.Command(tcpdump, append(append([]string{}, flags...), "-nr", path)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpdump -r %s: %v\n%s", path, err, text)
		}
		t.Logf("tcpdump -nr %s\n%s", path, text)
		return string(text)
	}
	lines := func(text string) []string {
		var out []string
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, " IP ") {
				out = append(out, l)
			}
		}
		return out
	}

	// DROP: SYNs from the client and nothing at all from the server.
	dropped := lines(read("tcp.dropped"))
	syn := regexp.MustCompile(`IP 198\.18\.0\.1\.\d+ > 198\.18\.0\.2\.81: Flags \[S\]`)
	if len(dropped) < 2 {
		t.Errorf("DROP: %d packets, want a SYN for each of the two attempts", len(dropped))
	}
	for _, l := range dropped {
		if !syn.MatchString(l) {
			t.Errorf("DROP: a packet other than the client's SYN: %s", l)
		}
	}
	comments := packetComments(t, got["tcp.dropped"].Capture)
	if !comments["tcp.dropped attempt 1 of 2"] || !comments["tcp.dropped attempt 2 of 2"] || len(comments) != 2 {
		t.Errorf("DROP: packet comments %v, want both attempts", comments)
	}

	// REJECT: the SYN, and the server's ICMP port unreachable quoting it.
	rejected := lines(read("tcp.rejected"))
	if len(rejected) < 2 || !strings.Contains(rejected[0], "> 198.18.0.2.82: Flags [S]") ||
		!strings.Contains(rejected[1], "IP 198.18.0.2 > 198.18.0.1: ICMP 198.18.0.2 tcp port 82 unreachable") {
		t.Errorf("REJECT: want a SYN then an ICMP port unreachable, got:\n%s", strings.Join(rejected, "\n"))
	}

	// From a vantage: its agent captured there and sent the packets back;
	// they carry the vantage's name.
	remote := lines(read("tcp.rejected_from_vantage"))
	if len(remote) < 2 || !strings.Contains(remote[0], "> 198.18.0.2.82: Flags [S]") || !strings.Contains(remote[1], "ICMP 198.18.0.2 tcp port 82 unreachable") {
		t.Errorf("from a vantage: want a SYN then an ICMP port unreachable, got:\n%s", strings.Join(remote, "\n"))
	}
	if c := packetComments(t, got["tcp.rejected_from_vantage"].Capture); !c["tcp.rejected_from_vantage attempt 1 of 1 at vantage client"] || len(c) != 1 {
		t.Errorf("from a vantage: packet comments %v", c)
	}

	// The slow server: a handshake, the request, the server's ACK of it,
	// and no answer before the client gives up.
	slowText := read("http.slow", "-A")
	for _, want := range []string{"> 198.18.0.2.83: Flags [S]", "198.18.0.2.83 > 198.18.0.1.", "Flags [S.]", "GET / HTTP/1.1"} {
		if !strings.Contains(slowText, want) {
			t.Errorf("slow server: no %q in the capture", want)
		}
	}
	if strings.Contains(slowText, "HTTP/1.1 200") || strings.Count(slowText, "HTTP/1.1") != 1 {
		t.Errorf("slow server: the capture shows an answer")
	}

	report, _ := os.ReadFile(junit)
	for _, address := range []string{"tcp.dropped", "tcp.rejected", "http.slow", "tcp.rejected_from_vantage"} {
		abs, _ := filepath.Abs(filepath.Join(dir, address+".pcapng"))
		if !strings.Contains(string(report), "\n[[ATTACHMENT|"+abs+"]]\n") {
			t.Errorf("JUnit has no attachment line for %s (%s)", address, abs)
		}
	}
	validateJUnit(t, junit, 5) // last: it skips the rest without the schema
}

// packetComments returns the set of packet comments in a pcapng file.
func packetComments(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := capturetest.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range f.Packets {
		seen[p.Comment] = true
	}
	return seen
}

// TestCaptureNeedsNetRaw: without CAP_NET_RAW, --capture is a usage error
// that names the capability, and nothing runs.
func TestCaptureNeedsNetRaw(t *testing.T) {
	lab.RequireRoot(t)
	setpriv := lab.RequireBinary(t, "setpriv", "util-linux")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	suite := lab.SuiteDir(t, map[string]string{"s.nettest.hcl": `
tcp "x" {
  host = "127.0.0.1"
  port = ` + strings.Split(ln.Addr().String(), ":")[1] + `
  expect {
    open = true
  }
}
`})
	dir := filepath.Join(t.TempDir(), "pcaps")
	r := runArgv(t, 15*time.Second, setpriv, "--inh-caps=-net_raw", "--bounding-set=-net_raw", binary, "test", "--capture="+dir, suite)
	if r.code != 2 {
		t.Errorf("exit code %d, want 2 (usage)\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"--capture", "CAP_NET_RAW", "setcap cap_net_raw+ep"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("something ran:\n%s", r.stdout)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the capture directory was created anyway")
	}
}

package dns_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/dns"
	"github.com/nettest/nettest/internal/lab"
)

const labServer = "198.18.5.2"

// dnsLab is a client and a server namespace joined by a link, the server
// running dnsmasq for the zone lab.test. Names outside what dnsmasq was told
// are NXDOMAIN (--local), so nothing is ever forwarded.
func dnsLab(t *testing.T) (client, server *lab.Host) {
	l := lab.New(t)
	client, server = l.Host("client"), l.Host("server")
	l.Link(client, "198.18.5.1/24", server, labServer+"/24")
	server.StartDnsmasq(t,
		"--listen-address="+labServer,
		"--local=/lab.test/",
		"--address=/api.lab.test/198.18.0.10",
		"--host-record=web.lab.test,198.18.0.20",
		"--cname=www.lab.test,web.lab.test",
		"--mx-host=lab.test,mail.lab.test,10",
		`--txt-record=lab.test,v=spf1 -all`,
		"--srv-host=_http._tcp.lab.test,web.lab.test,80,10,5",
	)
	return client, server
}

// TestLabServer asks dnsmasq across a link, from a thread inside the client
// namespace: what a user on that host sees with server set.
func TestLabServer(t *testing.T) {
	client, _ := dnsLab(t)
	tests := []struct {
		name, typ, protocol string
		rcode               string
		answers             []string
	}{
		{"api.lab.test", "A", "udp", "NOERROR", []string{"198.18.0.10"}},
		{"www.lab.test", "A", "udp", "NOERROR", []string{"198.18.0.20"}},
		{"www.lab.test", "CNAME", "tcp", "NOERROR", []string{"web.lab.test."}},
		{"lab.test", "MX", "udp", "NOERROR", []string{"10 mail.lab.test."}},
		{"lab.test", "TXT", "udp", "NOERROR", []string{"v=spf1 -all"}},
		{"_http._tcp.lab.test", "SRV", "udp", "NOERROR", []string{"10 5 80 web.lab.test."}},
		{"198.18.0.20", "PTR", "udp", "NOERROR", []string{"web.lab.test."}},
		{"nope.lab.test", "A", "udp", "NXDOMAIN", []string{}},
		{"nope.lab.test", "A", "tcp", "NXDOMAIN", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.typ+"/"+tc.protocol, func(t *testing.T) {
			server := labServer
			cfg := dns.Config{Name: tc.name, Type: tc.typ, Server: &server, Protocol: tc.protocol, RecursionDesired: true}
			// The server is an IP literal: the probe dials on the
			// goroutine lab.Probe switches, so its sockets are the client
			// namespace's.
			r, err := lab.Probe(client, 3*time.Second, dns.Probe, cfg)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if r.Rcode != tc.rcode || !reflect.DeepEqual(r.Answers, tc.answers) || r.Server != labServer+":53" || r.Protocol != tc.protocol {
				t.Errorf("got %s %q from %s over %s; want %s %q from %s:53 over %s", r.Rcode, r.Answers, r.Server, r.Protocol, tc.rcode, tc.answers, labServer, tc.protocol)
			}
		})
	}
}

// TestLabSystemResolver runs the nettest binary inside the client
// namespace, whose /etc/resolv.conf names the lab's dnsmasq and whose
// /etc/hosts has lines of its own (ip netns exec mounts them): dns blocks
// without server resolve as the operating system there does.
func TestLabSystemResolver(t *testing.T) {
	client, _ := dnsLab(t)
	client.Resolv(t, labServer)
	client.Hosts(t, "198.18.0.99 hosts-only.lab.test", "198.18.0.11 api.lab.test")

	suite := `
dns "from_dns" {
  name = "web.lab.test"
  expect {
    answers = ["198.18.0.20"]
  }
  assert {
    condition     = self.server == "` + labServer + `:53" && self.protocol == "udp"
    error_message = "not answered by the lab's dnsmasq"
  }
}

dns "from_hosts" {
  name = "hosts-only.lab.test"
  expect {
    answers = ["198.18.0.99"]
  }
  assert {
    condition     = self.server == "/etc/hosts" && self.ttl == 0
    error_message = "not answered from the hosts file"
  }
}

dns "hosts_first" {
  name = "api.lab.test"
  expect {
    answers = ["198.18.0.11"]
  }
}

dns "mx" {
  name = "lab.test"
  type = "MX"
  expect {
    contains = ["10 mail.lab.test"]
  }
}

dns "unresolvable" {
  name = "nope.lab.test"
  expect {
    rcode = "NXDOMAIN"
  }
}

dns "wrong" {
  name = "web.lab.test"
  expect {
    answers = ["198.18.0.21"]
  }
}
`
	results, _, code, out := client.Nettest(t, lab.SuiteDir(t, map[string]string{"dns.nettest.hcl": suite}))
	if code != 1 {
		t.Errorf("exit code %d, want 1 (dns.wrong fails)", code)
	}
	got := lab.ByAddress(results)
	want := map[string]string{
		"dns.from_dns":     "pass",
		"dns.from_hosts":   "pass",
		"dns.hosts_first":  "pass",
		"dns.mx":           "pass",
		"dns.unresolvable": "pass",
		"dns.wrong":        "fail",
	}
	for addr, status := range want {
		if got[addr].Status != status {
			t.Errorf("%s: %s %q %+v, want %s", addr, got[addr].Status, got[addr].Message, got[addr].TextDiffs(), status)
		}
	}
	wantDiff := []checks.Diff{{Field: "answers", Expected: `["198.18.0.21"]`, Actual: `["198.18.0.20"]`}}
	if d := got["dns.wrong"].TextDiffs(); !reflect.DeepEqual(d, wantDiff) {
		t.Errorf("dns.wrong diffs %+v, want %+v", d, wantDiff)
	}
	if t.Failed() {
		t.Logf("nettest printed:\n%s", out)
	}
}

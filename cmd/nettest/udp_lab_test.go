package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
)

// dnsQuery is a DNS query for web.lab.test A (ID 0x1234, recursion
// desired), as a udp check's payload_hex.
const dnsQuery = "1234 0100 0001 0000 0000 0000 03 776562 03 6c6162 04 74657374 00 0001 0001"

// TestLabUDP sends datagrams from a client through a router to a server,
// with the server as the witness vantage (a netns vantage: its agent
// watches inside the server's namespace): a syslog-style listener that
// never answers is delivered, dnsmasq answers (open), a REJECTed port is
// closed by the server's port unreachable, a DROPped port is open|filtered
// without a witness, a DROP on the router leaves the datagram undelivered,
// and a port nobody reads is delivered (and closed). A DROP on the server
// itself still counts as delivered: the witness sees the datagram arrive at
// the interface, before the host's firewall.
func TestLabUDP(t *testing.T) {
	l := lab.New(t)
	client, router, server := l.Host("client"), l.Host("router"), l.Host("server")
	l.Link(client, "198.18.50.1/24", router, "198.18.50.2/24")
	l.Link(router, "198.18.51.2/24", server, "198.18.51.3/24")
	router.Forwarding(t)
	client.Run(t, "ip", "route", "add", "198.18.51.0/24", "via", "198.18.50.2")
	server.Run(t, "ip", "route", "add", "198.18.50.0/24", "via", "198.18.51.2")
	server.StartDnsmasq(t, "--listen-address=198.18.51.3", "--local=/lab.test/", "--host-record=web.lab.test,198.18.51.3")
	server.Iptables(t, "-A", "INPUT", "-p", "udp", "--dport", "515", "-j", "REJECT")
	server.Iptables(t, "-A", "INPUT", "-p", "udp", "--dport", "516", "-j", "DROP")
	router.Iptables(t, "-A", "FORWARD", "-p", "udp", "--dport", "517", "-j", "DROP")

	// The syslog-style listener: reads messages, never answers.
	var syslog net.PacketConn
	if err := server.Do(func() (err error) {
		syslog, err = net.ListenPacket("udp4", "198.18.51.3:514")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer syslog.Close()
	logged := make(chan string, 4)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := syslog.ReadFrom(buf)
			if err != nil {
				return
			}
			logged <- string(buf[:n])
		}
	}()

	suite := lab.SuiteDir(t, map[string]string{"udp.nettest.hcl": fmt.Sprintf(`
vantage "server" {
  netns = %q
}
defaults {
  timeout = "700ms"
}
udp "syslog" {
  host    = "198.18.51.3"
  port    = 514
  payload = "<14>nettest probe"
  witness = vantage.server
  expect {
    delivered = true
    state     = "open|filtered"
  }
}
udp "dns" {
  host        = "198.18.51.3"
  port        = 53
  payload_hex = %q
  expect {
    state     = "open"
    delivered = true
  }
  assert {
    condition     = substr(self.reply_hex, 0, 4) == "1234" && length(regexall("c6123303$", self.reply_hex)) == 1
    error_message = "not dnsmasq's answer with 198.18.51.3"
  }
}
udp "rejected" {
  host = "198.18.51.3"
  port = 515
  expect {
    state = "closed"
  }
  assert {
    condition     = self.icmp.from == "198.18.51.3" && self.icmp.name == "port unreachable"
    error_message = "not the server's port unreachable"
  }
}
udp "dropped" {
  host = "198.18.51.3"
  port = 516
  expect {
    state = "open|filtered"
  }
  assert {
    condition     = self.delivered == null
    error_message = "delivery is unknown without a witness"
  }
}
udp "dropped_at_the_server" {
  host    = "198.18.51.3"
  port    = 516
  witness = vantage.server
  expect {
    state     = "open|filtered"
    delivered = true
  }
}
udp "dropped_on_the_way" {
  host    = "198.18.51.3"
  port    = 517
  witness = vantage.server
  expect {
    state     = "open|filtered"
    delivered = false
  }
}
udp "nobody_reads" {
  host    = "198.18.51.3"
  port    = 518
  payload = "anyone?"
  witness = vantage.server
  expect {
    state     = "closed"
    delivered = true
  }
}
udp "claims_delivery" {
  host    = "198.18.51.3"
  port    = 517
  witness = vantage.server
  expect {
    delivered = true
  }
}
`, server.Name(), dnsQuery)})
	r := runIn(t, 30*time.Second, client.Name(), "test", "--json", suite)
	defer logOnFailure(t, "nettest test (udp)", r)
	got, summary := verdicts(t, r)
	assertVerdicts(t, got, map[string]want{
		"udp.syslog":                {status: "pass"},
		"udp.dns":                   {status: "pass"},
		"udp.rejected":              {status: "pass"},
		"udp.dropped":               {status: "pass"},
		"udp.dropped_at_the_server": {status: "pass"},
		"udp.dropped_on_the_way":    {status: "pass"},
		"udp.nobody_reads":          {status: "pass"},
		"udp.claims_delivery": {status: "fail", diffs: []diff{
			{"delivered", "true", "false (vantage server did not see it arrive)"}}},
	})
	assertSummary(t, summary, 7, 1, 0, 0)
	select {
	case m := <-logged:
		if m != "<14>nettest probe" {
			t.Errorf("the syslog listener got %q", m)
		}
	case <-time.After(time.Second):
		t.Error("the syslog listener got nothing")
	}
	if strings.Contains(r.stderr, "panic") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

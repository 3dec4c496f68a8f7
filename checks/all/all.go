// Package all links every check kind into the program. It is the one list of
// kinds: adding a kind is a folder below checks/ and a line here.
package all

import (
	_ "github.com/nettest/nettest/checks/dns"
	_ "github.com/nettest/nettest/checks/http"
	_ "github.com/nettest/nettest/checks/iptables"
	_ "github.com/nettest/nettest/checks/listen"
	_ "github.com/nettest/nettest/checks/neighbor"
	_ "github.com/nettest/nettest/checks/ping"
	_ "github.com/nettest/nettest/checks/route"
	_ "github.com/nettest/nettest/checks/sysctl"
	_ "github.com/nettest/nettest/checks/tcp"
	_ "github.com/nettest/nettest/checks/traceroute"
	_ "github.com/nettest/nettest/checks/udp"
	_ "github.com/nettest/nettest/checks/ulimit"
)

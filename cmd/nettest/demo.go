package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/miekg/dns"
	"github.com/nettest/nettest/examples"
	"github.com/nettest/nettest/schema"
)

const demoHelp = `Usage: nettest demo [test flags]

Runs the quickstart suite (examples/quickstart, built into the binary)
against servers nettest starts for the occasion on 127.0.0.1: a web server
and a DNS server on free ports. It needs no network and no servers installed,
so it shows on any machine what a run looks like. Every flag of 'nettest test'
works here too (--json, --junit=FILE, ...).

Exit codes are those of 'nettest test'.
`

func cmdDemo(args []string, c cli) int {
	stdout, stderr := c.stdout, c.stderr
	for _, a := range args {
		if a == "--help" || a == "-help" || a == "-h" {
			fmt.Fprint(stdout, demoHelp)
			return exitOK
		}
	}
	lab, err := startDemoServers()
	if err != nil {
		fmt.Fprintf(stderr, "nettest demo: cannot start the demo servers on 127.0.0.1: %v\n", err)
		return exitFailed
	}
	defer lab.close()
	// Variables go through the test command's environment, the lowest
	// precedence, so the user's own --var flags still win; undeclared ones
	// are ignored there. This process's environment stays as it is.
	var vars []string
	for name, value := range lab.vars {
		vars = append(vars, schema.EnvPrefix+name+"="+value)
	}
	// On stderr: with --json, stdout must hold JSON lines only.
	fmt.Fprintf(c.stderr, "Demo: web server on 127.0.0.1:%s, DNS server on %s; running the quickstart suite.\n\n", lab.vars["web_port"], lab.vars["dns_server"])
	// The suite is read from the binary itself: reports name it as
	// quickstart/quickstart.nettest.hcl, and nothing is left on disk.
	run := c.withEnv(vars...)
	run.sources = examples.Quickstart
	return cmdTest(append(args, "quickstart"), run)
}

type demoServers struct {
	vars  map[string]string
	close func()
}

// startDemoServers starts a web server answering /healthz and a DNS server
// answering for the demo zone, both on free ports of 127.0.0.1.
func startDemoServers() (*demoServers, error) {
	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/healthz", http.StatusFound)
	})
	httpServer := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go httpServer.Serve(web)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		web.Close()
		return nil, err
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		web.Close()
		return nil, err
	}
	zone := dns.NewServeMux()
	zone.HandleFunc("demo.nettest.test.", func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		q := req.Question[0]
		switch {
		case q.Name == "api.demo.nettest.test." && q.Qtype == dns.TypeA:
			rr, _ := dns.NewRR("api.demo.nettest.test. 60 IN A 127.0.0.1")
			m.Answer = append(m.Answer, rr)
		case q.Name != "api.demo.nettest.test.":
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	dnsServer := &dns.Server{PacketConn: pc, Handler: zone}
	go dnsServer.ActivateAndServe()

	return &demoServers{
		vars: map[string]string{
			"web_host":    "127.0.0.1",
			"web_port":    strconv.Itoa(web.Addr().(*net.TCPAddr).Port),
			"closed_port": strconv.Itoa(closedPort),
			"dns_server":  pc.LocalAddr().String(),
		},
		close: func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			httpServer.Shutdown(ctx)
			dnsServer.ShutdownContext(ctx)
		},
	}, nil
}

package dns_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	"github.com/nettest/nettest/checks/dns"
	"github.com/zclconf/go-cty/cty"
)

// BenchmarkQueries1000 measures 1,000 A queries to a server on loopback,
// 50 at a time, as bench/peers runs them (one op is the 1,000): the bare
// loop (a miekg client per query, sending the query the check sends, with
// EDNS0: floor), the kind's Probe function on its
// Go Config (probe), the probe as the runner calls it, its arguments
// decoded from cty and its result encoded to cty by checks.Typed (typed),
// and the whole runner on a loaded plan with the JSON report, loading not
// timed (runner). floor and probe differ by what the probe itself costs,
// probe and typed by the conversions, typed and runner by what the runner
// and the report cost per check.
//
//	go test ./checks/dns -run '^$' -bench Queries1000 -benchmem
func BenchmarkQueries1000(b *testing.B) {
	const n, parallelism = 1000, 50
	server := dns.Serve(b, "127.0.0.1", "0", miekg.HandlerFunc(func(w miekg.ResponseWriter, req *miekg.Msg) {
		m := new(miekg.Msg)
		m.SetReply(req)
		m.Authoritative = true
		m.Answer = []miekg.RR{&miekg.A{
			Hdr: miekg.RR_Header{Name: req.Question[0].Name, Rrtype: miekg.TypeA, Class: miekg.ClassINET, Ttl: 60},
			A:   []byte{127, 0, 0, 1},
		}}
		w.WriteMsg(m)
	}), false)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("c%d.bench.test", i)
	}

	b.Run("floor", func(b *testing.B) {
		checktest.ParallelOps(b, n, parallelism, func(i int) error {
			c := &miekg.Client{Timeout: 5 * time.Second}
			m := new(miekg.Msg)
			m.SetQuestion(miekg.Fqdn(names[i]), miekg.TypeA)
			m.SetEdns0(1232, false)
			r, _, err := c.Exchange(m, server)
			if err == nil && (len(r.Answer) != 1 || r.Answer[0].(*miekg.A).A.String() != "127.0.0.1") {
				err = fmt.Errorf("unexpected answer %v", r.Answer)
			}
			return err
		})
	})

	b.Run("probe", func(b *testing.B) {
		checktest.ParallelOps(b, n, parallelism, func(i int) error {
			ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), 5*time.Second), 5*time.Second)
			defer cancel()
			_, err := dns.Probe(ctx, dns.Config{Name: names[i], Type: "A", Server: &server, Protocol: "udp", RecursionDesired: true})
			return err
		})
	})

	b.Run("typed", func(b *testing.B) {
		k, _ := checks.Lookup("dns")
		args := make([]checks.Args, n)
		for i := range args {
			args[i] = k.ArgsOf(cty.ObjectVal(map[string]cty.Value{
				"name":              cty.StringVal(names[i]),
				"type":              cty.StringVal("A"),
				"server":            cty.StringVal(server),
				"protocol":          cty.StringVal("udp"),
				"recursion_desired": cty.True,
			}))
		}
		checktest.ParallelOps(b, n, parallelism, func(i int) error {
			ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), 5*time.Second), 5*time.Second)
			defer cancel()
			_, err := checks.Local.Probe(ctx, k, args[i])
			return err
		})
	})

	b.Run("runner", func(b *testing.B) {
		var src strings.Builder
		for i, name := range names {
			fmt.Fprintf(&src, "dns \"c%d\" {\n  name   = %q\n  server = %q\n  expect {\n    answers = [\"127.0.0.1\"]\n  }\n}\n\n", i, name, server)
		}
		checktest.RunPlans(b, src.String(), n, parallelism)
	})
}

package dns

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
	"github.com/nettest/nettest/internal/lab"
)

// zone is the small zone the test server is authoritative for: every
// supported type, a CNAME chain, a name with mixed case, a TXT record with
// spaces around its text, and names that make the server fail, refuse or
// truncate.
var zone = []string{
	"example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300",
	"example.test. 3600 IN NS ns1.example.test.",
	"example.test. 3600 IN NS ns2.example.test.",
	"example.test. 3600 IN MX 10 mail.example.test.",
	"example.test. 3600 IN MX 20 backup.example.test.",
	`example.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 " "-all"`,
	`example.test. 300 IN CAA 0 issue "letsencrypt.org"`,
	`padded.example.test. 300 IN TXT " padded "`,
	"api.example.test. 300 IN A 192.0.2.10",
	"api.example.test. 60 IN A 192.0.2.11",
	"api.example.test. 300 IN A 192.0.2.12",
	"api.example.test. 300 IN AAAA 2001:db8::10",
	"www.example.test. 120 IN CNAME api.example.test.",
	"Mixed.example.test. 300 IN CNAME API.Example.TEST.",
	"_sip._tcp.example.test. 300 IN SRV 10 60 5060 sip.example.test.",
	"10.2.0.192.in-addr.arpa. 300 IN PTR api.example.test.",
	"0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR api.example.test.",
}

// bigAnswer is the number of A records of big.example.test., which the
// server answers over UDP only with the TC flag, as a server does when the
// answer does not fit.
const bigAnswer = 40

// zoneServer answers from zone like an authoritative server.
type zoneServer struct {
	records map[string][]miekg.RR // by lower-case name and type
	names   map[string]bool
	mu      sync.Mutex
	queries []string // "network name type" of every query received
}

func newZoneServer(t testing.TB) *zoneServer {
	z := &zoneServer{records: map[string][]miekg.RR{}, names: map[string]bool{}}
	for _, s := range zone {
		rr, err := miekg.NewRR(s)
		if err != nil {
			t.Fatalf("zone record %q: %v", s, err)
		}
		z.add(rr)
	}
	for i := range bigAnswer {
		rr, _ := miekg.NewRR("big.example.test. 300 IN A 198.18.1." + strconv.Itoa(i+1))
		z.add(rr)
	}
	for _, n := range []string{"servfail.example.test.", "refused.example.test."} {
		z.names[n] = true
	}
	return z
}

func (z *zoneServer) add(rr miekg.RR) {
	name := strings.ToLower(rr.Header().Name)
	key := name + "/" + miekg.TypeToString[rr.Header().Rrtype]
	z.records[key] = append(z.records[key], rr)
	z.names[name] = true
}

func (z *zoneServer) ServeDNS(w miekg.ResponseWriter, req *miekg.Msg) {
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	network := w.RemoteAddr().Network()
	z.mu.Lock()
	z.queries = append(z.queries, network+" "+name+" "+miekg.TypeToString[q.Qtype])
	z.mu.Unlock()

	m := new(miekg.Msg)
	m.SetReply(req)
	m.Authoritative = true
	switch {
	case name == "servfail.example.test.":
		m.Rcode = miekg.RcodeServerFailure
		m.Authoritative = false
	case name == "refused.example.test.":
		m.Rcode = miekg.RcodeRefused
		m.Authoritative = false
	case name == "big.example.test." && network == "udp":
		m.Truncated = true
	case !z.names[name]:
		m.Rcode = miekg.RcodeNameError
		m.Ns = z.records["example.test./SOA"]
	default:
		// Follow a CNAME chain inside the zone, as a server does.
		for range 8 {
			if rrs := z.records[name+"/"+miekg.TypeToString[q.Qtype]]; len(rrs) > 0 {
				m.Answer = append(m.Answer, rrs...)
				break
			}
			cname := z.records[name+"/CNAME"]
			if len(cname) == 0 {
				break
			}
			m.Answer = append(m.Answer, cname...)
			name = strings.ToLower(cname[0].(*miekg.CNAME).Target)
		}
		if len(m.Answer) == 0 {
			m.Ns = z.records["example.test./SOA"]
		}
	}
	w.WriteMsg(m)
}

// received returns the queries the server has seen so far.
func (z *zoneServer) received() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]string(nil), z.queries...)
}

// serve starts h on ip, over UDP and, when withTCP, over TCP on the same
// port, and returns host:port. Both servers stop at cleanup.
func serve(t testing.TB, ip string, port string, h miekg.Handler, withTCP bool) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	var err error
	// An ephemeral UDP port may be taken over TCP by someone else: try a
	// few ports, a bounded number of times.
	for range 10 {
		pc, err = net.ListenPacket("udp", net.JoinHostPort(ip, port))
		if err != nil {
			t.Fatalf("listen udp: %v", err)
		}
		if !withTCP {
			break
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil || port != "0" {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("listen tcp: %v", err)
	}
	start := func(s *miekg.Server) {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("the test DNS server did not start")
		}
		t.Cleanup(func() { s.Shutdown() })
	}
	start(&miekg.Server{PacketConn: pc, Handler: h})
	if ln != nil {
		start(&miekg.Server{Listener: ln, Handler: h})
	}
	return pc.LocalAddr().String()
}

// startZone serves the test zone on 127.0.0.1, UDP and TCP.
func startZone(t testing.TB) (*zoneServer, string) {
	z := newZoneServer(t)
	return z, serve(t, "127.0.0.1", "0", z, true)
}

// dropper is a UDP socket that reads queries and never answers: a server
// behind a firewall that drops, or a dead resolver.
func dropper(t testing.TB, addr string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().String()
}

// closedPort returns a loopback address where nothing listens, UDP or TCP.
func closedPort(t testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(lab.ClosedPort(t, "udp", "127.0.0.1:0"))
}

// replyWith serves every query with a reply that f fills in.
func replyWith(f func(req, reply *miekg.Msg)) miekg.Handler {
	return miekg.HandlerFunc(func(w miekg.ResponseWriter, req *miekg.Msg) {
		m := new(miekg.Msg)
		m.SetReply(req)
		f(req, m)
		w.WriteMsg(m)
	})
}

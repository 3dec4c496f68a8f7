package dns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	miekg "github.com/miekg/dns"
)

// The files the system resolver reads. They are variables only so that tests
// can point them at files of their own; inside a network namespace,
// `ip netns exec` mounts /etc/netns/NAME/hosts and resolv.conf over them,
// which is how the namespace tests give a client its own resolver.
var (
	hostsPath      = "/etc/hosts"
	resolvConfPath = "/etc/resolv.conf"
	// nameserverPort is 53: resolv.conf has no way to name another port.
	// Tests change it to reach a server on an ephemeral port.
	nameserverPort = "53"
)

// system resolves the way the C library does with "hosts: files dns" in
// nsswitch.conf, which is what nearly every Linux system has:
//
//   - A, AAAA and PTR look in the hosts file first. A name found there with
//     an address of the asked family (or an address found there, for PTR) is
//     answered from the file: rcode NOERROR, ttl 0, not authoritative.
//   - Otherwise the nameservers of resolv.conf are asked in order, each with
//     the file's timeout and attempts, a server that answers SERVFAIL or
//     REFUSED giving way to the next.
//   - A relative name goes through the search list with the ndots rule; the
//     first candidate with answers is reported, and when none has any, the
//     first candidate's answer (usually the name as written).
//
// Go's net.Resolver was the other way to do this, but it hides the response
// code, the TTL and the flags, and knows no SOA or CAA lookups.
func (q query) system(ctx context.Context) (Result, error) {
	qtype := miekg.TypeToString[q.qtype]
	if r, ok := q.fromHosts(qtype); ok {
		return r, nil
	}

	conf, err := miekg.ClientConfigFromFile(resolvConfPath)
	if err != nil {
		// Like the C library, a missing resolv.conf means a resolver on
		// this machine.
		conf = &miekg.ClientConfig{Ndots: 1, Timeout: 5, Attempts: 2}
	}
	if len(conf.Servers) == 0 {
		conf.Servers = []string{"127.0.0.1", "::1"}
	}
	servers := make([]string, len(conf.Servers))
	for i, s := range conf.Servers {
		servers[i] = net.JoinHostPort(s, nameserverPort)
	}

	var names []string
	if _, err := netip.ParseAddr(q.name); err == nil {
		names = []string{absolute(q.name, qtype)}
	} else {
		names = conf.NameList(strings.ToLower(q.name))
	}

	var first *Result
	for _, name := range names {
		r, err := q.askNameservers(ctx, name, servers, conf)
		if err != nil {
			return Result{}, err
		}
		if r.Rcode == "NOERROR" && r.AnswerCount > 0 {
			return r, nil
		}
		if first == nil {
			first = &r
		}
	}
	return *first, nil
}

// askNameservers asks the servers of resolv.conf in turn until one gives an
// answer that is not SERVFAIL or REFUSED; failing that, it reports the last
// such answer, and when no server answered at all, an error naming them.
func (q query) askNameservers(ctx context.Context, name string, servers []string, conf *miekg.ClientConfig) (Result, error) {
	var fallback *Result
	why := map[string]string{}
	answered := map[string]bool{}
	for attempt := 0; attempt < max(conf.Attempts, 1); attempt++ {
		for _, addr := range servers {
			if answered[addr] {
				continue
			}
			try, cancel := context.WithTimeout(ctx, time.Duration(max(conf.Timeout, 1))*time.Second)
			resp, proto, err := q.exchange(try, name, addr)
			cancel()
			if err != nil {
				why[addr] = describe(err)
				if expired(ctx) {
					return Result{}, q.systemFailure(ctx, servers, why, ctx.Err())
				}
				continue
			}
			r := q.result(resp, name, addr, proto)
			if resp.Rcode != miekg.RcodeServerFailure && resp.Rcode != miekg.RcodeRefused {
				return r, nil
			}
			fallback, answered[addr] = &r, true
		}
	}
	if fallback != nil {
		return *fallback, nil
	}
	return Result{}, q.systemFailure(ctx, servers, why, nil)
}

// expired tells whether the check's time is up. The socket's deadline is
// the context's, and its timeout can be seen a moment before the context's
// own timer has fired, so the clock is asked as well as the context.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	deadline, ok := ctx.Deadline()
	return ok && !time.Now().Before(deadline)
}

// systemFailure is the error when no nameserver of resolv.conf answered.
func (q query) systemFailure(ctx context.Context, servers []string, why map[string]string, ctxErr error) error {
	if errors.Is(ctxErr, context.Canceled) {
		return fmt.Errorf("interrupted before a nameserver of %s answered", resolvConfPath)
	}
	var parts []string
	for _, s := range servers {
		w, ok := why[s]
		if !ok {
			w = "not asked before the timeout"
		}
		parts = append(parts, s+": "+w)
	}
	return fmt.Errorf("no nameserver of %s answered within %s (%s); check that they run and that no firewall drops the queries, or set server",
		resolvConfPath, q.budget(ctx), strings.Join(parts, "; "))
}

// fromHosts answers A, AAAA and PTR questions from the hosts file, as the C
// library's "files" source does before DNS is asked.
func (q query) fromHosts(qtype string) (Result, bool) {
	entries := readHosts(hostsPath)
	var answers []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			answers = append(answers, s)
		}
	}
	var name string
	switch qtype {
	case "A", "AAAA":
		want := strings.ToLower(strings.TrimSuffix(q.name, "."))
		for _, e := range entries {
			if e.addr.Is4() != (qtype == "A") {
				continue
			}
			for _, n := range e.names {
				if n == want {
					add(e.addr.String())
				}
			}
		}
		name = absolute(q.name, qtype)
	case "PTR":
		ip, ok := reverseToAddr(absolute(q.name, qtype))
		if !ok {
			return Result{}, false
		}
		for _, e := range entries {
			if e.addr == ip {
				for _, n := range e.names {
					add(miekg.Fqdn(n))
				}
			}
		}
		name = absolute(ip.String(), qtype)
	}
	if len(answers) == 0 {
		return Result{}, false
	}
	return Result{
		Name:        name,
		Type:        qtype,
		Server:      hostsPath,
		Protocol:    "file",
		Rcode:       "NOERROR",
		Answers:     answers,
		AnswerCount: len(answers),
	}, true
}

// hostsEntry is one line of a hosts file: an address and its names, the
// names in lower case.
type hostsEntry struct {
	addr  netip.Addr
	names []string
}

// readHosts reads a hosts(5) file. A file that cannot be read holds no
// entries, as for the C library, which then goes on to DNS.
func readHosts(path string) []hostsEntry {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []hostsEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		addr, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		e := hostsEntry{addr: addr.Unmap().WithZone("")}
		for _, n := range fields[1:] {
			e.names = append(e.names, strings.ToLower(strings.TrimSuffix(n, ".")))
		}
		out = append(out, e)
	}
	return out
}

// reverseToAddr reads the address back out of an in-addr.arpa or ip6.arpa
// name, so that a PTR question written either way finds the hosts file's
// line.
func reverseToAddr(name string) (netip.Addr, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
			labels[i], labels[j] = labels[j], labels[i]
		}
		ip, err := netip.ParseAddr(strings.Join(labels, "."))
		return ip, err == nil && ip.Is4()
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		nibbles := strings.Split(rest, ".")
		if len(nibbles) != 32 {
			return netip.Addr{}, false
		}
		var b strings.Builder
		for i := 31; i >= 0; i-- {
			if len(nibbles[i]) != 1 {
				return netip.Addr{}, false
			}
			b.WriteString(nibbles[i])
			if i%4 == 0 && i > 0 {
				b.WriteByte(':')
			}
		}
		ip, err := netip.ParseAddr(b.String())
		return ip, err == nil && ip.Is6()
	}
	return netip.Addr{}, false
}

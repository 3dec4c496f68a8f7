package dns

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// useSystemFiles points the system resolver at a hosts file and a
// resolv.conf of the test's own, and at nameservers on port, until the test
// ends. Tests that call it must not run in parallel.
func useSystemFiles(t *testing.T, hosts, resolvConf, port string) (hostsFile string) {
	t.Helper()
	dir := t.TempDir()
	hostsFile = filepath.Join(dir, "hosts")
	conf := filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(hostsFile, []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(resolvConf), 0o644); err != nil {
		t.Fatal(err)
	}
	oldHosts, oldConf, oldPort := hostsPath, resolvConfPath, nameserverPort
	hostsPath, resolvConfPath, nameserverPort = hostsFile, conf, port
	t.Cleanup(func() { hostsPath, resolvConfPath, nameserverPort = oldHosts, oldConf, oldPort })
	return hostsFile
}

const testHosts = `# a hosts file as people write them
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
192.0.2.99	API.example.test api   # this line overrides DNS
198.18.0.5	db.internal.
`

// TestSystemResolver: without server, the hosts file answers A, AAAA and
// PTR for what it holds, and the nameservers of resolv.conf the rest.
func TestSystemResolver(t *testing.T) {
	z, addr := startZone(t)
	_, port, _ := net.SplitHostPort(addr)
	hosts := useSystemFiles(t, testHosts, "nameserver 127.0.0.1\n", port)

	fromFile := func(name, typ string, answers ...string) Result {
		return Result{Name: name, Type: typ, Server: hosts, Protocol: "file", Rcode: "NOERROR", Answers: answers, AnswerCount: len(answers)}
	}
	fromDNS := func(name, typ, rcode string, ttl int, answers ...string) Result {
		if answers == nil {
			answers = []string{}
		}
		return Result{Name: name, Type: typ, Server: addr, Protocol: "udp", Rcode: rcode, Answers: answers, AnswerCount: len(answers), TTL: ttl, Authoritative: true}
	}
	tests := []struct {
		name string
		cfg  Config
		want Result
	}{
		{"A from the hosts file, before DNS", Config{Name: "api.example.test", Type: "A"},
			fromFile("api.example.test.", "A", "192.0.2.99")},
		{"hosts names match in any case, with a trailing dot", Config{Name: "Api.Example.Test.", Type: "A"},
			fromFile("api.example.test.", "A", "192.0.2.99")},
		{"a short name in the hosts file", Config{Name: "api", Type: "A"},
			fromFile("api.", "A", "192.0.2.99")},
		{"localhost", Config{Name: "localhost", Type: "A"},
			fromFile("localhost.", "A", "127.0.0.1")},
		{"AAAA from the hosts file", Config{Name: "localhost", Type: "AAAA"},
			fromFile("localhost.", "AAAA", "::1")},
		{"a hosts line with a trailing dot", Config{Name: "db.internal", Type: "A"},
			fromFile("db.internal.", "A", "198.18.0.5")},
		{"PTR from the hosts file: every name of the address", Config{Name: "192.0.2.99", Type: "PTR"},
			fromFile("99.2.0.192.in-addr.arpa.", "PTR", "api.example.test.", "api.")},
		{"PTR of an in-addr.arpa name from the hosts file", Config{Name: "99.2.0.192.in-addr.arpa.", Type: "PTR"},
			fromFile("99.2.0.192.in-addr.arpa.", "PTR", "api.example.test.", "api.")},
		{"AAAA not in the hosts file goes to DNS", Config{Name: "api.example.test", Type: "AAAA"},
			fromDNS("api.example.test.", "AAAA", "NOERROR", 300, "2001:db8::10")},
		{"MX is never in the hosts file", Config{Name: "example.test", Type: "MX"},
			fromDNS("example.test.", "MX", "NOERROR", 3600, "10 mail.example.test.", "20 backup.example.test.")},
		{"PTR not in the hosts file goes to DNS", Config{Name: "192.0.2.10", Type: "PTR"},
			fromDNS("10.2.0.192.in-addr.arpa.", "PTR", "NOERROR", 300, "api.example.test.")},
		{"an unresolvable name: NXDOMAIN from the nameserver", Config{Name: "nope.example.test", Type: "A"},
			fromDNS("nope.example.test.", "A", "NXDOMAIN", 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.RecursionDesired = true
			got, err := ask(t, tc.cfg, 3*time.Second)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			got.RecursionAvailable = false
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("result\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	for _, q := range z.received() {
		if strings.Contains(q, "localhost") || q == "udp api.example.test. A" {
			t.Errorf("the nameserver was asked %q, which the hosts file answers", q)
		}
	}
}

// TestSearchList: a relative name goes through resolv.conf's search list;
// the first candidate with answers wins, and without any, the first
// candidate is reported.
func TestSearchList(t *testing.T) {
	_, addr := startZone(t)
	_, port, _ := net.SplitHostPort(addr)
	useSystemFiles(t, "", "search example.test\nnameserver 127.0.0.1\n", port)
	tests := []struct {
		name, typ   string
		wantName    string
		wantRcode   string
		wantAnswers []string
	}{
		{"api", "AAAA", "api.example.test.", "NOERROR", []string{"2001:db8::10"}},
		{"_sip._tcp", "SRV", "_sip._tcp.example.test.", "NOERROR", []string{"10 60 5060 sip.example.test."}},
		{"nope", "A", "nope.example.test.", "NXDOMAIN", []string{}},
		{"www", "MX", "www.example.test.", "NOERROR", []string{}},
		{"api.example.test", "A", "api.example.test.", "NOERROR", []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"}},
		{"nope.example", "A", "nope.example.", "NXDOMAIN", []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.typ, func(t *testing.T) {
			r, err := ask(t, Config{Name: tc.name, Type: tc.typ, RecursionDesired: true}, 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != tc.wantName || r.Rcode != tc.wantRcode || !reflect.DeepEqual(r.Answers, tc.wantAnswers) {
				t.Errorf("got %s %s %q, want %s %s %q", r.Name, r.Rcode, r.Answers, tc.wantName, tc.wantRcode, tc.wantAnswers)
			}
		})
	}
}

// TestNameserverOrder: a nameserver that fails, refuses or does not answer
// gives way to the next one in resolv.conf; when none answers, the error
// names them all.
func TestNameserverOrder(t *testing.T) {
	_, good := startZone(t)
	_, port, _ := net.SplitHostPort(good)
	servfail := serve(t, "127.0.0.2", port, replyWith(func(_, m *miekg.Msg) { m.Rcode = miekg.RcodeServerFailure }), false)
	silent := dropper(t, "127.0.0.3:"+port)

	tests := []struct {
		name       string
		resolvConf string
		timeout    time.Duration
		wantServer string
		wantRcode  string
		wantErr    string // a regular expression
	}{
		{"SERVFAIL gives way to the next server", "nameserver 127.0.0.2\nnameserver 127.0.0.1\n", 3 * time.Second, good, "NOERROR", ""},
		{"a silent server gives way after the file's timeout", "options timeout:1 attempts:1\nnameserver 127.0.0.3\nnameserver 127.0.0.1\n", 4 * time.Second, good, "NOERROR", ""},
		{"every server fails: the failure is the answer", "nameserver 127.0.0.2\n", 3 * time.Second, servfail, "SERVFAIL", ""},
		{"nobody answers: an error", "nameserver 127.0.0.3\n", 500 * time.Millisecond, "", "",
			regexp.QuoteMeta("answered within ") + "(500|450)ms" + regexp.QuoteMeta(" ("+silent+": no answer); check that they run")},
		{"nobody answers before the check's timeout", "options timeout:1 attempts:2\nnameserver 127.0.0.3\nnameserver 127.0.0.2\n", 600 * time.Millisecond, "", "",
			regexp.QuoteMeta("(" + silent + ": no answer; " + servfail + ": not asked before the timeout)")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			useSystemFiles(t, "", tc.resolvConf, port)
			start := time.Now()
			r, err := ask(t, Config{Name: "api.example.test", Type: "A", RecursionDesired: true}, tc.timeout)
			if took := time.Since(start); took > tc.timeout+2*time.Second {
				t.Errorf("took %v with a timeout of %v", took, tc.timeout)
			}
			if tc.wantErr != "" {
				if err == nil || !regexp.MustCompile(tc.wantErr).MatchString(err.Error()) || !strings.Contains(err.Error(), resolvConfPath) {
					t.Fatalf("error %v, want it to name %s and say %q", err, resolvConfPath, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Server != tc.wantServer || r.Rcode != tc.wantRcode {
				t.Errorf("answered by %s with %s, want %s with %s", r.Server, r.Rcode, tc.wantServer, tc.wantRcode)
			}
		})
	}
}

// TestReadHosts: comments, blank lines, bad addresses and zones.
func TestReadHosts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(path, []byte("# comment\n\n  127.0.0.1 localhost Local.Domain # tail\nnot-an-ip name\n192.0.2.1\nfe80::1%lo ll\n::ffff:192.0.2.7 mapped\n"), 0o644)
	var got []string
	for _, e := range readHosts(path) {
		got = append(got, e.addr.String()+" "+strings.Join(e.names, ","))
	}
	want := []string{"127.0.0.1 localhost,local.domain", "fe80::1 ll", "192.0.2.7 mapped"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if readHosts(filepath.Join(t.TempDir(), "missing")) != nil {
		t.Error("a missing hosts file has entries")
	}
}

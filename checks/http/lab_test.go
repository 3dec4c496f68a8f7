package http

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/lab"
)

// TestExampleAgainstNginx runs examples/http, as a user would, with the
// nettest binary in a client namespace against nginx in a web namespace at
// 198.18.0.2: once against a site that is what the example expects (every
// check passes), once against one that is broken in every way the example
// looks for (every check fails, with the diff a user would read).
func TestExampleAgainstNginx(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireBinary(t, "nginx", "nginx-light")
	example, err := filepath.Abs("../../examples/http")
	if err != nil {
		t.Fatal(err)
	}
	ca := newAuthority(t, "nettest lab CA")
	caFile := writeFile(t, "ca.pem", ca.pem)

	type site struct {
		certDays                     time.Duration
		health, redirect, tlsHeaders string
	}
	tests := []struct {
		name     string
		site     site
		wantExit int
		want     map[string][]string // address → "field: expected | actual" prefixes of its diffs; nil passes
	}{
		{"healthy", site{
			certDays: 90,
			health:   `location = /healthz { default_type application/json; return 200 '{"status": "ok", "db": "up"}'; }`,
			redirect: `return 301 https://$host$request_uri;`,
			tlsHeaders: `add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
				add_header X-Content-Type-Options nosniff always;
				add_header X-Frame-Options DENY always;
				add_header Content-Security-Policy "default-src 'self'" always;`,
		}, 0, map[string][]string{
			"http.health": nil, "http.redirect_to_https": nil, "http.security_headers": nil, "http.certificate": nil,
		}},
		{"broken", site{
			certDays: 10,
			health:   `location = /healthz { default_type text/html; return 503 '{"status": "down"}'; }`,
			redirect: `return 302 http://$host/login;`,
			tlsHeaders: `add_header Strict-Transport-Security "max-age=300" always;
				add_header X-Frame-Options ALLOWALL always;
				add_header X-Powered-By PHP/8.3 always;`,
		}, 1, map[string][]string{
			"http.health": {
				`body: matches "\"status\"\\s*:\\s*\"ok\"" | "{\"status\": \"down\"}" (18 bytes)`,
				`headers: { content-type matches "^application/json" } | { content-type = "text/html" }`,
				`status: 200 | 503`,
			},
			"http.redirect_to_https": {
				`headers: { location = "https://www.example.com/" } | { location = "http://www.example.com/login" }`,
				`status: one of [301, 308] | 302 (redirect to "http://www.example.com/login")`,
			},
			"http.security_headers": {
				`headers: { content-security-policy matches "", strict-transport-security matches "max-age=\\d{7,}", x-content-type-options matches "^nosniff$", x-frame-options matches "^(DENY|SAMEORIGIN)$" } | { content-security-policy absent, strict-transport-security = "max-age=300", x-content-type-options absent, x-frame-options = "ALLOWALL" }`,
				`headers: no x-powered-by | { x-powered-by = "PHP/8.3" }`,
			},
			"http.certificate": {
				`cert_days_left: at least 14 | 9 (expires `,
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := lab.New(t)
			client, web := l.Host("client"), l.Host("web")
			l.Link(client, "198.18.0.1/24", web, "198.18.0.2/24")

			cert := ca.issue(t, time.Now().Add(tt.site.certDays*24*time.Hour-time.Hour), false, "www.example.com")
			certFile := writeFile(t, "site.crt", cert.certPEM)
			keyFile := writeFile(t, "site.key", cert.keyPEM)
			web.StartNginx(t, "listen 198.18.0.2:8080;\n"+tt.site.health)
			web.StartNginx(t, "listen 198.18.0.2:80;\nserver_name www.example.com;\n"+tt.site.redirect)
			web.StartNginx(t, fmt.Sprintf(`listen 198.18.0.2:443 ssl;
				server_name www.example.com;
				ssl_certificate %s;
				ssl_certificate_key %s;
				%s
				location / { return 200 "welcome\n"; }`, certFile, keyFile, tt.site.tlsHeaders))

			// SSL_CERT_FILE makes the lab's CA the system's, as an internal
			// CA installed on a real machine would be.
			results, _, code, out := client.NettestVia(t, []string{"env", "SSL_CERT_FILE=" + caFile},
				"--var=web_host=198.18.0.2", example)
			if code != tt.wantExit {
				t.Errorf("exit code %d, want %d\n%s", code, tt.wantExit, out)
			}
			got := map[string][]string{}
			for _, line := range results {
				if line.Status == "error" {
					t.Errorf("%s errored: %s", line.Address, line.Message)
				}
				got[line.Address] = []string{}
				for _, d := range line.TextDiffs() {
					got[line.Address] = append(got[line.Address], d.Field+": "+d.Expected+" | "+d.Actual)
				}
			}
			for address, want := range tt.want {
				diffs, ran := got[address]
				if !ran {
					t.Errorf("%s did not run", address)
					continue
				}
				if len(diffs) != len(want) {
					t.Errorf("%s diffs:\n  %s\nwant:\n  %s", address, strings.Join(diffs, "\n  "), strings.Join(want, "\n  "))
					continue
				}
				// The runner's order of diff lines is its own; compare sorted.
				for _, w := range want {
					found := false
					for _, d := range diffs {
						found = found || strings.HasPrefix(d, w)
					}
					if !found {
						t.Errorf("%s: no diff line starting %q in\n  %s", address, w, strings.Join(diffs, "\n  "))
					}
				}
			}
		})
	}
}

// TestNameResolution: a URL with a host name is resolved the way the system
// does it (/etc/resolv.conf, here the namespace's), and a name that does not
// resolve, a resolver that never answers, or a port a firewall filters, is
// an error saying so. The nettest binary runs in two client namespaces: one
// whose nameserver is dnsmasq, one whose nameserver drops every query.
func TestNameResolution(t *testing.T) {
	lab.RequireRoot(t)
	l := lab.New(t)
	client, silentClient, server := l.Host("client"), l.Host("silent"), l.Host("server")
	l.Link(client, "198.18.0.1/24", server, "198.18.0.2/24")
	l.Link(silentClient, "198.18.1.1/24", server, "198.18.1.2/24")
	server.StartDnsmasq(t, "--listen-address=198.18.0.2", "--local=/lab.test/", "--host-record=web.lab.test,198.18.0.2")
	server.StartNginx(t, `listen 80; location / { return 200 "ok\n"; }`)
	server.Iptables(t, "-A", "INPUT", "-d", "198.18.1.2", "-p", "udp", "--dport", "53", "-j", "DROP")
	server.Iptables(t, "-A", "INPUT", "-d", "198.18.1.2", "-p", "tcp", "--dport", "53", "-j", "DROP")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "81", "-j", "DROP")
	client.Resolv(t, "198.18.0.2")
	silentClient.Resolv(t, "198.18.1.2")

	suite := writeFile(t, "dns.nettest.hcl", []byte(`
defaults {
  timeout = "1s"
}

http "by_name" {
  url = "http://web.lab.test/"
  expect {
    status = 200
  }
}

http "unknown_name" {
  url = "http://nope.lab.test/"
  expect {
    status = 200
  }
}

http "filtered" {
  url = "http://web.lab.test:81/"
  expect {
    status = 200
  }
}
`))
	tests := []struct {
		name string
		host *lab.Host
		want map[string]string // address → "pass" or a part of the error message
	}{
		{"dnsmasq answers", client, map[string]string{
			"http.by_name":      "pass",
			"http.unknown_name": `cannot resolve host "nope.lab.test": no such host; check the name, /etc/hosts and /etc/resolv.conf, or use an IP address`,
			"http.filtered":     `no connection to web.lab.test:81 within 1s (the check's timeout): nothing answered the connection attempt, so a firewall may drop the packets`,
		}},
		{"the nameserver drops queries", silentClient, map[string]string{
			"http.by_name":      `resolving "web.lab.test" did not finish within 1s (the check's timeout); check the nameservers in /etc/resolv.conf, or use an IP address`,
			"http.unknown_name": `resolving "nope.lab.test" did not finish within 1s`,
			"http.filtered":     `resolving "web.lab.test" did not finish within 1s`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, _, code, out := tt.host.Nettest(t, suite)
			if code != 1 {
				t.Errorf("exit code %d, want 1\n%s", code, out)
			}
			seen := 0
			for _, line := range results {
				want, ok := tt.want[line.Address]
				if !ok {
					continue
				}
				seen++
				switch {
				case want == "pass" && line.Status != "pass":
					t.Errorf("%s: %s (%s), want pass", line.Address, line.Status, line.Message)
				case want != "pass" && (line.Status != "error" || !strings.Contains(line.Message, want)):
					t.Errorf("%s: %s %q\nwant error containing %q", line.Address, line.Status, line.Message, want)
				}
			}
			if seen != len(tt.want) {
				t.Errorf("saw %d of %d checks in:\n%s", seen, len(tt.want), out)
			}
		})
	}
}

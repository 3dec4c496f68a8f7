package main

import (
	"encoding/base64"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	miekg "github.com/miekg/dns"
)

// The secrets of TestSecretsNeverPrinted. The token has upper-case letters
// because the DNS server answers with the name lower-cased.
const (
	secretToken = "Tok3nXyZzy42"
	secretPin   = "98x7613"
	secretCode  = "c0de-NotANumber"
	secretHost  = "127.0.0.1" // a tcp host is a secret too
)

// TestSecretsNeverPrinted runs suites that put sensitive values everywhere
// a value can go (a URL path, a request header built from base64encode, a
// DNS name, a tcp host, a description, an assert's error_message, a
// validation's error_message, a --var-file line, a function's argument)
// against servers that echo them back (the web server in its body and a
// header, the DNS server lower-cased in a TXT answer), and searches every
// byte of every output for them: the console with and without --verbose,
// --json, the JUnit file, the HTML page, plan, and validate's diagnostics.
func TestSecretsNeverPrinted(t *testing.T) {
	var mu sync.Mutex
	var seen []string // what the servers received, to prove the secrets went out
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		mu.Lock()
		seen = append(seen, r.URL.Path, auth)
		mu.Unlock()
		w.Header().Set("X-Echo", auth)
		w.Header().Set("X-Path", r.URL.Path)
		fmt.Fprintf(w, "you asked for %s with %s\n", r.URL.Path, auth)
	}))
	defer web.Close()
	dnsAddr := echoDNS(t, func(name string) {
		mu.Lock()
		seen = append(seen, name)
		mu.Unlock()
	})
	open, closed := ports(t)

	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	runSuite := write("run/secrets.nettest.hcl", `
variable "token" {
  type      = string
  sensitive = true
}
variable "db" {
  type      = string
  sensitive = true
}
variable "web" {
  type = string
}
variable "dns_server" {
  type = string
}
variable "open_port" {
  type = number
}
variable "closed_port" {
  type = number
}

http "path" {
  url         = "http://${var.web}/p/${var.token}"
  description = "Token ${var.token} opens the door"
  headers = {
    Authorization = "Basic ${base64encode("user:${var.token}")}"
  }
  expect {
    status = 200
  }
}

http "echo_fails" {
  url = "http://${var.web}/p/${var.token}"
  headers = {
    Authorization = "Basic ${base64encode("user:${var.token}")}"
  }
  expect {
    status        = 201
    body_contains = "not in the body"
    headers = {
      X-Echo = "something else"
    }
  }
  assert {
    condition     = self.status == 201
    error_message = "The server rejected ${var.token}."
  }
}

dns "name" {
  name   = "${var.token}.example.test"
  type   = "TXT"
  server = var.dns_server
  expect {
    rcode = "NOERROR"
  }
}

dns "name_fails" {
  name        = "${var.token}.example.test"
  type        = "TXT"
  server      = var.dns_server
  description = "${var.token} resolves"
  expect {
    answers = ["something else"]
  }
}

tcp "db" {
  host = var.db
  port = var.open_port
  expect {
    open = true
  }
}

tcp "db_closed" {
  host = var.db
  port = var.closed_port
  expect {
    state = "open"
  }
}

tcp "db_retried" {
  host    = var.db
  port    = var.closed_port
  retries = 1
  retry_interval = "10ms"
  expect {
    open = true
  }
}
`)
	varFile := write("secrets.tfvars", fmt.Sprintf("token = %q\ndb = %q\n", secretToken, secretHost))
	badSuite := write("bad/bad.nettest.hcl", `
variable "token" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.token) > 100
    error_message = "The token ${var.token} is too short."
  }
}
variable "pin" {
  type      = number
  sensitive = true
}
variable "code" {
  type      = string
  sensitive = true
}
locals {
  code = tonumber(var.code)
}
tcp "x" {
  host = "localhost"
  port = 1
  expect {
    open = false
  }
}
`)
	badVars := write("bad.tfvars", fmt.Sprintf("token = %q\npin = %q\ncode = %q\n", secretToken, secretPin, secretCode))

	vars := []string{"--var-file=" + varFile, "--var", "web=" + strings.TrimPrefix(web.URL, "http://"),
		"--var", "dns_server=" + dnsAddr, "--var", "open_port=" + strconv.Itoa(open), "--var", "closed_port=" + strconv.Itoa(closed)}
	junit, page := filepath.Join(dir, "report.xml"), filepath.Join(dir, "report.html")
	var outputs []string
	runs := []struct {
		args []string
		code int
	}{
		{append([]string{"test", runSuite, "--junit=" + junit, "--html=" + page}, vars...), 1},
		{append([]string{"test", runSuite, "--verbose"}, vars...), 1},
		{append([]string{"test", runSuite, "--json"}, vars...), 1},
		{append([]string{"plan", runSuite}, vars...), 0},
		{append([]string{"validate", runSuite}, vars...), 0},
		{[]string{"validate", badSuite, "--var-file=" + badVars}, 2},
		{[]string{"plan", badSuite, "--var-file=" + badVars}, 2},
		{[]string{"test", badSuite, "--var-file=" + badVars}, 2},
		{[]string{"test", badSuite, "--var", "token=" + secretToken, "--var", "pin=" + secretPin, "--var", "code=" + secretCode}, 2},
	}
	for n, r := range runs {
		got := nettest(t, r.args...)
		if got.code != r.code {
			t.Errorf("run %d, nettest %s: exit code %d, want %d\n%s%s", n, strings.Join(r.args, " "), got.code, r.code, got.stdout, got.stderr)
		}
		// The command lines hold the secrets; only the outputs are searched.
		outputs = append(outputs, fmt.Sprintf("run %d, nettest %s:\n%s%s", n, r.args[0], got.stdout, got.stderr))
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, "JUnit:\n"+string(data))
	if data, err = os.ReadFile(page); err != nil {
		t.Fatal(err)
	}
	// Searched as written and with its character references undone, so
	// that an escaped secret counts as a leak too.
	outputs = append(outputs, "HTML:\n"+string(data), "HTML, unescaped:\n"+html.UnescapeString(string(data)))

	// The secrets really went out: a test that never sent them would pass.
	mu.Lock()
	sent := strings.Join(seen, "\n")
	mu.Unlock()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+secretToken))
	for _, s := range []string{"/p/" + secretToken, auth, strings.ToLower(secretToken) + ".example.test."} {
		if !strings.Contains(sent, s) {
			t.Errorf("the servers never received %q; they saw:\n%s", s, sent)
		}
	}

	forbidden := []string{secretToken, secretPin, secretCode, secretHost, auth,
		base64.StdEncoding.EncodeToString([]byte("user:" + secretToken)), url.PathEscape(secretToken)}
	all := strings.Join(outputs, "\n")
	for _, s := range forbidden {
		if i := strings.Index(strings.ToLower(all), strings.ToLower(s)); i >= 0 {
			t.Errorf("the output shows the secret %q:\n…%s…", s, all[max(0, i-300):min(len(all), i+100)])
		}
	}
	// What the redaction leaves must still say what happened.
	for _, s := range []string{
		"PASS   http.path", "PASS   dns.name", "PASS   tcp.db ",
		"Token (sensitive value) opens the door",
		"The server rejected (sensitive value).",
		"The token (sensitive value) is too short.",
		`state: expected "open", got "closed"`, `"address":"dns.name","kind":"dns","status":"pass"`,
	} {
		if !strings.Contains(all, s) {
			t.Errorf("the output lacks %q", s)
		}
	}
	if t.Failed() {
		t.Logf("all output:\n%s", all)
	}
}

// echoDNS starts a DNS server on loopback that answers every question with
// a TXT record holding the asked name lower-cased, as servers give names
// back, and calls saw with that name.
func echoDNS(t *testing.T, saw func(name string)) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &miekg.Server{PacketConn: pc, Handler: miekg.HandlerFunc(func(w miekg.ResponseWriter, req *miekg.Msg) {
		m := new(miekg.Msg)
		m.SetReply(req)
		name := strings.ToLower(req.Question[0].Name)
		saw(name)
		m.Answer = append(m.Answer, &miekg.TXT{Hdr: miekg.RR_Header{Name: name, Rrtype: miekg.TypeTXT, Class: miekg.ClassINET, Ttl: 60},
			Txt: []string{"you asked for " + name}})
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

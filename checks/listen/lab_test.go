package listen_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks/listen"
	"github.com/nettest/nettest/internal/lab"
)

// nginxLab is one namespace with nginx on 198.18.0.2:80 and [::]:8081
// (IPv6 only, nginx's default for [::]), and the pid nginx wrote.
func nginxLab(t *testing.T) (*lab.Host, int) {
	t.Helper()
	l := lab.New(t)
	web, peer := l.Host("web"), l.Host("peer")
	l.Link(web, "198.18.0.2/24", peer, "198.18.0.1/24")
	dir := web.StartNginx(t, `listen 198.18.0.2:80; listen [::]:8081; location / { return 200 "ok\n"; }`)
	b, err := os.ReadFile(filepath.Join(dir, "nginx.pid"))
	if err != nil {
		t.Fatalf("nginx wrote no pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("nginx.pid: %v", err)
	}
	return web, pid
}

// The probe in nginx's namespace finds its sockets and names nginx, its pid
// and its user; in another namespace the same port is not listening.
func TestLabNginx(t *testing.T) {
	web, pid := nginxLab(t)
	r, err := lab.Probe(web, 5*time.Second, listen.Probe, listen.Config{Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	want := listen.Process{Name: "nginx", PID: pid, User: "root", UID: 0}
	if !r.Listening || strings.Join(r.Addresses, " ") != "198.18.0.2:80" || r.Process != "nginx" || r.PID == nil || *r.PID != pid ||
		r.User != "root" || len(r.Processes) != 1 || r.Processes[0] != want || r.Error != "" {
		t.Errorf("got %+v (pid %v), want nginx (pid %d, root) listening on 198.18.0.2:80", r, r.PID, pid)
	}
	r, err = lab.Probe(web, 5*time.Second, listen.Probe, listen.Config{Port: 8081, Address: new("198.18.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Listening || strings.Join(r.Addresses, " ") != "[::]:8081" {
		t.Errorf("nginx's IPv6-only [::]:8081 counted for an IPv4 address: %+v", r)
	}
}

// The nettest binary in the namespace, as a user runs it: as root it sees
// nginx; as nobody it still sees the sockets (any user may list them) but
// not their owner, and the diff says why.
func TestLabSuite(t *testing.T) {
	web, _ := nginxLab(t)
	dir := lab.SuiteDir(t, map[string]string{"listen.nettest.hcl": `
listen "web" {
  port = 80
  expect {
    listening = true
    process   = "nginx"
    user      = "root"
    addresses = ["198.18.0.2:80"]
  }
}

listen "web_on_every_address" {
  port    = 80
  address = "0.0.0.0"
  expect {
    listening = true
  }
}

listen "web_as_www_data" {
  port = 80
  expect {
    user = "www-data"
  }
}

listen "nothing_on_8080" {
  port = 8080
  expect {
    listening = false
  }
}
`})
	results, _, code, out := web.Nettest(t, dir)
	if code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, out)
	}
	got := map[string]string{}
	for _, r := range results {
		got[r.Address] = fmt.Sprintf("%s %v", r.Status, r.TextDiffs())
	}
	want := map[string]string{
		"listen.web":                  "pass []",
		"listen.web_on_every_address": `fail [{listening true false (bound on 198.18.0.2:80)}]`,
		"listen.web_as_www_data":      `fail [{user "www-data" "root"}]`,
		"listen.nothing_on_8080":      "pass []",
	}
	for addr, w := range want {
		if got[addr] != w {
			t.Errorf("%s:\n got %s\nwant %s", addr, got[addr], w)
		}
	}

	lab.RequireBinary(t, "setpriv", "util-linux")
	results, _, code, out = web.NettestVia(t, []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, dir)
	if code != 1 {
		t.Fatalf("as nobody: exit code %d, want 1\n%s", code, out)
	}
	web1 := lab.ByAddress(results)["listen.web"]
	if web1.Status != "fail" || len(web1.Diffs) != 2 || web1.Diffs[0].Field != "process" ||
		!strings.Contains(web1.Diffs[0].ActualText, "the socket's owner is not visible") || !strings.Contains(web1.Diffs[0].ActualText, "run nettest as root") {
		t.Errorf("as nobody, listen.web: %s %+v, want the process and user unmet because the owner is hidden", web1.Status, web1.TextDiffs())
	}
	if r := lab.ByAddress(results)["listen.nothing_on_8080"]; r.Status != "pass" {
		t.Errorf("as nobody, listen.nothing_on_8080: %s %+v", r.Status, r.TextDiffs())
	}
}

// From a vantage, the agent asks the kernel there: nettest runs in the peer
// namespace, where nothing listens on port 80, and a check from a netns
// vantage in nginx's namespace finds nginx, its pid and its user, as the
// result comes back through the agent.
func TestLabFromVantage(t *testing.T) {
	web, pid := nginxLab(t)
	peer := lab.New(t).Host("elsewhere")
	dir := lab.SuiteDir(t, map[string]string{"listen.nettest.hcl": fmt.Sprintf(`
vantage "web" {
  netns = %q
}

listen "web_there" {
  from = vantage.web
  port = 80
  expect {
    listening = true
    process   = "nginx"
    user      = "root"
    addresses = ["198.18.0.2:80"]
  }
  assert {
    condition     = self.pid == %d
    error_message = "not nginx's pid"
  }
}

listen "web_here" {
  port = 80
  expect {
    listening = false
  }
}
`, web.Name(), pid)})
	results, _, code, out := peer.Nettest(t, dir)
	if code != 0 || len(results) != 2 {
		t.Fatalf("exit code %d with %d results, want 0 and 2\n%s", code, len(results), out)
	}
}

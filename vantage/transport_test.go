package vantage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// behindBlue is a lab where a vault (198.18.3.2, port 80 open) is reached
// only from the namespace blue, whose /etc/hosts names it vault.lab.
func behindBlue(t *testing.T) (blue *lab.Host) {
	t.Helper()
	l := lab.New(t)
	blue, vault := l.Host("blue"), l.Host("vault")
	l.Link(blue, "198.18.3.1/24", vault, "198.18.3.2/24")
	go lab.AcceptAndClose(vault.Listen(t, "tcp", "198.18.3.2:80"))
	blue.Hosts(t, "198.18.3.2 vault.lab")
	blue.Resolv(t, "198.18.3.1") // nobody answers there: never this machine's DNS
	return blue
}

// probeFrom probes tcp 198.18.3.2:80 and resolves vault.lab from the
// vantage, and requires what blue sees.
func probeFrom(t *testing.T, s *Set, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), 10*time.Second), 10*time.Second)
	defer cancel()
	tcp, _ := checks.Lookup("tcp")
	v, err := s.Prober(name).Probe(ctx, tcp, defaultArgs(tcp, map[string]cty.Value{"host": cty.StringVal("198.18.3.2"), "port": cty.NumberIntVal(80)}))
	if err != nil {
		t.Fatalf("tcp from %s: %v", name, err)
	}
	if st := v.GetAttr("state").AsString(); st != "open" {
		t.Errorf("tcp from %s: state %q, want open", name, st)
	}
	dns, _ := checks.Lookup("dns")
	v, err = s.Prober(name).Probe(ctx, dns, defaultArgs(dns, map[string]cty.Value{"name": cty.StringVal("vault.lab")}))
	if err != nil {
		t.Fatalf("dns from %s: %v", name, err)
	}
	if got := checks.Strings(v.GetAttr("answers")); len(got) != 1 || got[0] != "198.18.3.2" {
		t.Errorf("dns from %s: answers %q, want the /etc/hosts of blue: [198.18.3.2]", name, got)
	}
}

func TestNetnsVantage(t *testing.T) {
	blue := behindBlue(t)
	s := NewSet(context.Background(), map[string]*schema.Vantage{
		"blue":   {Name: "blue", Netns: blue.Name()},
		"byfile": {Name: "byfile", NetnsPath: "/run/netns/" + blue.Name()},
		"absent": {Name: "absent", Netns: "nettest-no-such-namespace"},
	}, Options{Parallelism: 8})
	defer s.Close()
	probeFrom(t, s, "blue")

	// By path there is no /etc/netns to read, so only the socket counts.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tcp, _ := checks.Lookup("tcp")
	args := defaultArgs(tcp, map[string]cty.Value{"host": cty.StringVal("198.18.3.2"), "port": cty.NumberIntVal(80)})
	if v, err := s.Prober("byfile").Probe(ctx, tcp, args); err != nil || v.GetAttr("state").AsString() != "open" {
		t.Errorf("tcp from netns_path: %v %v", v, err)
	}
	_, err := s.Prober("absent").Probe(ctx, tcp, args)
	if err == nil || !strings.Contains(err.Error(), "vantage absent: cannot open the network namespace /run/netns/nettest-no-such-namespace") {
		t.Errorf("absent namespace: got %v", err)
	}
}

func TestExecVantage(t *testing.T) {
	blue := behindBlue(t)
	nsenter := lab.RequireBinary(t, "nsenter", "util-linux")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ipExec := []string{"ip", "netns", "exec", blue.Name()}
	enter := []string{nsenter, "--net=/run/netns/" + blue.Name()}
	for _, tc := range []struct {
		name   string
		exec   schema.ExecVantage
		copied bool
	}{
		{"ip netns exec, copied", schema.ExecVantage{Command: ipExec}, true},
		{"ip netns exec, agent_path", schema.ExecVantage{Command: ipExec, AgentPath: self}, false},
		{"nsenter, copied", schema.ExecVantage{Command: enter}, true},
		{"nsenter, agent_path", schema.ExecVantage{Command: enter, AgentPath: self}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := tc.exec
			s := NewSet(context.Background(), map[string]*schema.Vantage{"pod": {Name: "pod", Exec: &ex}}, Options{Parallelism: 8})
			if tc.name[:2] == "ns" {
				// nsenter enters the network namespace only: the hosts
				// file is this machine's, so only the socket is checked.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				tcp, _ := checks.Lookup("tcp")
				v, err := s.Prober("pod").Probe(ctx, tcp, defaultArgs(tcp, map[string]cty.Value{"host": cty.StringVal("198.18.3.2"), "port": cty.NumberIntVal(80)}))
				if err != nil || v.GetAttr("state").AsString() != "open" {
					t.Errorf("tcp through nsenter: %v %v", v, err)
				}
			} else {
				probeFrom(t, s, "pod")
			}
			r := s.remotes["pod"]
			copiedTo := r.conn.l.copiedTo
			if tc.copied != (copiedTo != "") {
				t.Errorf("copied to %q; want a copy: %v", copiedTo, tc.copied)
			}
			if tc.copied {
				if _, err := os.Stat(filepath.Join(copiedTo, "nettest")); err != nil {
					t.Errorf("the copy is not where the script said: %v", err)
				}
			}
			s.Close()
			if copiedTo != "" {
				if _, err := os.Stat(copiedTo); !os.IsNotExist(err) {
					t.Errorf("%s is still there after the run: %v", copiedTo, err)
				}
			}
		})
	}
}

// TestExecVantageOfAnotherPlatform gives the bootstrap script a uname that
// says arm64: the copy must be refused with a message naming agent_path.
func TestExecVantageOfAnotherPlatform(t *testing.T) {
	bin := t.TempDir()
	uname := "#!/bin/sh\ncase \"$1\" in -s) echo Linux;; -m) echo mips64;; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "uname"), []byte(uname), 0o755); err != nil {
		t.Fatal(err)
	}
	s := NewSet(context.Background(), map[string]*schema.Vantage{"odd": {Name: "odd", Exec: &schema.ExecVantage{
		Command: []string{"env", "PATH=" + bin + ":" + os.Getenv("PATH")}}}}, Options{})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.Prober("odd").Probe(ctx, sleepKind, sleepArgs("0s"))
	if err == nil || !strings.Contains(err.Error(), "vantage odd: the far side is Linux/mips64") || !strings.Contains(err.Error(), "set agent_path") {
		t.Errorf("got %v", err)
	}
}

// TestExecVantageThatCannotStart: a missing agent_path is an error that
// says what the far side said.
func TestExecVantageThatCannotStart(t *testing.T) {
	s := NewSet(context.Background(), map[string]*schema.Vantage{"gone": {Name: "gone", Exec: &schema.ExecVantage{
		Command: []string{"sh", "-c", `exec "$@"`, "sh"}, AgentPath: "/nonexistent/nettest"}}}, Options{})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.Prober("gone").Probe(ctx, sleepKind, sleepArgs("0s"))
	if err == nil || !strings.Contains(err.Error(), "vantage gone: the agent did not start") || !strings.Contains(err.Error(), "/nonexistent/nettest") {
		t.Errorf("got %v", err)
	}
}

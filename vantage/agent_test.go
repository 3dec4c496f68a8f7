package vantage

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/internal/lab"
	"github.com/zclconf/go-cty/cty"
)

// TestMain lets the test binary stand in for nettest at a vantage: started
// as `TESTBINARY agent …` (as the netns and exec transports start
// nettest), it is the agent.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(AgentMain(os.Args[2:], os.Stdin, os.Stdout, os.Stderr, "test"))
	}
	os.Exit(m.Run())
}

// sleeping counts the probes of the test kind in flight, in this process.
var sleeping atomic.Int64

// The sleep kind waits for its delay or its deadline, whichever comes
// first, and says which: like a filtered port, reaching the deadline is a
// result, not an error. It exists only in this package's tests.
type sleepConfig struct {
	Delay string `cty:"delay"`
}

type sleepResult struct {
	Slept bool `cty:"slept"`
}

var sleepKind *checks.Kind

func init() {
	checks.Register(checks.Kind{
		Name:    "vantagetest_sleep",
		Summary: "Waits (a test kind of the vantage package).",
		Docs:    map[string]checks.ArgDoc{"delay": {Doc: "How long to wait."}},
		Probe: checks.Typed(sleepConfig{}, func(ctx context.Context, c sleepConfig) (sleepResult, error) {
			sleeping.Add(1)
			defer sleeping.Add(-1)
			d, _ := time.ParseDuration(c.Delay)
			select {
			case <-time.After(d):
				return sleepResult{Slept: true}, nil
			case <-ctx.Done():
				return sleepResult{Slept: false}, nil
			}
		}),
	})
	sleepKind, _ = checks.Lookup("vantagetest_sleep")
}

func sleepArgs(d string) checks.Args {
	return sleepKind.ArgsOf(cty.ObjectVal(map[string]cty.Value{"delay": cty.StringVal(d)}))
}

// inProcess starts Serve on pipes and connects a conn to it: the agent
// and the client as they talk across a transport, in one process.
func inProcess(t *testing.T) (*conn, func() error) {
	t.Helper()
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	served := make(chan error, 1)
	go func() {
		err := Serve(reqR, respW, AgentOptions{Parallelism: 4, Version: "test"})
		respW.Close()
		served <- err
	}()
	exited := make(chan struct{})
	var serveErr error
	go func() { serveErr = <-served; close(exited) }()
	l := &link{stdin: reqW, stdout: bufio.NewReader(respR), stderr: &tail{},
		wait: func() error { <-exited; return serveErr },
		kill: func() { reqW.Close() }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := handshake(ctx, "inproc", l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c, l.wait
}

func TestAgentAnswersInFinishingOrder(t *testing.T) {
	c, _ := inProcess(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	slow := make(chan time.Time, 1)
	go func() {
		c.probe(ctx, sleepKind, sleepArgs("400ms"))
		slow <- time.Now()
	}()
	time.Sleep(20 * time.Millisecond) // the slow request goes first
	v, err := c.probe(ctx, sleepKind, sleepArgs("0s"))
	fastDone := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if !v.GetAttr("slept").True() {
		t.Errorf("fast probe: got %#v", v)
	}
	if slowDone := <-slow; !fastDone.Before(slowDone) {
		t.Errorf("the fast probe was answered after the slow one: one request held up another")
	}
}

func TestAgentKeepsTheDeadline(t *testing.T) {
	c, _ := inProcess(t)
	ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), 150*time.Millisecond), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	v, err := c.probe(ctx, sleepKind, sleepArgs("10s"))
	if err != nil {
		t.Fatalf("a probe that reached its deadline is a result, not an error: %v", err)
	}
	if v.GetAttr("slept").True() {
		t.Errorf("slept the whole 10s within a 150ms deadline")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %s", d)
	}
}

func TestAgentCancelsOnRequest(t *testing.T) {
	c, _ := inProcess(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.probe(ctx, sleepKind, sleepArgs("30s"))
		errc <- err
	}()
	waitFor(t, func() bool { return sleeping.Load() == 1 })
	cancel()
	if err := <-errc; err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("want an interrupted error, got %v", err)
	}
	waitFor(t, func() bool { return sleeping.Load() == 0 })
}

func TestAgentExitsWhenInputCloses(t *testing.T) {
	c, wait := inProcess(t)
	go c.probe(context.Background(), sleepKind, sleepArgs("30s"))
	waitFor(t, func() bool { return sleeping.Load() == 1 })
	c.l.stdin.Close()
	served := make(chan error, 1)
	go func() { served <- wait() }()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the agent still runs 3s after its input closed")
	}
	waitFor(t, func() bool { return sleeping.Load() == 0 })
}

func TestProbeAfterTheAgentDied(t *testing.T) {
	c, _ := inProcess(t)
	errc := make(chan error, 1)
	go func() {
		_, err := c.probe(context.Background(), sleepKind, sleepArgs("30s"))
		errc <- err
	}()
	waitFor(t, func() bool { return sleeping.Load() == 1 })
	c.l.stdin.Close() // the agent goes away with a probe in flight
	for _, err := range []error{<-errc, second(c.probe(context.Background(), sleepKind, sleepArgs("0s")))} {
		if err == nil || !strings.Contains(err.Error(), "the agent stopped") {
			t.Errorf("want 'the agent stopped', got %v", err)
		}
	}
}

func TestAgentProbesARealSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go lab.AcceptAndClose(ln)
	c, _ := inProcess(t)
	tcp, _ := checks.Lookup("tcp")
	addr := ln.Addr().(*net.TCPAddr)
	args := defaultArgs(tcp, map[string]cty.Value{"host": cty.StringVal("127.0.0.1"), "port": cty.NumberIntVal(int64(addr.Port))})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	here, err := checks.Local.Probe(ctx, tcp, args)
	if err != nil {
		t.Fatal(err)
	}
	there, err := c.probe(ctx, tcp, args)
	if err != nil {
		t.Fatal(err)
	}
	if !there.Type().Equals(here.Type()) || there.GetAttr("state") != here.GetAttr("state") || there.GetAttr("state").AsString() != "open" {
		t.Errorf("here %#v, through the agent %#v", here, there)
	}
}

// defaultArgs is a kind's arguments object with set values and defaults.
func defaultArgs(k *checks.Kind, set map[string]cty.Value) checks.Args {
	args := make(checks.Args, len(k.Args))
	for n, a := range k.Args {
		switch {
		case set[a.Name] != cty.NilVal:
			args[n] = set[a.Name]
		case a.Default != cty.NilVal:
			args[n] = a.Default
		default:
			args[n] = cty.NullVal(a.Type)
		}
	}
	return args
}

func second[T any](_ T, err error) error { return err }

// waitFor polls cond for up to 3 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 3s")
}

// BenchmarkProbeThroughAgent is one probe through the JSON-lines protocol,
// client and agent in this process: what a vantage adds to a probe.
func BenchmarkProbeThroughAgent(b *testing.B) {
	c, _ := inProcess(&testing.T{})
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tcp, _ := checks.Lookup("tcp")
	args := defaultArgs(tcp, map[string]cty.Value{"host": cty.StringVal("127.0.0.1"), "port": cty.NumberIntVal(1)})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.probe(ctx, tcp, args); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAgentRejectsGarbage: a line that is not JSON ends the agent with exit
// code 1 and one message on stderr, prefixed once.
func TestAgentRejectsGarbage(t *testing.T) {
	var stdout, stderr strings.Builder
	code := AgentMain(nil, strings.NewReader("not json\n"), &stdout, &stderr, "test")
	if code != 1 || !strings.HasPrefix(stderr.String(), "nettest agent: a request that is not JSON: ") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

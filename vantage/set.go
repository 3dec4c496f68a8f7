package vantage

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/schema"
	"github.com/zclconf/go-cty/cty"
)

// connectTimeout bounds starting one agent: connecting, logging in,
// copying the binary across and reading its greeting. A check waiting for
// it still ends at its own timeout; this is how long the attempt goes on
// in the background for the checks after it.
var connectTimeout = 30 * time.Second

// Options tune a Set.
type Options struct {
	// Parallelism bounds the probes each agent runs at once (the runner's
	// --parallelism).
	Parallelism int
	// Executable is the nettest binary started in namespaces and copied to
	// hosts that have none; empty means the running one.
	Executable string
	// Version is this nettest's version, for messages.
	Version string
	// Dial opens the TCP connection to an SSH vantage without a jump
	// host; nil means a net.Dialer's. (Tests dial from inside a lab
	// namespace with it.)
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Set holds the vantages of one run and their agents, each started on the
// first probe that needs it and ended by Close.
type Set struct {
	ctx      context.Context
	stop     context.CancelFunc
	vantages map[string]*schema.Vantage
	opts     Options

	mu      sync.Mutex
	remotes map[string]*remote
	ssh     map[string]*sshClient // by vantage name, shared with jumps
}

// NewSet prepares the vantages of a suite; it connects to none of them.
// Cancelling ctx (Ctrl-C) ends every agent and connection.
func NewSet(ctx context.Context, vantages map[string]*schema.Vantage, opts Options) *Set {
	ctx, stop := context.WithCancel(ctx)
	if opts.Executable == "" {
		if exe, err := os.Executable(); err == nil {
			opts.Executable = exe
		}
	}
	s := &Set{ctx: ctx, stop: stop, vantages: vantages, opts: opts, remotes: map[string]*remote{}, ssh: map[string]*sshClient{}}
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	return s
}

// Prober returns the Prober of the named vantage, for runner.Options.
func (s *Set) Prober(name string) checks.Prober {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.remotes[name]
	if r == nil {
		r = &remote{set: s, name: name, ready: make(chan struct{})}
		s.remotes[name] = r
	}
	return r
}

// Close ends every agent that was started and the connections that
// carried them, and removes what was copied to the far sides. It waits
// for all of that, a few seconds at most per agent.
func (s *Set) Close() {
	s.stop()
	s.mu.Lock()
	remotes := make([]*remote, 0, len(s.remotes))
	for _, r := range s.remotes {
		remotes = append(remotes, r)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range remotes {
		wg.Add(1)
		go func() { defer wg.Done(); r.close() }()
	}
	wg.Wait()
	s.mu.Lock()
	clients := s.ssh
	s.ssh = map[string]*sshClient{}
	s.mu.Unlock()
	for _, c := range clients {
		c.close()
	}
}

// remote is the Prober of one vantage: its agent, once started.
type remote struct {
	set  *Set
	name string

	once  sync.Once
	ready chan struct{} // closed once conn or err is set
	conn  *conn
	err   error
}

// Probe sends the probe to the vantage's agent, starting it first if this
// is the vantage's first probe. Every error names the vantage.
func (r *remote) Probe(ctx context.Context, k *checks.Kind, args cty.Value) (cty.Value, error) {
	r.once.Do(func() { go r.start() })
	select {
	case <-r.ready:
	case <-ctx.Done():
		if ctx.Err() == context.Canceled {
			return cty.NilVal, fmt.Errorf("vantage %s: interrupted while connecting", r.name)
		}
		return cty.NilVal, fmt.Errorf("vantage %s: %s, still connecting after %s (the check's timeout)", r.name, r.describe(), checks.TimeoutOf(ctx))
	}
	if r.err != nil {
		return cty.NilVal, fmt.Errorf("vantage %s: %w", r.name, r.err)
	}
	v, err := r.conn.probe(ctx, k, args)
	if err != nil {
		return cty.NilVal, fmt.Errorf("vantage %s: %w", r.name, err)
	}
	return v, nil
}

func (r *remote) describe() string {
	if v := r.set.vantages[r.name]; v != nil {
		return v.Where()
	}
	return "unknown"
}

// start connects to the vantage and starts its agent.
func (r *remote) start() {
	defer close(r.ready)
	v := r.set.vantages[r.name]
	if v == nil {
		r.err = fmt.Errorf("no such vantage is declared")
		return
	}
	ctx, cancel := context.WithTimeout(r.set.ctx, connectTimeout)
	defer cancel()
	l, err := r.set.startAgent(ctx, v)
	if err != nil {
		r.err = err
		return
	}
	r.conn, r.err = handshake(ctx, r.name, l)
}

func (r *remote) close() {
	r.once.Do(func() { close(r.ready) }) // never started: nothing to end
	<-r.ready
	if r.conn != nil {
		r.conn.close()
	}
}

// startAgent starts the agent at v by v's transport.
func (s *Set) startAgent(ctx context.Context, v *schema.Vantage) (*link, error) {
	switch {
	case v.SSH != nil:
		return s.startSSH(ctx, v)
	case v.Exec != nil:
		return s.startExec(ctx, v.Exec)
	case v.NetnsPath != "":
		return s.startNetns(v.NetnsPath, "")
	}
	return s.startNetns("/run/netns/"+v.Netns, v.Netns)
}

// agentArgs is the agent's command line after the binary.
func (s *Set) agentArgs() []string {
	args := []string{"agent"}
	if s.opts.Parallelism > 0 {
		args = append(args, fmt.Sprintf("--parallelism=%d", s.opts.Parallelism))
	}
	return args
}

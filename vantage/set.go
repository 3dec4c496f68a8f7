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
		r = &remote{set: s, name: name, ready: make(chan struct{}), reached: make(chan struct{})}
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

	once sync.Once
	// reached is closed once the far side answered (an SSH login, a
	// command started), or the attempt failed; ready once conn or err is
	// set. In between, the agent is copied across and starts.
	reached     chan struct{}
	reachedOnce sync.Once
	ready       chan struct{}
	conn        *conn
	err         error
}

func (r *remote) markReached() { r.reachedOnce.Do(func() { close(r.reached) }) }

// Connect starts the vantage's agent if it is not started yet, and waits
// until it is ready: checks.Connector, which the runner calls before a
// check's clock starts. Reaching the far side (an SSH host accepting the
// TCP connection) counts against timeout, the check's: a host that does
// not answer makes each check an error within its own timeout. Logging in,
// copying nettest across and starting it do not, as they are done once
// for the whole run however many checks wait (connectTimeout bounds them).
func (r *remote) Connect(ctx context.Context, timeout time.Duration) error {
	r.once.Do(func() { go r.start() })
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-r.ready:
	case <-r.reached:
		select {
		case <-r.ready:
		case <-ctx.Done():
			return fmt.Errorf("vantage %s: interrupted while starting the agent", r.name)
		}
	case <-ctx.Done():
		return fmt.Errorf("vantage %s: interrupted while connecting", r.name)
	case <-timer.C:
		return fmt.Errorf("vantage %s: %s, still connecting after %s (the check's timeout)", r.name, r.describe(), timeout)
	}
	if r.err != nil {
		return fmt.Errorf("vantage %s: %w", r.name, r.err)
	}
	return nil
}

// Probe sends the probe to the vantage's agent, starting it first if this
// is the vantage's first probe. Every error names the vantage.
func (r *remote) Probe(ctx context.Context, k *checks.Kind, args checks.Args) (cty.Value, error) {
	if err := r.reach(ctx); err != nil {
		return cty.NilVal, err
	}
	v, err := r.conn.probe(ctx, k, args)
	if err != nil {
		return cty.NilVal, fmt.Errorf("vantage %s: %w", r.name, err)
	}
	return v, nil
}

// reach starts the vantage's agent if it is not started yet and waits
// until it is ready or ctx ends.
func (r *remote) reach(ctx context.Context) error {
	r.once.Do(func() { go r.start() })
	select {
	case <-r.ready:
	case <-ctx.Done():
		if ctx.Err() == context.Canceled {
			return fmt.Errorf("vantage %s: interrupted while connecting", r.name)
		}
		return fmt.Errorf("vantage %s: %s, still connecting after %s (the check's timeout)", r.name, r.describe(), checks.TimeoutOf(ctx))
	}
	if r.err != nil {
		return fmt.Errorf("vantage %s: %w", r.name, r.err)
	}
	return nil
}

// StartWatch makes the vantage a witness (checks.Witness): its agent
// watches for the packets of spec arriving there, and the call returns
// once it does.
func (r *remote) StartWatch(ctx context.Context, spec checks.WatchSpec) (checks.Watch, error) {
	if err := r.reach(ctx); err != nil {
		return nil, err
	}
	resp, err := r.conn.call(ctx, request{Watch: &watchRequest{Start: &spec}})
	if err != nil {
		return nil, fmt.Errorf("vantage %s: %w", r.name, err)
	}
	return &remoteWatch{r: r, id: resp.WatchID}, nil
}

// remoteWatch is a watch armed at a vantage.
type remoteWatch struct {
	r  *remote
	id uint64
}

// Wait asks the agent whether the watched packet arrived, waiting there
// until ctx's deadline at most.
func (w *remoteWatch) Wait(ctx context.Context) (bool, error) {
	resp, err := w.r.conn.call(ctx, request{Watch: &watchRequest{Wait: w.id}})
	if err != nil {
		return false, fmt.Errorf("vantage %s: %w", w.r.name, err)
	}
	return resp.Seen, nil
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
	defer r.markReached()
	v := r.set.vantages[r.name]
	if v == nil {
		r.err = fmt.Errorf("no such vantage is declared")
		return
	}
	if v.SSH == nil {
		// Nothing to reach over a network: a namespace of this machine,
		// or a command whose own connection nettest cannot see into.
		// Starting it is not charged to a check (connectTimeout bounds it).
		r.markReached()
	}
	ctx, cancel := context.WithTimeout(r.set.ctx, connectTimeout)
	defer cancel()
	l, err := r.set.startAgent(ctx, v, r.markReached)
	if err != nil {
		r.err = err
		return
	}
	r.conn, r.err = handshake(ctx, r.name, l)
}

func (r *remote) close() {
	r.once.Do(func() { r.markReached(); close(r.ready) }) // never started: nothing to end
	<-r.ready
	if r.conn != nil {
		r.conn.close()
	}
}

// startAgent starts the agent at v by v's transport, calling reached once
// the far side answers.
func (s *Set) startAgent(ctx context.Context, v *schema.Vantage, reached func()) (*link, error) {
	switch {
	case v.SSH != nil:
		return s.startSSH(ctx, v, reached)
	case v.Exec != nil:
		return s.startExec(ctx, v.Exec, reached)
	case v.NetnsPath != "":
		return s.startNetns(v.NetnsPath, "", reached)
	}
	return s.startNetns("/run/netns/"+v.Netns, v.Netns, reached)
}

// agentArgs is the agent's command line after the binary.
func (s *Set) agentArgs() []string {
	args := []string{"agent"}
	if s.opts.Parallelism > 0 {
		args = append(args, fmt.Sprintf("--parallelism=%d", s.opts.Parallelism))
	}
	return args
}

package vantage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nettest/nettest/capture"
	"github.com/nettest/nettest/checks"
)

// AgentOptions tune Serve.
type AgentOptions struct {
	// Parallelism bounds the probes running at once; a request beyond it
	// waits (its timeout running) until one finishes. 0 means 512.
	Parallelism int
	// Version is the nettest version, said in the hello line.
	Version string
}

// maxLine bounds one request line: arguments are small, but an http check
// may carry a body to send.
const maxLine = 16 << 20

// Serve is the agent: it reads probe requests from r, runs each on its own
// goroutine with its own deadline, and writes each answer to w as it comes,
// so a slow probe never holds up a fast one. It returns when r ends (the
// client closed the agent's standard input, or went away): probes still
// running are cancelled and their answers dropped, so nothing the agent
// started outlives it.
func Serve(r io.Reader, w io.Writer, opts AgentOptions) error {
	limit := opts.Parallelism
	if limit <= 0 {
		limit = 512
	}
	out := &lineWriter{w: bufio.NewWriter(w)}
	var h hello
	h.Hello.Protocol, h.Hello.Version = protocolVersion, opts.Version
	h.Hello.OS, h.Hello.Arch = runtime.GOOS, runtime.GOARCH
	h.Hello.Time = time.Now().UnixNano()
	for _, k := range checks.Kinds() {
		h.Hello.Kinds = append(h.Hello.Kinds, k.Name)
	}
	if err := out.send(h); err != nil {
		return err
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	slots := make(chan struct{}, limit)
	var mu sync.Mutex
	inflight := map[uint64]context.CancelFunc{}
	var wg sync.WaitGroup
	watches := &watchSet{armed: map[uint64]*capture.Watch{}}
	defer watches.closeAll()

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return fmt.Errorf("a request that is not JSON: %v", err)
		}
		if req.Cancel {
			mu.Lock()
			if cancel := inflight[req.ID]; cancel != nil {
				cancel()
			}
			mu.Unlock()
			continue
		}
		timeout := req.Timeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		deadline := time.Now().Add(timeout)
		if d := time.Unix(0, req.Deadline); req.Deadline != 0 && d.Before(deadline) {
			deadline = d
		}
		pctx, cancel := context.WithDeadline(checks.WithTimeout(ctx, req.CheckTimeout), deadline)
		mu.Lock()
		inflight[req.ID] = cancel
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(inflight, req.ID)
				mu.Unlock()
				cancel()
			}()
			resp := response{ID: req.ID}
			if pctx.Err() != nil {
				resp.Error = "the request reached the agent after the check's deadline: the agent, or the machine it runs on, is too busy to keep up"
				out.send(resp)
				return
			}
			select {
			case slots <- struct{}{}:
				switch {
				case req.Watch != nil:
					resp = watches.serve(pctx, req)
				case req.Capture != nil:
					cctx, session := capture.StartSession(pctx, req.Capture.HeadersOnly)
					resp.Result, resp.Error = probe(cctx, req)
					resp.Evidence = session.End()
				default:
					resp.Result, resp.Error = probe(pctx, req)
				}
				<-slots
			case <-pctx.Done():
				resp.Error = fmt.Sprintf("the agent had %d probes running and this one could not start within its timeout; lower --parallelism", limit)
			}
			if ctx.Err() != nil {
				return // the client is gone: nobody to answer
			}
			out.send(resp)
		}()
	}
	stop()
	// The probes honour their contexts, so they return at once; waiting
	// for them keeps a probe from writing after Serve returned.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading requests: %w", err)
	}
	return nil
}

// probe runs one request's probe, in this process, and encodes its result.
func probe(ctx context.Context, req request) (result json.RawMessage, errText string) {
	k, ok := checks.Lookup(req.Kind)
	if !ok {
		return nil, fmt.Sprintf("this nettest agent has no %s check; install the same nettest version at the vantage (agent_path)", req.Kind)
	}
	args, err := k.UnmarshalArgs(req.Args)
	if err != nil {
		return nil, err.Error()
	}
	defer func() {
		if r := recover(); r != nil {
			result, errText = nil, fmt.Sprintf("internal error in the %s check: %v\n%s", k.Name, r, debug.Stack())
		}
	}()
	res, err := checks.Local.Probe(ctx, k, args)
	if err != nil {
		return nil, err.Error()
	}
	b, err := k.MarshalResult(res)
	if err != nil {
		return nil, err.Error()
	}
	return b, ""
}

// watchSet holds the witness watches armed by Start requests until their
// Wait (or the end of the agent).
type watchSet struct {
	mu    sync.Mutex
	next  uint64
	armed map[uint64]*capture.Watch
}

// serve answers one watch request.
func (ws *watchSet) serve(ctx context.Context, req request) response {
	resp := response{ID: req.ID}
	switch {
	case req.Watch.Start != nil:
		w, err := capture.StartWatch(*req.Watch.Start)
		if err != nil {
			resp.Error = fmt.Sprintf("cannot watch for the datagram there: %v", err)
			return resp
		}
		ws.mu.Lock()
		ws.next++
		resp.WatchID = ws.next
		ws.armed[ws.next] = w
		ws.mu.Unlock()
	case req.Watch.Wait != 0:
		ws.mu.Lock()
		w := ws.armed[req.Watch.Wait]
		delete(ws.armed, req.Watch.Wait)
		ws.mu.Unlock()
		if w == nil {
			resp.Error = "no such watch"
			return resp
		}
		resp.Seen, _ = w.Wait(ctx)
	default:
		resp.Error = "a watch request that neither starts nor waits"
	}
	return resp
}

func (ws *watchSet) closeAll() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for id, w := range ws.armed {
		w.Close()
		delete(ws.armed, id)
	}
}

// lineWriter writes whole JSON lines from many goroutines.
type lineWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

func (l *lineWriter) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.w.Write(b)
	l.w.WriteByte('\n')
	l.err = l.w.Flush()
	return l.err
}

const agentHelp = `Usage: nettest agent [flags]

The far side of a vantage point: nettest starts this command itself, in a
network namespace, over SSH or through an exec command, and sends it probe
requests as JSON lines on standard input; it answers on standard output.
It exits when its standard input closes. There is no need to run it by hand.

Flags:
`

// AgentMain is `nettest agent`: flags, the namespace's /etc for a netns
// vantage, then Serve on the standard streams. It returns the exit code.
func AgentMain(args []string, stdin io.Reader, stdout, stderr io.Writer, version string) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, agentHelp)
		fs.PrintDefaults()
	}
	opts := AgentOptions{Version: version}
	fs.IntVar(&opts.Parallelism, "parallelism", 512, "run at most `N` probes at once")
	etcNetns := fs.String("etc-netns", "", "mount /etc/netns/`NAME`/* over /etc first, as `ip netns exec NAME` does (set by a netns vantage)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *etcNetns != "" {
		if err := EnterEtcNetns(*etcNetns); err != nil {
			fmt.Fprintf(stderr, "nettest agent: %v\n", err)
			return 1
		}
	}
	if err := Serve(stdin, stdout, opts); err != nil {
		fmt.Fprintf(stderr, "nettest agent: %v\n", err)
		return 1
	}
	return 0
}

package vantage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nettest/nettest/capture"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// link is a started agent seen from here: its standard input and output,
// the tail of what it wrote to standard error, and how to end it.
type link struct {
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *tail
	// wait waits for the agent (or the command that carries it) to exit.
	wait func() error
	// kill ends it at once, when closing its input did not.
	kill func()
	// stdoutW is the write end of a command's standard output, closed
	// here once the command has it.
	stdoutW *os.File
	// sameClock is true when the agent runs on this machine and so reads
	// this clock.
	sameClock bool
	// copiedTo is the temporary directory on the far side that the
	// bootstrap script copied the binary into (and removes), if it did.
	copiedTo string
}

// slack is how long past a probe's deadline the client waits for the
// agent's answer. The agent enforces the deadline itself (a filtered port
// is a result at the timeout, not an error), and its answer then still has
// to cross the connection; the runner's own grace is longer.
const slack = time.Second

// conn is one running agent, its requests multiplexed by ID.
type conn struct {
	vantage string
	l       *link
	// offset is how far the agent's clock is ahead of this one: zero on
	// this machine (netns, or a command whose clock is ours), else what
	// its greeting showed when that is far off (see clockOffset).
	offset time.Duration
	// queue feeds the one goroutine that writes to the agent, so that a
	// probe never blocks on a full pipe to a busy agent (past its timeout)
	// and requests sent together go out in one write.
	queue chan []byte

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan response
	dead    error         // set once the agent is gone
	gone    chan struct{} // closed when dead is set
}

// handshake reads the agent's hello and starts reading its answers. ctx
// bounds the wait for the hello.
func handshake(ctx context.Context, vantage string, l *link) (*conn, error) {
	type got struct {
		h   hello
		at  time.Time // when the greeting arrived
		err error
	}
	ch := make(chan got, 1)
	go func() {
		line, err := l.stdout.ReadBytes('\n')
		at := time.Now()
		var h hello
		if err == nil {
			if jerr := json.Unmarshal(line, &h); jerr != nil || h.Hello.Protocol == 0 {
				err = fmt.Errorf("it printed %q instead of the agent's greeting", strings.TrimSpace(string(cutBytes(line, 200))))
			}
		}
		ch <- got{h, at, err}
	}()
	var g got
	select {
	case g = <-ch:
	case <-ctx.Done():
		l.kill()
		return nil, fmt.Errorf("the agent did not start within %s", connectTimeout)
	}
	if g.err != nil {
		l.kill()
		if errors.Is(g.err, io.EOF) {
			return nil, fmt.Errorf("the agent did not start%s", l.exitReason())
		}
		return nil, g.err
	}
	if g.h.Hello.Protocol != protocolVersion {
		l.kill()
		return nil, fmt.Errorf("the agent there is nettest %s, which speaks protocol %d, not %d: use the same nettest version on both sides (agent_path)", g.h.Hello.Version, g.h.Hello.Protocol, protocolVersion)
	}
	c := &conn{vantage: vantage, l: l, offset: l.clockOffset(time.Unix(0, g.h.Hello.Time), g.at), queue: make(chan []byte, 1024), pending: map[uint64]chan response{}, gone: make(chan struct{})}
	go c.read()
	go c.write()
	return c, nil
}

// write sends the queued lines to the agent until it is gone, flushing
// whenever the queue is empty.
func (c *conn) write() {
	w := bufio.NewWriterSize(c.l.stdin, 64<<10)
	for {
		var line []byte
		select {
		case line = <-c.queue:
		case <-c.gone:
			return
		}
		w.Write(line)
		if len(c.queue) == 0 {
			if err := w.Flush(); err != nil {
				c.fail(fmt.Errorf("cannot send to the agent: %v%s", err, c.l.exitReason()))
				return
			}
		}
	}
}

// send queues one message for the agent; it gives up when ctx ends first.
func (c *conn) send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	select {
	case c.queue <- append(b, '\n'):
		return nil
	case <-c.gone:
		return c.dead
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancel asks the agent to stop a probe, if there is room in the queue: the
// agent ends the probe at its deadline anyway.
func (c *conn) cancel(id uint64) {
	b, _ := json.Marshal(request{ID: id, Cancel: true})
	select {
	case c.queue <- append(b, '\n'):
	default:
	}
}

// read dispatches the agent's answers until its output ends.
func (c *conn) read() {
	for {
		line, err := c.l.stdout.ReadBytes('\n')
		if err != nil {
			c.fail(fmt.Errorf("the agent stopped%s", c.l.exitReason()))
			return
		}
		var resp response
		if json.Unmarshal(line, &resp) != nil {
			continue // not an answer: nothing waits for it
		}
		c.mu.Lock()
		ch := c.pending[resp.ID]
		delete(c.pending, resp.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
}

// fail marks the agent gone; every probe waiting on it gets err.
func (c *conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead != nil {
		return
	}
	c.dead = err
	close(c.gone)
}

// probe sends one request and waits for its answer.
func (c *conn) probe(ctx context.Context, k *checks.Kind, args checks.Args) (cty.Value, error) {
	b, err := k.MarshalArgs(args)
	if err != nil {
		return cty.NilVal, err
	}
	req := request{Kind: k.Name, Args: b}
	if on, headersOnly := capture.Requested(ctx); on {
		req.Capture = &captureRequest{HeadersOnly: headersOnly}
	}
	resp, err := c.call(ctx, req)
	// What the agent captured joins the attempt's file also when the
	// probe could not observe: an errored check keeps its evidence.
	capture.Attach(ctx, c.vantage, resp.Evidence)
	if err != nil {
		return cty.NilVal, err
	}
	return k.UnmarshalResult(resp.Result)
}

// call sends req, with the time left on ctx as its timeout, and waits for
// its answer; an answer that carries an error is that error.
func (c *conn) call(ctx context.Context, req request) (response, error) {
	req.CheckTimeout, req.Timeout = checks.TimeoutOf(ctx), 5*time.Second
	if dl, ok := ctx.Deadline(); ok {
		req.Timeout = max(time.Until(dl), time.Millisecond)
		req.Deadline = dl.Add(c.offset).UnixNano()
	}
	ch := make(chan response, 1)
	c.mu.Lock()
	if c.dead != nil {
		c.mu.Unlock()
		return response{}, c.dead
	}
	c.nextID++
	req.ID = c.nextID
	c.pending[req.ID] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
	}
	if err := c.send(ctx, req); err != nil {
		forget()
		if ctx.Err() != nil {
			return response{}, fmt.Errorf("the request could not even be sent to the agent within the check's timeout: the agent is overloaded, or the connection stalled")
		}
		return response{}, err
	}

	var resp response
	select {
	case resp = <-ch:
	case <-c.gone:
		forget()
		return response{}, c.dead
	case <-ctx.Done():
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			forget()
			c.cancel(req.ID)
			return response{}, errors.New("interrupted before the agent answered")
		}
		select {
		case resp = <-ch:
		case <-c.gone:
			forget()
			return response{}, c.dead
		case <-time.After(slack):
			forget()
			c.cancel(req.ID)
			return response{}, fmt.Errorf("the agent did not answer within %s of the check's timeout; the connection to it may be slow or stalled", slack)
		}
	}
	if resp.Error != "" {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

// close ends the agent: its input closes, so it stops its probes and
// exits; if it has not within a few seconds it is killed.
func (c *conn) close() {
	c.l.stdin.Close()
	exited := make(chan struct{})
	go func() { c.l.wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(3 * time.Second):
		c.l.kill()
		<-exited
	}
	c.fail(errors.New("the run ended"))
}

// clockOffset estimates how far the agent's clock is ahead of ours from
// the time in its greeting and when the greeting was read. The estimate is
// early by however long the greeting waited in the pipe, seconds on a busy
// machine, so it is used only for a far side whose clock is not ours and
// only when it is off by more than such a wait could explain: hosts whose
// clocks agree (NTP) get deadlines as durations alone.
func (l *link) clockOffset(agentTime, readAt time.Time) time.Duration {
	if l.sameClock {
		return 0
	}
	offset := agentTime.Sub(readAt)
	if offset > -maxSkew && offset < maxSkew {
		return 0
	}
	return offset
}

// maxSkew is the clock difference below which an agent's clock is taken
// to agree with ours.
const maxSkew = 10 * time.Second

// exitReason waits briefly for the agent to exit and says how it did,
// with the last thing it wrote to standard error: ": exit status 127:
// sh: 1: /opt/nettest: not found".
func (l *link) exitReason() string {
	done := make(chan error, 1)
	go func() { done <- l.wait() }()
	var why string
	select {
	case err := <-done:
		if err != nil {
			why = ": " + err.Error()
		}
	case <-time.After(time.Second):
	}
	if s := l.stderr.String(); s != "" {
		why += ": " + s
	}
	return why
}

// tail keeps the last bytes written to it: an agent's standard error, for
// messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailLimit = 2048

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailLimit {
		t.buf = t.buf[len(t.buf)-tailLimit:]
	}
	return len(p), nil
}

// String is the tail on one line.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(strings.Fields(string(t.buf)), " ")
}

func cutBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

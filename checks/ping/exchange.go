package ping

import (
	"bytes"
	"context"
	"crypto/rand"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/nettest/nettest/checks"
	"golang.org/x/sys/unix"
)

// exchange is one check's run of echo requests and replies. The check's
// goroutine sends; the reader goroutine of its endpoint records replies, or
// a check's goroutine that reads the shared socket after sending (drain).
type exchange struct {
	// id is the ICMP identifier the replies carry: chosen by the endpoint
	// on a raw socket, by the kernel on a datagram socket.
	id uint16
	// payload is the data of every request: a random nonce repeated to
	// the requested size. A reply must echo it exactly, which tells this
	// check's replies from those of an earlier check that had the same
	// identifier, or of another program's ping.
	payload []byte
	// target is the address pinged: an ICMP error quoting a request of
	// ours must quote this destination too.
	target netip.Addr
	// request is the echo request, marshalled at the first send; each
	// send writes its sequence number into it. dst is target as the
	// socket's address type, sa as the system call's (nil for an address
	// with a zone, which takes net's way). Only the check's goroutine uses
	// them.
	request []byte
	dst     net.Addr
	sa      unix.Sockaddr

	mu       sync.Mutex
	sentAt   []time.Time     // by sequence number, one per request attempted
	rtt      []time.Duration // by sequence number; 0 while unanswered
	answered []bool          // by sequence number
	failed   int             // requests the kernel refused to send
	received int
	err      string // the first request the kernel refused, and why
	// refused marks, by sequence number, the requests answered by an
	// ICMP error instead of a reply; errors counts them.
	refused []bool
	errors  int
	// icmp is the first ICMP error that came back.
	icmp icmpError
	// local is the first refusal that was this machine's failure (out of
	// file descriptors or buffers), not an answer about the path: the
	// requests it stopped were never sent, so no loss can be reported.
	local error
	// settled receives a token when every request has been sent and
	// answered or failed: not before the last is sent, so replies to the
	// earlier ones do not wake the sending goroutine for nothing.
	settled chan struct{}
}

func newExchange(packets, size int) *exchange {
	x := &exchange{
		payload:  make([]byte, size),
		sentAt:   make([]time.Time, 0, packets),
		rtt:      make([]time.Duration, packets),
		answered: make([]bool, packets),
		refused:  make([]bool, packets),
		settled:  make(chan struct{}, 1),
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	for i := range x.payload {
		x.payload[i] = nonce[i%len(nonce)]
	}
	return x
}

// run sends the requests on schedule (request i at start + i*interval, so a
// late wake-up does not delay the rest) and returns when every request is
// answered or failed, or when the context ends. The first request leaves at
// once, and a check of one packet needs no timer. After the last request
// the shared raw socket is read on this goroutine (drain), so a reply that
// came back within the send needs no other goroutine to hand it over. Not
// after the earlier ones: their replies are not needed before the last is
// sent, and reading them at once would put that work between the first
// requests of the checks that start together, which leave sooner when the
// reader goroutine hands their replies on later.
func (x *exchange) run(ctx context.Context, ep *endpoint, addr netip.Addr, ttl int, interval time.Duration) {
	if ctx.Err() != nil {
		return // resolving took the whole timeout: nothing may be sent
	}
	packets := len(x.rtt)
	start := time.Now()
	ep.send(ctx, x, 0, addr, ttl)
	if packets > 1 {
		timer := time.NewTimer(time.Until(start.Add(interval)))
		defer timer.Stop()
		for next := 1; next < packets; {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
				ep.send(ctx, x, next, addr, ttl)
				next++
				if next < packets {
					timer.Reset(time.Until(start.Add(time.Duration(next) * interval)))
				}
			}
		}
	}
	ep.drain()
	for !x.stats().complete {
		select {
		case <-ctx.Done():
			return
		case <-x.settled:
		}
	}
}

// sending records that request seq is about to leave, before it does: on
// loopback the reply can arrive before the write returns.
func (x *exchange) sending(seq int) {
	x.mu.Lock()
	x.sentAt = append(x.sentAt, time.Now())
	x.mu.Unlock()
}

// sendFailed records that the kernel refused request seq (no route, a
// local firewall): it counts as sent and lost, and no reply will come.
func (x *exchange) sendFailed(seq int, err error) {
	x.mu.Lock()
	x.failed++
	if x.err == "" {
		x.err = "sending echo request: " + describe(err)
	}
	if l := checks.LocalFailure(err); l != nil && x.local == nil {
		x.local = l
	}
	x.settle()
	x.mu.Unlock()
}

// reply records an echo reply that arrived at the given time.
func (x *exchange) reply(seq int, data []byte, at time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq >= len(x.sentAt) || x.answered[seq] || !bytes.Equal(data, x.payload) {
		return // not ours, or a duplicate
	}
	if x.refused[seq] {
		// A reply after an error about the same request (a router that
		// complained and forwarded anyway): the reply is what counts.
		x.refused[seq] = false
		x.errors--
	}
	x.answered[seq] = true
	x.rtt[seq] = max(at.Sub(x.sentAt[seq]), 0)
	x.received++
	x.settle()
}

// icmpError is an ICMP error about one of our requests: a router (or the
// host) said why it did not deliver it.
type icmpError struct {
	// kind names it: "host", "network", "port", "prohibited", … for a
	// Destination Unreachable (icmperr.UnreachableName), "ttl exceeded"
	// for a Time Exceeded.
	kind string
	from netip.Addr
}

// ttlExceeded is the kind of a Time Exceeded message.
const ttlExceeded = "ttl exceeded"

// phrase says what happened for a diff: "host unreachable from 198.18.1.254".
func (e icmpError) phrase() string {
	from := e.from.String()
	switch e.kind {
	case "prohibited":
		return "administratively prohibited by " + from
	case ttlExceeded:
		return "ttl exceeded at " + from
	case "fragmentation needed":
		return "fragmentation needed, said " + from
	case "no route":
		return "no route, said " + from
	}
	return e.kind + " unreachable from " + from
}

// refusedBy records that request seq was answered by an ICMP error: no
// reply will come for it, so the check need not wait for one.
func (x *exchange) refusedBy(seq int, e icmpError) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq >= len(x.sentAt) || x.answered[seq] || x.refused[seq] {
		return // not sent by this check, or already settled
	}
	x.refused[seq] = true
	x.errors++
	if x.icmp.kind == "" {
		x.icmp = e
	}
	x.settle()
}

// settle signals the sending goroutine when every request has been sent
// and nothing is outstanding. The caller holds x.mu.
func (x *exchange) settle() {
	if len(x.sentAt) == len(x.rtt) && x.received+x.failed+x.errors == len(x.sentAt) {
		select {
		case x.settled <- struct{}{}:
		default:
		}
	}
}

// stats is a snapshot of an exchange.
type stats struct {
	sent, received        int
	complete              bool // every request sent and answered or failed
	min, avg, max, stddev time.Duration
	err                   string
	icmp                  icmpError // the first ICMP error, if any came
	local                 error
}

func (x *exchange) stats() stats {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := stats{
		sent:     len(x.sentAt),
		received: x.received,
		complete: len(x.sentAt) == len(x.rtt) && x.received+x.failed+x.errors == len(x.sentAt),
		err:      x.err,
		icmp:     x.icmp,
		local:    x.local,
	}
	if x.received == 0 {
		return s
	}
	var sum, sumSq float64
	first := true
	for i, ok := range x.answered {
		if !ok {
			continue
		}
		d := x.rtt[i]
		if first || d < s.min {
			s.min = d
		}
		if d > s.max {
			s.max = d
		}
		first = false
		sum += float64(d)
		sumSq += float64(d) * float64(d)
	}
	n := float64(x.received)
	mean := sum / n
	s.avg = time.Duration(mean)
	// Population standard deviation, as ping's mdev.
	s.stddev = time.Duration(math.Sqrt(max(sumSq/n-mean*mean, 0)))
	return s
}

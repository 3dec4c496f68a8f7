package ping

import (
	"bytes"
	"context"
	"crypto/rand"
	"math"
	"net/netip"
	"sync"
	"time"
)

// exchange is one check's run of echo requests and replies. The check's
// goroutine sends; the reader goroutine of its endpoint records replies.
type exchange struct {
	// id is the ICMP identifier the replies carry: chosen by the endpoint
	// on a raw socket, by the kernel on a datagram socket.
	id uint16
	// payload is the data of every request: a random nonce repeated to
	// the requested size. A reply must echo it exactly, which tells this
	// check's replies from those of an earlier check that had the same
	// identifier, or of another program's ping.
	payload []byte

	mu       sync.Mutex
	sentAt   []time.Time     // by sequence number, one per request attempted
	rtt      []time.Duration // by sequence number; 0 while unanswered
	answered []bool          // by sequence number
	failed   int             // requests the kernel refused to send
	received int
	err      string // the first request the kernel refused, and why
	// settled receives a token whenever every request attempted so far
	// has been answered or has failed to send.
	settled chan struct{}
}

func newExchange(packets, size int) *exchange {
	x := &exchange{
		payload:  make([]byte, size),
		sentAt:   make([]time.Time, 0, packets),
		rtt:      make([]time.Duration, packets),
		answered: make([]bool, packets),
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
// answered or failed, or when the context ends.
func (x *exchange) run(ctx context.Context, ep *endpoint, addr netip.Addr, ttl int, interval time.Duration) {
	packets := len(x.rtt)
	start := time.Now()
	next := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			if next < packets {
				ep.send(ctx, x, next, addr, ttl)
				next++
				if next < packets {
					timer.Reset(time.Until(start.Add(time.Duration(next) * interval)))
				}
			}
		case <-x.settled:
		}
		if next == packets && x.stats().complete {
			return
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
	x.answered[seq] = true
	x.rtt[seq] = max(at.Sub(x.sentAt[seq]), 0)
	x.received++
	x.settle()
}

// settle signals the sending goroutine when nothing is outstanding. The
// caller holds x.mu.
func (x *exchange) settle() {
	if x.received+x.failed == len(x.sentAt) {
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
}

func (x *exchange) stats() stats {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := stats{
		sent:     len(x.sentAt),
		received: x.received,
		complete: len(x.sentAt) == len(x.rtt) && x.received+x.failed == len(x.sentAt),
		err:      x.err,
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

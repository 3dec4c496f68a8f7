// Package udp is the udp check: what does the network answer to one
// datagram sent to host:port, and — with a witness at the destination —
// did it arrive?
//
// A UDP "dial" always succeeds, so a tool that stops there passes for any
// port. This check sends a real datagram from a connected socket with
// IP_RECVERR (no privilege needed) and tells apart, in nmap's words:
//
//   - open: a datagram came back;
//   - closed: an ICMP port unreachable came back (nothing listens);
//   - filtered: another ICMP unreachable came back (host, network,
//     administratively prohibited…), from the host or a router, named in
//     the icmp field;
//   - open|filtered: nothing came back within the timeout. A service that
//     does not answer this payload and a firewall that drops look the same
//     from here; only a witness at the destination can tell them apart.
package udp

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/internal/icmperr"
	"github.com/nettest/nettest/checks/internal/netx"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/sys/unix"
)

// The states of a UDP port.
const (
	Open         = "open"
	Closed       = "closed"
	Filtered     = "filtered"
	OpenFiltered = "open|filtered"
)

// replyLimit bounds the reply kept in the result (the datagram read is up
// to 64 KiB); a report cuts it further.
const replyLimit = 4 << 10

// witnessAnswer is how long a witness is given to say whether it saw the
// datagram, when the wait for an answer used up the check's timeout.
const witnessAnswer = 300 * time.Millisecond

// Config is what a udp block says.
type Config struct {
	Host       string  `cty:"host"`
	Port       int     `cty:"port"`
	Payload    *string `cty:"payload"`
	PayloadHex *string `cty:"payload_hex"`
	Witness    *string `cty:"witness"`
}

// ICMP is an ICMP error that came back instead of a reply.
type ICMP struct {
	// Type and Code are the ICMP type and code (3/3: port unreachable).
	Type int `cty:"type"`
	Code int `cty:"code"`
	// Name says it in words: "port unreachable", "host unreachable",
	// "prohibited unreachable".
	Name string `cty:"name"`
	// From is the address of the host or router that sent it.
	From string `cty:"from"`
}

// Result is what a udp check observed; every field is usable as
// udp.NAME.FIELD elsewhere and as self.FIELD in assert blocks.
type Result struct {
	Host    string `cty:"host"`
	Port    int    `cty:"port"`
	Address string `cty:"address"`
	State   string `cty:"state"`
	// Reply is the datagram that came back, as text (invalid UTF-8
	// replaced), cut to 4 KiB; ReplyHex is the same bytes in hex.
	Reply    string `cty:"reply"`
	ReplyHex string `cty:"reply_hex"`
	// Delivered is whether the datagram is known to have reached the
	// destination: seen there by the witness, or (without one) answered
	// by the destination itself (a reply, or its port unreachable). Null
	// when nothing says either way (silence without a witness).
	Delivered *bool `cty:"delivered"`
	// Witness is the vantage that watched for the datagram, "" for none.
	Witness string `cty:"witness"`
	// ICMP is the error that came back instead of a reply, null for none.
	ICMP *ICMP `cty:"icmp"`
	// Error says more about the state: "no answer within the timeout".
	Error string `cty:"error"`
}

func init() {
	checks.RegisterFunc("udp", func() checks.Kind {
		return checks.Kind{
			Name:    "udp",
			Summary: "Sends one datagram to host:port and reports what came back (open, closed, filtered, open|filtered) and, with a witness at the destination, whether it arrived.",
			Docs: map[string]checks.ArgDoc{
				"host":        {Doc: "Host name, IPv4 or IPv6 address to send to."},
				"port":        {Doc: "UDP port, 1 to 65535.", Validate: checks.ValidPort},
				"payload":     {Doc: "The datagram's bytes, as text (the default: an empty datagram)."},
				"payload_hex": {Doc: "The datagram's bytes in hex, for binary protocols (a DNS query); instead of payload.", Validate: validHex},
				"witness":     {Doc: "A vantage at the destination (vantage.NAME) that watches for the datagram arriving there; delivered says whether it did."},
			},
			Validate: checks.ValidateConfig(func(cfg Config) error {
				if cfg.Payload != nil && cfg.PayloadHex != nil {
					return errors.New("set payload or payload_hex, not both")
				}
				return nil
			}),
			Expect: []checks.Expectation{
				checks.Expect("state", `The exact state: "open" (a reply), "closed" (ICMP port unreachable), "filtered" (another ICMP unreachable) or "open|filtered" (silence).`, compareState).Validated(checks.OneOf(Open, Closed, Filtered, OpenFiltered)),
				checks.Expect("reply_contains", "A string the reply (its first 4 KiB) must contain; a reply must have come.", compareReplyContains),
				checks.Expect("delivered", "Whether the datagram must have arrived: with witness, seen at the destination; without, answered by the destination itself.", compareDelivered),
			},
			Probe: checks.Typed(Config{}, Probe),
		}
	})
}

func validHex(v cty.Value) error {
	if _, err := decodeHex(v.AsString()); err != nil {
		return err
	}
	return nil
}

// decodeHex reads hex digits, allowing spaces and colons between bytes
// (as Wireshark copies them).
func decodeHex(s string) ([]byte, error) {
	clean := strings.NewReplacer(" ", "", ":", "", "\n", "", "\t", "").Replace(s)
	b, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("expected hex digits, two per byte (spaces and colons may separate bytes): %v", err)
	}
	return b, nil
}

// compareState compares the state and, unmet, says what came back:
// `"closed" (port unreachable from 198.18.0.2)`.
func compareState(want string, got Result) *checks.Diff {
	if got.State == want {
		return nil
	}
	d := &checks.Diff{Expected: checks.Literal(want), Actual: checks.Literal(got.State)}
	if got.Error != "" {
		d.Actual += " (" + got.Error + ")"
	}
	return d
}

// compareReplyContains is met when a reply came and holds want.
func compareReplyContains(want string, got Result) *checks.Diff {
	if got.State == Open && strings.Contains(got.Reply, want) {
		return nil
	}
	d := &checks.Diff{Field: "reply", Expected: "contains " + checks.Literal(want), Actual: checks.Literal(got.Reply)}
	if got.State != Open {
		d.Actual = "no reply (" + got.State + ")"
	}
	return d
}

// compareDelivered compares delivered; unmet, it says why the datagram is
// or is not known to have arrived.
func compareDelivered(want bool, got Result) *checks.Diff {
	switch {
	case got.Delivered == nil:
		return &checks.Diff{Expected: checks.Literal(want), Actual: "unknown (silence, and no witness at the destination to say whether it arrived)"}
	case *got.Delivered == want:
		return nil
	}
	d := &checks.Diff{Expected: checks.Literal(want), Actual: checks.Literal(*got.Delivered)}
	switch {
	case got.Witness != "" && *got.Delivered:
		d.Actual += " (seen arriving at vantage " + got.Witness + ")"
	case got.Witness != "":
		d.Actual += " (vantage " + got.Witness + " did not see it arrive)"
	default:
		d.Actual += " (the destination answered)"
	}
	return d
}

// Probe sends the datagram once and waits, until the context's deadline at
// most, for what comes back.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	r := Result{Host: cfg.Host, Port: cfg.Port}
	payload := []byte{}
	switch {
	case cfg.Payload != nil:
		payload = []byte(*cfg.Payload)
	case cfg.PayloadHex != nil:
		b, err := decodeHex(*cfg.PayloadHex)
		if err != nil {
			return r, err
		}
		payload = b
	}
	ips, err := netx.Lookup(ctx, cfg.Host)
	if err != nil {
		return r, err
	}
	ip := ips[0]
	dst := netip.AddrPortFrom(ip, uint16(cfg.Port))
	r.Address = dst.String()

	var watch checks.Watch
	if cfg.Witness != nil && *cfg.Witness != "" {
		r.Witness = *cfg.Witness
		if watch, err = startWatch(ctx, *cfg.Witness, dst, payload); err != nil {
			return r, err
		}
	}

	control := checks.DialControl(ctx)
	d := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		// IP_RECVERR: every ICMP error about our datagrams is queued for
		// us, with its type, code and sender, and makes the read fail.
		var serr error
		c.Control(func(fd uintptr) {
			if ip.Is4() {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1)
			} else {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
			}
		})
		if serr != nil {
			return serr
		}
		if control != nil {
			return control(network, address, c)
		}
		return nil
	}}
	c, err := d.DialContext(ctx, "udp", r.Address)
	if err != nil {
		if local := checks.LocalFailure(err); local != nil {
			return r, local
		}
		return r, fmt.Errorf("cannot open a UDP socket to %s: %w", r.Address, err)
	}
	conn := c.(*net.UDPConn)
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}

	if _, err := conn.Write(payload); err != nil {
		if !r.icmpError(conn, ip.Is6(), err) {
			if local := checks.LocalFailure(err); local != nil {
				return r, local
			}
			return r, fmt.Errorf("sending to %s: %w", r.Address, err)
		}
	} else {
		buf := make([]byte, 64<<10)
		n, err := conn.Read(buf)
		switch {
		case err == nil:
			r.State = Open
			reply := buf[:min(n, replyLimit)]
			r.Reply, r.ReplyHex = strings.ToValidUTF8(string(reply), string(utf8.RuneError)), hex.EncodeToString(reply)
		case r.icmpError(conn, ip.Is6(), err):
		case errors.Is(ctx.Err(), context.Canceled):
			return r, errors.New("interrupted before an answer came")
		case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			r.State, r.Error = OpenFiltered, "no answer within the timeout"
		default:
			if local := checks.LocalFailure(err); local != nil {
				return r, local
			}
			return r, fmt.Errorf("reading the answer from %s: %w; this is not an answer from the network, so the port's state is unknown", r.Address, err)
		}
	}

	// The destination itself answered: it got the datagram.
	fromDestination := r.State == Open || (r.State == Closed && r.ICMP != nil && r.ICMP.From == ip.String())
	if fromDestination {
		r.Delivered = new(true)
	}
	if watch != nil {
		// Silence took the whole timeout; the witness still gets a moment
		// to answer whether it saw the datagram meanwhile.
		wctx := ctx
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < witnessAnswer {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), witnessAnswer)
			defer cancel()
		}
		seen, err := watch.Wait(wctx)
		if err != nil {
			return r, fmt.Errorf("witness %s: %w", r.Witness, err)
		}
		r.Delivered = new(seen)
	}
	return r, nil
}

// icmpError reads the error queue after a read or write failed because an
// ICMP error came back, and sets the state from it. It returns false when
// err was not that.
func (r *Result) icmpError(conn *net.UDPConn, v6 bool, err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EACCES, syscall.EPERM, syscall.EHOSTDOWN, syscall.ENONET, syscall.EPROTO:
	default:
		return false
	}
	var got *icmperr.ExtendedErr
	icmperr.DrainErrQueue(conn, v6, func(q icmperr.Queued) {
		if got == nil {
			got = &q.ExtendedErr
		}
	})
	if got == nil {
		// Refused by this host itself (a local firewall rule answered
		// EPERM) or an error whose ICMP the queue no longer holds.
		if errno == syscall.ECONNREFUSED {
			r.State, r.Error = Closed, "port unreachable"
			return true
		}
		if errno == syscall.EPERM || errno == syscall.EACCES {
			r.State, r.Error = Filtered, "blocked by a local firewall rule ("+errno.Error()+")"
			return true
		}
		if errno == syscall.ENETUNREACH || errno == syscall.EHOSTUNREACH {
			// No route here: the kernel refused before anything left.
			r.State, r.Error = Filtered, errno.Error()+" (no route from here)"
			return true
		}
		return false
	}
	unreachable := uint8(icmperr.TypeUnreachable4)
	if v6 {
		unreachable = icmperr.TypeUnreachable6
	}
	name := "ICMP type " + strconv.Itoa(int(got.Type))
	if got.Type == unreachable {
		name = icmperr.UnreachableName(got.Code, v6) + " unreachable"
	}
	r.ICMP = &ICMP{Type: int(got.Type), Code: int(got.Code), Name: name, From: got.Offender.String()}
	port := (!v6 && got.Type == icmperr.TypeUnreachable4 && got.Code == 3) || (v6 && got.Type == icmperr.TypeUnreachable6 && got.Code == 4)
	if port {
		r.State = Closed
	} else {
		r.State = Filtered
	}
	r.Error = name + " from " + r.ICMP.From
	return true
}

// startWatch asks the witness vantage to watch for the datagram and
// returns once it watches.
func startWatch(ctx context.Context, vantage string, dst netip.AddrPort, payload []byte) (checks.Watch, error) {
	w, err := checks.WitnessAt(ctx, vantage)
	if err != nil {
		return nil, err
	}
	watch, err := w.StartWatch(ctx, checks.WatchSpec{Protocol: "udp", Dst: dst, Payload: payload})
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", vantage, err)
	}
	return watch, nil
}

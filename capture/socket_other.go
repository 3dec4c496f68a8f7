//go:build !linux

package capture

import (
	"context"
	"errors"

	"github.com/nettest/nettest/checks"
)

var errNotLinux = errors.New("packet capture (--capture) needs Linux: it reads AF_PACKET sockets")

type socket struct{}

func openSocket(checks.Flow, []int) (*socket, error) { return nil, errNotLinux }

func (s *socket) drain() ([]packet, int) { return nil, 0 }

func (s *socket) close() {}

func (s *socket) release() {}

func closeIdle() {}

func loopbackIndexes() []int { return nil }

// Available reports whether this process may capture packets; only Linux
// can.
func Available() error { return errNotLinux }

func enableTimestamps() *socket { return &socket{} }

type waitSocket struct{}

func openWaitSocket(checks.Flow, []int) (*waitSocket, error) { return nil, errNotLinux }

func (w *waitSocket) next(context.Context) ([]byte, error) { return nil, errNotLinux }

func (w *waitSocket) close() {}

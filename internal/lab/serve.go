package lab

import (
	"bufio"
	"net"
	"sync"
	"testing"
	"time"
)

// ServeTCP listens on a free port of 127.0.0.1 and runs handle for every
// connection, on a goroutine of its own: a server that misbehaves on
// purpose (answers nothing, half an answer, garbage). A connection is
// closed when handle returns; at cleanup the listener and every connection
// are closed and the handlers waited for, so nothing outlives the test. It
// returns the address, 127.0.0.1:PORT.
func ServeTCP(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// ReadHTTPHead reads the head of an HTTP request from c, waiting at most
// 10 s for it, so that a server of ServeTCP answers after the request as a
// real one does. It reports whether the head ended (an empty line) before
// the connection did.
func ReadHTTPHead(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		if line == "\r\n" || line == "\n" {
			return true
		}
	}
}

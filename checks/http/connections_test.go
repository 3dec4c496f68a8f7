package http

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// TestEveryCheckItsOwnConnection: checks share no connection, whether they
// run one after another or at the same time: each opens one of its own, is
// answered on it, and closes it once the answer is read. Plain http checks
// share one client (plainClient), so this is what keeps them apart; checks
// that may speak TLS have a client each.
func TestEveryCheckItsOwnConnection(t *testing.T) {
	var mu sync.Mutex
	opened, closed := map[string]bool{}, map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s from %s", r.URL.Path, r.RemoteAddr)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			opened[c.RemoteAddr().String()] = true
		case http.StateClosed, http.StateHijacked:
			closed[c.RemoteAddr().String()] = true
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	const sequential, concurrent = 10, 20
	bodies := make([]string, sequential+concurrent)
	errs := make([]error, len(bodies))
	check := func(i int) {
		r, err := probe(t, 5*time.Second, map[string]cty.Value{"url": str(fmt.Sprintf("%s/c%d", srv.URL, i))})
		if errs[i] = err; err == nil {
			bodies[i] = r.GetAttr("body").AsString()
		}
	}
	for i := range sequential {
		check(i)
	}
	var wg sync.WaitGroup
	for i := sequential; i < len(bodies); i++ {
		wg.Go(func() { check(i) })
	}
	wg.Wait()

	from := map[string]int{}
	for i, body := range bodies {
		if errs[i] != nil {
			t.Fatalf("check %d: %v", i, errs[i])
		}
		path, remote, ok := strings.Cut(body, " from ")
		if !ok || path != fmt.Sprintf("/c%d", i) {
			t.Errorf("check %d was answered %q, want the answer to /c%d", i, body, i)
		}
		if j, seen := from[remote]; seen {
			t.Errorf("checks %d and %d were answered on the same connection, from %s", j, i, remote)
		}
		from[remote] = i
	}
	// The server sees each close a moment after the client's.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n, open := len(opened), len(opened)-len(closed)
		mu.Unlock()
		if n != len(bodies) {
			t.Fatalf("%d connections for %d checks", n, len(bodies))
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections still open 5 s after their checks ended", open, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

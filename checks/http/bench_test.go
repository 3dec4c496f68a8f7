package http_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/checks"
	"github.com/nettest/nettest/checks/checktest"
	nhttp "github.com/nettest/nettest/checks/http"
	"github.com/zclconf/go-cty/cty"
)

// BenchmarkRequests1000 measures 1,000 GETs to one server on loopback, 50
// at a time, as bench/peers runs them (one op is the 1,000), each on a new
// connection: the bare loop (one http.Client without keep-alives: floor),
// the kind's Probe function on its Go Config (probe), the probe as the
// runner calls it, its arguments decoded from cty and its result encoded
// to cty by checks.Typed (typed), and the whole runner on a loaded plan
// with the JSON report, loading not timed (runner). The server runs in the
// same process, so its cost is in every row alike.
//
//	go test ./checks/http -run '^$' -bench Requests1000 -benchmem
func BenchmarkRequests1000(b *testing.B) {
	const n, parallelism = 1000, 50
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }))
	b.Cleanup(srv.Close)
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/c%d", srv.URL, i)
	}

	b.Run("floor", func(b *testing.B) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
		checktest.ParallelOps(b, n, parallelism, func(i int) error {
			resp, err := client.Get(urls[i])
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
	})

	b.Run("probe", func(b *testing.B) {
		checktest.ParallelOps(b, n, parallelism, func(i int) error {
			ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), 5*time.Second), 5*time.Second)
			defer cancel()
			_, err := nhttp.Probe(ctx, nhttp.Config{URL: urls[i], Method: "GET", Headers: map[string]string{}, BodyLimit: nhttp.DefaultBodyLimit})
			return err
		})
	})

	b.Run("typed", func(b *testing.B) {
		k, _ := checks.Lookup("http")
		args := make([]checks.Args, n)
		for i := range args {
			args[i] = k.ArgsOf(argsWith(k, map[string]cty.Value{"url": cty.StringVal(urls[i])}))
		}
		checktest.ParallelOps(b, n, parallelism, func(i int) error {
			ctx, cancel := context.WithTimeout(checks.WithTimeout(context.Background(), 5*time.Second), 5*time.Second)
			defer cancel()
			_, err := checks.Local.Probe(ctx, k, args[i])
			return err
		})
	})

	b.Run("runner", func(b *testing.B) {
		var src strings.Builder
		for i, url := range urls {
			fmt.Fprintf(&src, "http \"c%d\" {\n  url = %q\n  expect {\n    status = 200\n  }\n}\n\n", i, url)
		}
		checktest.RunPlans(b, src.String(), n, parallelism)
	})
}

// argsWith is the object of arguments the loader hands the probe: the
// given ones, the defaults, null for the rest.
func argsWith(k *checks.Kind, given map[string]cty.Value) cty.Value {
	obj := map[string]cty.Value{}
	for _, a := range k.Args {
		v, ok := given[a.Name]
		switch {
		case ok:
		case a.Default != cty.NilVal:
			v = a.Default
		default:
			v = cty.NullVal(a.Type)
		}
		obj[a.Name] = v
	}
	return cty.ObjectVal(obj)
}
